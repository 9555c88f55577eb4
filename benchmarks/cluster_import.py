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
import subprocess
import sys

from _timing import fresh_interpreter_seconds, summary

SNIPPETS = {
    "import course_lib.cluster": "import course_lib.cluster",
    "load_kubernetes() (guarded)": "from course_lib.cluster._lazy import load_kubernetes; load_kubernetes()",
    "import kubernetes (plain)": "import kubernetes",
    "client only (kubernetes_validate hidden)": (
        "import sys; sys.modules['kubernetes_validate'] = None; "
        "import kubernetes.client, kubernetes.config, kubernetes.dynamic, kubernetes.watch"
    ),
}


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
        times = fresh_interpreter_seconds(code, args.runs)
        print(f"  {label:<44} {summary(times)}")
    for other in args.python:
        v = subprocess.run(
            [other, "-c", "import importlib.metadata as m; print(m.version('kubernetes'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        times = fresh_interpreter_seconds(SNIPPETS["client only (kubernetes_validate hidden)"], args.runs, python=other)
        print(f"kubernetes {v} in {other}")
        print(f"  {'client only':<44} {summary(times)}")


if __name__ == "__main__":
    main()
