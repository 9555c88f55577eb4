"""Run the real ``promtool`` and ``amtool``: check rules, unit-test rules, check configs, backfill history.

Example:
    >>> check_rules([Path("data/rules-tests/course-rules.yaml")]).ok  # doctest: +SKIP
    True

Used in: notebook 03.
"""

from __future__ import annotations

import math
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._resources import data_path
from ..errors import SandboxError
from ._process import find_binary

#: Repository folder with the course's rule files and their promtool unit tests.
RULES_TESTS_DIR = data_path("rules-tests")


@dataclass(frozen=True)
class ToolResult:
    """Outcome of one ``promtool``/``amtool`` run."""

    command: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return f"{'OK' if self.ok else 'FAILED'}: {' '.join(self.command)}\n{self.output}"

    def raise_for_failure(self) -> ToolResult:
        """Raise :class:`SandboxError` with the tool's own output when it failed; else return self."""
        if not self.ok:
            raise SandboxError(
                f"`{' '.join(self.command[:3])}` failed:\n{self.output.strip()}",
                hint="read the tool output above: it names the file, the rule and what was expected",
                command=" ".join(self.command),
            )
        return self


def _run(tool: str, args: Sequence[str], *, cwd: Path | None = None, timeout: float = 60.0) -> ToolResult:
    argv = (find_binary(tool), *args)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SandboxError(
            f"`{tool}` did not finish in {timeout:.0f} s", hint="try again", command=" ".join(argv)
        ) from None
    return ToolResult(command=(tool, *args), returncode=proc.returncode, output=(proc.stdout + proc.stderr))


def check_rules(files: Sequence[Path | str]) -> ToolResult:
    """Run ``promtool check rules`` on rule files (syntax, PromQL, duplicate names).

    Example:
        >>> check_rules([RULES_TESTS_DIR / "course-rules.yaml"]).ok  # doctest: +SKIP
        True

    Used in: notebook 03.
    """
    return _run("promtool", ["check", "rules", *map(str, files)])


def test_rules(files: Sequence[Path | str] | None = None) -> ToolResult:
    """Run ``promtool test rules`` (default: every ``*_test.yaml`` in ``data/rules-tests``).

    The course's test file proves the real ``for: 5m``: the alert is pending at 4 minutes and firing after 5.

    Example:
        >>> test_rules().ok  # doctest: +SKIP
        True

    Used in: notebook 03.
    """
    if files is None:
        files = sorted(RULES_TESTS_DIR.glob("*_test.yaml"))
    if not files:
        raise SandboxError("no promtool test files found", hint=f"add *_test.yaml files to {RULES_TESTS_DIR}")
    paths = [Path(f).resolve() for f in files]
    return _run("promtool", ["test", "rules", *map(str, paths)], cwd=paths[0].parent)


# promtool is the only place the pytest collector could mistake for a test; tell it not to.
test_rules.__test__ = False  # type: ignore[attr-defined]


def check_prometheus_config(path: Path | str) -> ToolResult:
    """Run ``promtool check config`` (also checks the rule files it references)."""
    return _run("promtool", ["check", "config", str(path)])


def check_alertmanager_config(path: Path | str) -> ToolResult:
    """Run ``amtool check-config`` on an ``alertmanager.yml``."""
    return _run("amtool", ["check-config", str(path)])


# --- backfill ------------------------------------------------------------------------------------

#: Labels of backfilled series: the same as the live checkout target, plus ``simulated="true"``.
SIMULATED_LABELS = {
    "job": "checkout",
    "namespace": "default",
    "service": "checkout",
    "endpoint": "http",
    "instance": "simulated",
    "simulated": "true",
}


def _labels(extra: dict[str, str] | None = None) -> str:
    items = {**SIMULATED_LABELS, **(extra or {})}
    return "{" + ",".join(f'{k}="{v}"' for k, v in items.items()) + "}"


def traffic_model_openmetrics(
    *, hours: float, end: float | None = None, step: float = 15.0, rps: float = 5.0, seed: int = 3
) -> str:
    """OpenMetrics text of ``hours`` of simulated checkout traffic ending at ``end`` (Unix seconds).

    The model matches the live service: about ``rps`` requests per second with a gentle hourly wave,
    1 % errors, latency uniform between 20 and 120 ms. Every series carries ``simulated="true"``.
    """
    from ._checkout import BASE_LATENCY, BUCKETS

    if hours <= 0:
        raise SandboxError("backfill hours must be positive", hint="pass backfill_hours=3 for three hours of history")
    end = time.time() if end is None else end
    n = int(hours * 3600 / step)
    times = [end - (n - i) * step for i in range(n + 1)]
    rng = random.Random(seed)
    lo, hi = BASE_LATENCY
    ok = err = total_sum = 0.0
    buckets = [0.0] * len(BUCKETS)
    rows: dict[str, list[tuple[float, float]]] = {}

    def add(series: str, t: float, v: float) -> None:
        rows.setdefault(series, []).append((t, v))

    for t in times:
        wave = 1.0 + 0.3 * math.sin(2 * math.pi * t / 3600.0)
        count = max(0.0, rps * wave * step * rng.uniform(0.9, 1.1))
        ok += count * 0.99
        err += count * 0.01
        total_sum += count * (lo + hi) / 2
        for i, le in enumerate(BUCKETS):
            buckets[i] += count * min(1.0, max(0.0, (le - lo) / (hi - lo)))
        add(f"checkout_requests_total{_labels({'status': '200'})}", t, ok)
        add(f"checkout_requests_total{_labels({'status': '500'})}", t, err)
        for i, le in enumerate(BUCKETS):
            add(f"checkout_request_duration_seconds_bucket{_labels({'le': str(le)})}", t, buckets[i])
        add(f"checkout_request_duration_seconds_bucket{_labels({'le': '+Inf'})}", t, ok + err)
        add(f"checkout_request_duration_seconds_sum{_labels()}", t, total_sum)
        add(f"checkout_request_duration_seconds_count{_labels()}", t, ok + err)

    lines = [
        "# HELP checkout_requests Checkout requests by HTTP status (simulated history).",
        "# TYPE checkout_requests counter",
    ]
    for series, points in rows.items():
        if series.startswith("checkout_requests_total"):
            lines += [f"{series} {v:.3f} {t:.3f}" for t, v in points]
    lines += [
        "# HELP checkout_request_duration_seconds Time to serve one checkout request (simulated history).",
        "# TYPE checkout_request_duration_seconds histogram",
    ]
    for series, points in rows.items():
        if series.startswith("checkout_request_duration_seconds"):
            lines += [f"{series} {v:.6f} {t:.3f}" for t, v in points]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(data_dir: Path, *, hours: float, end: float | None = None) -> ToolResult:
    """Write ``hours`` of simulated history into a Prometheus data directory with
    ``promtool tsdb create-blocks-from openmetrics`` (before Prometheus starts).

    Used in: notebook 03 (``sandbox.up(backfill_hours=3)``).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / "backfill.om.txt"
    source.write_text(traffic_model_openmetrics(hours=hours, end=end))
    return _run(
        "promtool", ["tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(data_dir)]
    ).raise_for_failure()


__all__ = [
    "RULES_TESTS_DIR",
    "SIMULATED_LABELS",
    "ToolResult",
    "backfill",
    "check_alertmanager_config",
    "check_prometheus_config",
    "check_rules",
    "test_rules",
    "traffic_model_openmetrics",
]
