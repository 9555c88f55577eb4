"""Range-query JSON → DataFrame: course_lib.observe versus prometheus-api-client's MetricRangeDataFrame.

Builds a Prometheus ``query_range`` answer of about one million samples (1,000 series × 1,000 points, with
NaN/±Inf values and a label only some series carry), parses the JSON once, then times both conversions on the
same parsed result. Prints seconds and the speed-up; asserts nothing (timings depend on the machine).

Run: ``.venv/bin/python benchmarks/range_to_dataframe.py [--series 1000] [--points 1000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings


def make_response(series: int, points: int, *, seed: int = 1) -> str:
    rng = random.Random(seed)
    result = []
    for k in range(series):
        metric = {"__name__": "checkout_request_duration_seconds_bucket", "job": "checkout", "le": str(k % 12)}
        if k % 2:
            metric["instance"] = f"127.0.0.1:{8000 + k}"
        values = []
        for i in range(points):
            r = rng.random()
            text = "NaN" if r < 0.001 else "+Inf" if r < 0.002 else f"{rng.uniform(0, 100):.6g}"
            values.append([1_700_000_000 + i * 15 + (k % 1000) / 1000, text])
        result.append({"metric": metric, "values": values})
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from prometheus_api_client import MetricRangeDataFrame

    from course_lib.observe import matrix_frame

    text = make_response(args.series, args.points)
    start = time.perf_counter()
    result = json.loads(text)["data"]["result"]
    parse_s = time.perf_counter() - start
    samples = sum(len(r["values"]) for r in result)

    ours_s = best_of(args.repeat, lambda: matrix_frame(result))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_s = best_of(args.repeat, lambda: MetricRangeDataFrame(result))
    print(f"samples:                           {samples:,} ({args.series} series x {args.points} points)")
    print(f"json.loads (shared by both):       {parse_s:.3f} s")
    print(f"course_lib.observe.matrix_frame:   {ours_s:.3f} s (best of {args.repeat})")
    print(f"MetricRangeDataFrame:              {theirs_s:.3f} s (best of {args.repeat})")
    print(f"speed-up:                          {theirs_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
