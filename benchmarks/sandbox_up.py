"""Benchmark the sandbox: time to first data and time from a latency injection to the webhook notification.

Run: ``.venv/bin/python benchmarks/sandbox_up.py`` (uses a temporary COURSE_STATE_DIR; about 2 minutes).

Targets: data ≤ 8 s after ``up`` started; webhook ≤ 16 s median.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time


def _seen(stack: object, status: str) -> bool:
    return any(
        n["status"] == status and n.get("groupLabels", {}).get("alertname") == "CheckoutHighLatency"
        for n in stack.webhook_notifications()  # type: ignore[attr-defined]
    )


def main(rounds: int = 3) -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-state-")
    from course_lib import sandbox

    start = time.monotonic()
    stack = sandbox.up(timeout=60)
    ready = time.monotonic() - start
    stack.wait_for_data("rate(checkout_requests_total[1m])", timeout=60)
    first_data = time.monotonic() - start
    print(f"up() returned after          {ready:6.2f} s")
    print(f"first non-empty rate() after {first_data:6.2f} s  (target <= 8 s)")

    to_webhook, to_resolved = [], []
    try:
        for _ in range(rounds):
            stack.clear_notifications()
            t0 = time.monotonic()
            stack.inject(latency_ms=600)
            while not _seen(stack, "firing"):
                if time.monotonic() - t0 > 90:
                    raise SystemExit("no firing notification within 90 s")
                time.sleep(0.1)
            to_webhook.append(time.monotonic() - t0)
            t1 = time.monotonic()
            stack.inject()
            while not _seen(stack, "resolved"):
                if time.monotonic() - t1 > 120:
                    raise SystemExit("no resolved notification within 120 s")
                time.sleep(0.1)
            to_resolved.append(time.monotonic() - t1)
    finally:
        sandbox.down()
    print(
        f"inject → webhook firing      {statistics.median(to_webhook):6.2f} s median  "
        f"(runs: {', '.join(f'{x:.1f}' for x in to_webhook)}; target <= 16 s)"
    )
    print(
        f"remove → webhook resolved    {statistics.median(to_resolved):6.2f} s median  "
        f"(runs: {', '.join(f'{x:.1f}' for x in to_resolved)})"
    )


if __name__ == "__main__":
    main()
