"""How long does validating every course manifest take, and how many objects of each kind are there?

Prints: wall time of the ``course validate`` command (a fresh process, imports included), the in-process
split (import of jsonschema + kubernetes-validate, first validation with schema loading, a warm repeat),
and the object count per kind. Nothing is asserted.

Run: .venv/bin/python benchmarks/validate_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    course = Path(sys.executable).with_name("course")
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        proc = subprocess.run([str(course), "validate", "--quiet"], capture_output=True, text=True, check=False)
        runs.append(time.perf_counter() - started)
    print(
        f"`course validate` (fresh process, 3 runs): best {min(runs):.2f} s, worst {max(runs):.2f} s, exit {proc.returncode}"
    )
    print(f"  {proc.stdout.strip().splitlines()[-1]}")

    t0 = time.perf_counter()
    import course_lib.manifests as m

    t1 = time.perf_counter()
    objects = [o for objs in m.render_all().values() for o in objs]
    t2 = time.perf_counter()
    from course_lib.manifests._validate import _jsonschema

    _jsonschema()  # jsonschema without the slow optional IRI grammar (see its docstring)
    import kubernetes_validate.utils  # noqa: F401

    t3 = time.perf_counter()
    report = m.validate(objects)
    t4 = time.perf_counter()
    m.validate(objects)
    t5 = time.perf_counter()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import jsonschema"], check=True)
    plain = time.perf_counter() - started
    print(f"for comparison: a process that only runs `import jsonschema` (with its IRI grammar): {plain:.2f} s")
    print(f"in process: import course_lib.manifests {t1 - t0:.3f} s, render {len(objects)} objects {t2 - t1:.3f} s")
    print(f"            import jsonschema + kubernetes_validate {t3 - t2:.2f} s")
    print(f"            validate (cold: loads schemas) {t4 - t3:.3f} s, validate (warm) {t5 - t4:.3f} s")
    print(f"            per object (warm): {(t5 - t4) / len(objects) * 1000:.2f} ms; all valid: {report.ok}")
    print(f"objects by kind ({len(objects)} in {len(m.registered())} registry entries):")
    for kind, count in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {kind:<20} {count}")


if __name__ == "__main__":
    main()
