"""Benchmark: Traefik on the sandbox — up and routing, canary share over 1,000 real requests, 429 share.

1. Seconds from ``sandbox.traefik_up()`` to the first request routed to a backend (200 through an IngressRoute),
   for a few cold starts of Traefik with the control plane already running; the first start also applies the
   CRDs. Target: ≤ 5 s.
2. 1,000 real requests through the weighted TraefikService at 10 % canary: the observed v2 share against the
   binomial model's 99 % band. (Traefik's weighted round robin is deterministic, so it lands on the weight.)
3. Requests through the rateLimit Middleware (several average/burst settings, flat out and paced): observed 429 share
   against a token bucket's (``burst`` tokens, refilled at ``average``/s) for the same duration. Target: within
   10 % of the requests.
4. Notebook 04's live canary slider, one position at a time: seconds for the apply until Traefik's API shows the
   new weights (``set_canary_weight``) and for 200 real requests (``measure_split``); then a move of eight stops in a
   row through the widget (``widgets.live_canary_slider``): seconds until the last position is measured, against the sum
   the eight positions would take one after the other, and how many positions were skipped.

Uses a temporary state directory (its own control plane) and stops everything it started.
Needs `make tools` (the control plane and Traefik). Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

RUNS = 3
LIMITS = ((20, 10), (50, 20), (100, 50))


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import sandbox, tools, traffic
    from course_lib.cluster import connect
    from course_lib.config import Settings
    from course_lib.sandbox import _controlplane

    if tools.find("traefik") is None or not _controlplane.available():
        print("Traefik or the control plane is not built: run `make tools`")
        return
    plane = _controlplane.cluster_up()
    cluster = connect("kubeconfig", kubeconfig=plane.kubeconfig, settings=Settings(target="kubeconfig"))
    h = traffic.EDGE_HOSTS
    try:
        times = []
        for i in range(RUNS):
            t0 = time.perf_counter()
            edge = sandbox.traefik_up(kubeconfig=plane.kubeconfig)
            backends = {v: edge.ports[f"backend-{v}"] for v in ("v1", "v2")}
            cluster.apply(traffic.edge_objects(backends, average=LIMITS[0][0], burst=LIMITS[0][1]))
            traffic.wait_for_routes(edge.web, {h["api"]: "/users"}, timeout=60)
            times.append(time.perf_counter() - t0)
            if i < RUNS - 1:
                sandbox.traefik_down()
        print(
            f"traefik up → first routed request: first (with CRDs) {times[0]:.2f} s, "
            f"restarts min {min(times[1:]):.2f} s, median {statistics.median(times[1:]):.2f} s (target ≤ 5 s)"
        )
        traffic.wait_for_routes(edge.web, {h["canary"]: "/"}, timeout=30)
        run = traffic.measure_split(edge.web, canary_percent=10, requests=1000, z=traffic.Z99)
        low, high = run.band
        print(
            f"canary 10 %: {run.canary}/1000 to v2 ({100 * run.share:.1f} %), binomial 99 % band {low}–{high}, "
            f"within: {run.within_band}, failed {run.failed}"
        )
        for (average, burst), rps in [*((limit, None) for limit in LIMITS), ((20, 10), 100.0), ((50, 20), 150.0)]:
            cluster.apply(traffic.edge_objects(backends, average=average, burst=burst))
            time.sleep(2.0)  # Traefik picks the new Middleware up; the bucket refills
            limited = traffic.rate_limit_burst(edge.web, requests=400, average=average, burst=burst, rps=rps)
            seen = limited.rejected / limited.requests
            model = limited.expected_rejected / limited.requests
            pace = f"{rps:.0f}/s" if rps else "flat out"
            print(
                f"rateLimit average {average}/s burst {burst}, sent {pace}: "
                f"{limited.requests} requests in {limited.duration:.2f} s, "
                f"429 share {100 * seen:.1f} %, token-bucket model {100 * model:.1f} %, "
                f"difference {100 * abs(seen - model):.1f} points (target ≤ 10)"
            )
        _live_slider(cluster, edge)
    finally:
        cluster.close()
        sandbox.down()


def _live_slider(cluster: Any, up: Any) -> None:
    from course_lib import traffic, widgets

    applied, measured = [], []
    for percent in (20, 40, 60, 80):
        t0 = time.perf_counter()
        traffic.set_canary_weight(cluster, up.api, percent)
        t1 = time.perf_counter()
        run = traffic.measure_split(up.web, canary_percent=percent, requests=200)
        t2 = time.perf_counter()
        applied.append(t1 - t0)
        measured.append(t2 - t1)
        assert run.failed == 0, run
    per_position = statistics.median(applied) + statistics.median(measured)
    print(
        f"live slider, one position: apply → Traefik shows the weight median {statistics.median(applied):.2f} s "
        f"(max {max(applied):.2f} s), 200 real requests median {statistics.median(measured):.2f} s "
        f"(max {max(measured):.2f} s)"
    )
    edge = traffic.Edge(up, "", "", (), 0.0)
    box = widgets.live_canary_slider(cluster, edge, initial=10, static=False)
    t0 = time.perf_counter()
    for value in range(15, 55, 5):  # eight arrow presses
        box.slider.value = value
    box.worker.wait_idle(300)
    took = time.perf_counter() - t0
    print(
        f"live slider, 8 stops in a row: last position measured after {took:.2f} s, {box.worker.skipped} positions "
        f"skipped (one after the other: about {8 * per_position:.1f} s); status: {box.children[1].value[:80]}"
    )


if __name__ == "__main__":
    main()
