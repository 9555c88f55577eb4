"""Benchmark: `import course_lib` time and `course run --all` on the sandbox, per notebook and total.

Prints seconds; asserts nothing. Run with `make bench` or `.venv/bin/python benchmarks/run_course.py`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time


def import_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import course_lib"], check=True)
        times.append(time.perf_counter() - t0)
    base = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - t0)
    return statistics.median(times) - statistics.median(base)


def main() -> None:
    print(f"import course_lib: {import_seconds():.3f} s (median of 5, interpreter start subtracted)")
    from course_lib.runner import run_parts

    with tempfile.TemporaryDirectory() as out:
        report = run_parts("all", target="sandbox", out=out, progress=False)
    for r in report.results:
        print(f"{r.notebook:<40} {r.status:<7} {r.seconds:7.1f} s")
    print(f"{'total':<40} {'ok' if report.ok else 'FAILED':<7} {report.seconds:7.1f} s")


if __name__ == "__main__":
    main()
