"""Benchmark: Part 3's checkout app (Express + hot-shots on Node.js) on the sandbox.

Prints seconds for: installing the app's 69 locked npm packages into an empty cache (downloads from the npm
registry, integrity checks, unpacking), the app up (node started, /healthz answering), a reused start, one
GET /checkout round trip, and the time from a checkout's answer to its DogStatsD datagram on the loopback listener.
Uses a temporary state directory and cache, and stops what it started. Needs Node.js and access to the npm
registry.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    os.environ["COURSE_CACHE_DIR"] = cache = tempfile.mkdtemp(prefix="course-bench-cache-")
    from course_lib import observe, sandbox
    from course_lib.sandbox import _express

    if shutil.which("node") is None:
        print("not runnable here: Node.js is not installed (make setup installs Debian's nodejs)")
        return
    try:
        t0 = time.perf_counter()
        _express.install()
        print(f"install (69 packages, empty cache): {time.perf_counter() - t0:6.2f} s")
        with observe.DogStatsdListener() as listener:
            t0 = time.perf_counter()
            app = sandbox.express_up(statsd_port=listener.port, latency_ms=1)
            print(f"app up (node, /healthz answers):    {time.perf_counter() - t0:6.2f} s")
            t0 = time.perf_counter()
            assert sandbox.express_up(statsd_port=listener.port, latency_ms=1).reused
            print(f"app reused:                         {time.perf_counter() - t0:6.2f} s")
            rounds, arrivals = [], []
            for n in range(1, 51):
                t1 = time.perf_counter()
                app.checkout()
                t2 = time.perf_counter()
                listener.wait("custom.checkout.latency", n, timeout=5)
                rounds.append(t2 - t1)
                arrivals.append(time.perf_counter() - t2)
            print(f"GET /checkout (1 ms of work), median of 50: {statistics.median(rounds) * 1000:6.2f} ms")
            print(f"answer -> datagram received, median of 50:  {statistics.median(arrivals) * 1000:6.2f} ms")
    finally:
        sandbox.down()
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
