"""plots: pure DataFrame → Figure functions, with downsampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from course_lib import plots
from course_lib.errors import ConfigError
from course_lib.observe import matrix_frame, timeline_frame


def _rate_frame(points: int = 2000) -> pd.DataFrame:
    result = [
        {"metric": {"status": s}, "values": [[1714564800 + i, str(v * (1 + i % 3))] for i in range(points)]}
        for s, v in (("200", 5.0), ("500", 0.5))
    ]
    return matrix_frame(result)


def test_downsample_bounds_points_and_keeps_means() -> None:
    frame = _rate_frame(2000)
    small = plots.downsample(frame, max_points=100)
    counts = small.groupby("status", observed=True).size()
    assert (counts <= 100).all() and (counts >= 90).all()
    means = small.groupby("status", observed=True)["value"].mean()
    assert means["200"] == pytest.approx(10.0, rel=0.02) and means["500"] == pytest.approx(1.0, rel=0.02)
    assert plots.downsample(frame.head(50), max_points=100) is not None
    assert len(plots.downsample(frame.head(50), max_points=100)) == 50
    with pytest.raises(ConfigError):
        plots.downsample(frame, max_points=1)


def test_request_rate_one_trace_per_status_and_small() -> None:
    fig = plots.request_rate(_rate_frame())
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["200", "500"]
    assert plots.figure_points(fig) <= 2 * plots.DEFAULT_MAX_POINTS
    assert fig.data[1].line.color == "#d62728"


def test_latency_percentiles_in_milliseconds() -> None:
    t = pd.date_range("2024-05-01", periods=10, freq="15s", tz="UTC")
    frame = pd.concat(
        [
            pd.DataFrame({"timestamp": t, "quantile": q, "value": v})
            for q, v in (("p50", 0.07), ("p95", 0.11), ("p99", 0.45))
        ]
    )
    fig = plots.latency_percentiles(frame)
    assert [t.name for t in fig.data] == ["p50", "p95", "p99"]
    np.testing.assert_allclose(fig.data[2].y, 450.0)
    assert fig.layout.yaxis.title.text == "latency (ms)"


def test_node_cpu_percent() -> None:
    frame = matrix_frame([{"metric": {"instance": "node-1"}, "values": [[1, "0.25"], [2, "0.5"]]}])
    fig = plots.node_cpu(frame)
    assert list(fig.data[0].y) == [25.0, 50.0]


def test_alert_timeline_bands() -> None:
    alerts = matrix_frame(
        [
            {
                "metric": {"__name__": "ALERTS", "alertname": "A", "alertstate": "pending"},
                "values": [[0, "1"], [5, "1"]],
            },
            {
                "metric": {"__name__": "ALERTS", "alertname": "A", "alertstate": "firing"},
                "values": [[10, "1"], [15, "1"]],
            },
        ]
    )
    fig = plots.alert_timeline(timeline_frame(alerts, step=5, end=pd.Timestamp(60, unit="s", tz="UTC")))
    assert [t.name for t in fig.data] == ["pending", "firing", "resolved"]
    assert [t.marker.color for t in fig.data] == [plots.STATE_COLORS[s] for s in ("pending", "firing", "resolved")]
    assert list(fig.data[0].x) == [10_000.0]  # pending from 0 s to 10 s, in milliseconds


def test_log_volume_from_lines_and_from_counts() -> None:
    t0 = pd.Timestamp("2024-05-01T12:00:00Z")
    logs = pd.DataFrame(
        {
            "timestamp": [
                t0,
                t0 + pd.Timedelta(seconds=10),
                t0 + pd.Timedelta(seconds=70),
                t0 + pd.Timedelta(seconds=75),
            ],
            "level": ["info", "error", "info", "info"],
            "line": ["a", "b", "c", "d"],
        }
    )
    fig = plots.log_volume(logs)
    by_name = {t.name: list(t.y) for t in fig.data}
    assert by_name == {"error": [1], "info": [1, 2]}
    counts = matrix_frame([{"metric": {"level": "error"}, "values": [[0, "3"], [60, "4"]]}])
    assert list(plots.log_volume(counts).data[0].y) == [3.0, 4.0]


def test_missing_columns_are_explained() -> None:
    with pytest.raises(ConfigError, match="missing"):
        plots.request_rate(pd.DataFrame({"timestamp": [], "value": []}))
