"""How long the Kubernetes client takes to import, with and without course_lib's guard.

``import kubernetes`` (35.x) also imports ``kubernetes.dynamic``, which tries the optional
``kubernetes_validate``; that imports ``jsonschema`` and its format checkers, which can take seconds.
``course_lib.cluster._lazy.load_kubernetes`` skips that optional import. Each measurement runs in a fresh
interpreter; the script prints seconds (min / median of N runs) and asserts nothing.

    .venv/bin/python benchmarks/cluster_import.py [--runs 5] [--python OTHER_PYTHON ...]

``--python`` adds another interpreter (e.g. a throwaway venv with a different kubernetes release) for the
plain client import.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

SNIPPETS = {
    "import course_lib.cluster": "import course_lib.cluster",
    "load_kubernetes() (guarded)": "from course_lib.cluster._lazy import load_kubernetes; load_kubernetes()",
    "import kubernetes (plain)": "import kubernetes",
    "client only (kubernetes_validate hidden)": (
        "import sys; sys.modules['kubernetes_validate'] = None; "
        "import kubernetes.client, kubernetes.config, kubernetes.dynamic, kubernetes.watch"
    ),
}


def measure(python: str, code: str, runs: int) -> list[float]:
    timer = f"import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"
    out = []
    for _ in range(runs):
        done = subprocess.run([python, "-c", timer], capture_output=True, text=True, check=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", action="append", default=[], help="another interpreter to compare")
    args = parser.parse_args()
    version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('kubernetes'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"kubernetes {version} in {sys.executable}")
    for label, code in SNIPPETS.items():
        times = measure(sys.executable, code, args.runs)
        print(f"  {label:<44} min {min(times):.3f}s  median {statistics.median(times):.3f}s")
    for other in args.python:
        v = subprocess.run(
            [other, "-c", "import importlib.metadata as m; print(m.version('kubernetes'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        times = measure(other, SNIPPETS["client only (kubernetes_validate hidden)"], args.runs)
        print(f"kubernetes {v} in {other}")
        print(f"  {'client only':<44} min {min(times):.3f}s  median {statistics.median(times):.3f}s")


if __name__ == "__main__":
    main()
