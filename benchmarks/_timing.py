"""Shared by the benchmarks: time a snippet in fresh interpreters (imports are never warm)."""

from __future__ import annotations

import statistics
import subprocess
import sys


def fresh_interpreter_seconds(code: str, runs: int, *, python: str = sys.executable) -> list[float]:
    """Seconds ``code`` takes in ``runs`` new interpreters (interpreter start-up not included)."""
    timer = f"import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"
    out = []
    for _ in range(runs):
        done = subprocess.run([python, "-c", timer], capture_output=True, text=True, check=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def summary(times: list[float]) -> str:
    """``min 0.123s  median 0.150s``."""
    return f"min {min(times):.3f}s  median {statistics.median(times):.3f}s"
