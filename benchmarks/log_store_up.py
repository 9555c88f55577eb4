"""Benchmark: `course sandbox up` → the first checkout log line answered by a LogsQL query (VictoriaLogs).

Prints, for a few cold starts of the monitoring stack (control plane off), the seconds from `sandbox.up()` being
called to the first `{app="checkout"}` line coming back from VictoriaLogs' `/select/logsql/query`, with the
minimum and median. Target: ≤ 5 s. Uses a temporary state directory and stops everything it started.
Needs `make tools` (VictoriaLogs).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

RUNS = 3


def one_run() -> float:
    from course_lib import observe, sandbox

    t0 = time.perf_counter()
    stack = sandbox.up()
    try:
        logs = observe.VictoriaLogs(stack.endpoints.victorialogs, timeout=2)
        while time.perf_counter() - t0 < 60:
            try:
                if len(logs.query('{app="checkout"}', start="-5m", limit=1)):
                    return time.perf_counter() - t0
            except Exception:  # not answering yet
                pass
            time.sleep(0.05)
        raise SystemExit("no checkout line within 60 s")
    finally:
        sandbox.down()


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import tools

    if not tools.available("victoria-logs"):
        print("VictoriaLogs not built: run `make tools`")
        return
    times = [one_run() for _ in range(RUNS)]
    print(
        f"sandbox up → first checkout line via LogsQL: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s ({RUNS} cold starts; target ≤ 5 s)"
    )


if __name__ == "__main__":
    main()
