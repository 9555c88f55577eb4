"""Benchmark the sandbox on each Prometheus it can run: the 3.x ``make tools`` builds and Debian's 2.42 fallback.

For each one present: seconds until ``up(backfill_hours=1)`` returns and until the first live rate, the resident
memory (RSS) of the Prometheus process 30 s after start, and the seconds ``promtool test rules`` takes on
``data/rules-tests``.

Run: ``.venv/bin/python benchmarks/prometheus_versions.py`` (temporary state directories; about 2 minutes).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _round(label: str, cache: str | None) -> None:
    from course_lib import observe, sandbox

    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-state-")
    previous = os.environ.get("COURSE_CACHE_DIR")
    if cache is not None:  # an empty tools cache: the sandbox falls back to Debian's packages
        os.environ["COURSE_CACHE_DIR"] = cache
    try:
        start = time.monotonic()
        stack = sandbox.up(timeout=90, backfill_hours=1)
        ready = time.monotonic() - start
        stack.wait_for_data('rate(checkout_requests_total{simulated=""}[1m])', timeout=60)  # live, not backfilled
        first = time.monotonic() - start
        info = observe.Prometheus(stack.endpoints.prometheus).buildinfo()
        pid = next(s.pid for s in sandbox.status().services if s.name == "prometheus")
        time.sleep(max(0.0, 30 - (time.monotonic() - start)))
        rss = _rss_mib(int(pid or 0))
        t0 = time.monotonic()
        ok = sandbox.test_rules().ok
        rules = time.monotonic() - t0
    finally:
        sandbox.down()
        if previous is None:
            os.environ.pop("COURSE_CACHE_DIR", None)
        else:
            os.environ["COURSE_CACHE_DIR"] = previous
    print(
        f"{label:<22} Prometheus {info.version:<10} up() {ready:5.2f} s  first rate {first:5.2f} s  "
        f"RSS after 30 s {rss:6.1f} MiB  promtool test rules {rules:4.2f} s ({'SUCCESS' if ok else 'FAILED'})"
    )


def main() -> None:
    from course_lib import tools

    if tools.built("prometheus") is not None:
        _round("make tools (Go)", None)
    else:
        print("make tools (Go)        not built: run `make tools`")
    if Path("/usr/bin/prometheus").exists():
        _round("Debian fallback", tempfile.mkdtemp(prefix="course-bench-empty-cache-"))
    else:
        print("Debian fallback        not installed: apt-get install prometheus")


if __name__ == "__main__":
    main()
