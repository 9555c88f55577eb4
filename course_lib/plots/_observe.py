"""Part 3's figures (request rates, latency percentiles, node CPU, alert timeline, log volume, dashboard panels) and the helpers every figure shares (see :mod:`course_lib.plots`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

    from .. import observe


#: Colours of alert states, the same in every figure.
STATE_COLORS = {"pending": "#f2a93b", "firing": "#d62728", "resolved": "#2ca02c"}


LEVEL_COLORS = {"error": "#d62728", "warn": "#f2a93b", "warning": "#f2a93b", "info": "#1f77b4", "debug": "#7f7f7f"}


DEFAULT_MAX_POINTS = 300


_HEIGHT = 320


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{what} needs columns {list(columns)}; missing {missing}",
            hint=f"pass the frame from course_lib.observe; it has columns {list(frame.columns)}",
        )


def _layout(fig: go.Figure, *, title: str, y_title: str, legend_title: str | None = None) -> go.Figure:
    fig.update_layout(
        title=title,
        height=_HEIGHT,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        yaxis_title=y_title,
        xaxis_title=None,
        legend_title_text=legend_title,
    )
    return fig


def downsample(
    frame: pd.DataFrame,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    by: Sequence[str] | None = None,
    time_col: str = "timestamp",
    value_col: str = "value",
) -> pd.DataFrame:
    """Average ``value_col`` into at most ``max_points`` equal time bins per series.

    Args:
        frame: a tidy frame with a time column and a value column.
        max_points: largest number of points kept per series.
        by: columns that identify a series (default: every column except time and value).
        time_col: name of the time column.
        value_col: name of the value column.

    Example:
        >>> import pandas as pd
        >>> f = pd.DataFrame({"timestamp": pd.date_range("2024", periods=1000, freq="s", tz="UTC"), "value": 1.0})
        >>> len(downsample(f, max_points=100)) <= 100
        True

    Used in: notebook 03 (inside every plot).
    """
    import pandas as pd

    if max_points < 2:
        raise ConfigError(f"max_points must be at least 2, got {max_points}", hint="e.g. max_points=300")
    _require(frame, [time_col, value_col], "downsample")
    keys = list(by) if by is not None else [c for c in frame.columns if c not in (time_col, value_col)]
    sizes = frame.groupby(keys, observed=True, dropna=False).size() if keys else pd.Series([len(frame)])
    if frame.empty or int(sizes.max()) <= max_points:
        return frame
    t = frame[time_col]
    span = (t.max() - t.min()) / (max_points - 1)
    t0 = t.min()
    bins = ((t - t0) // span).astype("int64")
    work = frame.assign(_bin=bins)
    out = work.groupby([*keys, "_bin"], observed=True, dropna=False, sort=False).agg(
        **{time_col: (time_col, "min"), value_col: (value_col, "mean")}
    )
    return out.reset_index().drop(columns="_bin")[[*keys, time_col, value_col]]


def _series_label(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    if not by:
        return frame.assign(_s="value")["_s"]
    return frame[list(by)].astype(str).agg(", ".join, axis=1) if len(by) > 1 else frame[by[0]].astype(str)


def lines(
    frame: pd.DataFrame,
    *,
    title: str,
    y_title: str = "value",
    by: Sequence[str] | None = None,
    scale: float = 1.0,
    max_points: int = DEFAULT_MAX_POINTS,
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """One line per series of a tidy frame (the generic plot behind the others and the PromQL explorer)."""
    import plotly.graph_objects as go

    _require(frame, ["timestamp", "value"], "lines")
    keys = list(by) if by is not None else [c for c in frame.columns if c not in ("timestamp", "value")]
    keys = [k for k in keys if k != "__name__"] if len(keys) > 1 else keys
    small = downsample(frame, max_points=max_points, by=keys)
    fig = go.Figure()
    if not small.empty:
        small = small.assign(_series=_series_label(small, keys)).sort_values("timestamp", kind="stable")
        for name, part in small.groupby("_series", sort=True, observed=True):
            fig.add_trace(
                go.Scatter(
                    x=part["timestamp"],
                    y=part["value"] * scale,
                    mode="lines",
                    name=str(name),
                    line={"color": (colors or {}).get(str(name))},
                )
            )
    return _layout(fig, title=title, y_title=y_title, legend_title=", ".join(keys) or None)


def request_rate(frame: pd.DataFrame, *, by: str = "status", title: str = "Checkout requests per second") -> go.Figure:
    """Request rate by status, from ``sum by (status) (rate(checkout_requests_total[1m]))``.

    Used in: notebook 03.
    """
    _require(frame, ["timestamp", by, "value"], "request_rate")
    colors = {"200": "#2ca02c", "500": "#d62728"}
    return lines(frame, title=title, y_title="requests / s", by=[by], colors=colors)


def latency_percentiles(frame: pd.DataFrame, *, title: str = "Checkout latency percentiles") -> go.Figure:
    """p50/p95/p99 latency over time in milliseconds, from :func:`course_lib.observe.latency_quantiles`.

    Used in: notebook 03.
    """
    _require(frame, ["timestamp", "quantile", "value"], "latency_percentiles")
    return lines(frame, title=title, y_title="latency (ms)", by=["quantile"], scale=1000.0)


def node_cpu(frame: pd.DataFrame, *, title: str = "Node CPU busy") -> go.Figure:
    """CPU busy fraction per node (or per mode) in percent.

    Used in: notebook 03.
    """
    _require(frame, ["timestamp", "value"], "node_cpu")
    by = [c for c in ("instance", "mode") if c in frame.columns]
    fig = lines(frame, title=title, y_title="CPU busy (%)", by=by, scale=100.0)
    fig.update_yaxes(rangemode="tozero")
    return fig


def alert_timeline(timeline: pd.DataFrame, *, title: str = "Alert timeline") -> go.Figure:
    """Pending / firing / resolved bands per alert, from :meth:`course_lib.observe.Prometheus.alert_timeline`.

    Used in: notebook 03.
    """
    import plotly.graph_objects as go

    _require(timeline, ["alertname", "state", "start", "end"], "alert_timeline")
    fig = go.Figure()
    for state, color in STATE_COLORS.items():
        part = timeline[timeline["state"] == state]
        if part.empty:
            continue
        base = part["start"]
        width_ms = (part["end"] - part["start"]).dt.total_seconds() * 1000.0
        fig.add_trace(
            go.Bar(
                x=width_ms.tolist(),
                y=part["alertname"].astype(str).tolist(),
                base=base.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").tolist(),
                orientation="h",
                name=state,
                marker_color=color,
            )
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(type="date")
    return _layout(fig, title=title, y_title="", legend_title="state")


def log_volume(
    logs: pd.DataFrame, *, freq: str = "1min", level_col: str = "level", title: str = "Log lines by level"
) -> go.Figure:
    """Stacked bars of log lines per time bucket and level.

    Args:
        logs: a log frame (``timestamp``, ``level``, ``line``) or a metric frame (``timestamp``, ``level``,
            ``value``, e.g. from ``sum by (level) (count_over_time({...}[1m]))``).
        freq: bucket width for log frames (pandas offset alias).
        level_col: the column holding the level.

    Used in: notebook 03.
    """
    import plotly.graph_objects as go

    _require(logs, ["timestamp", level_col], "log_volume")
    if "value" in logs.columns:
        counts = logs[["timestamp", level_col, "value"]].rename(columns={"value": "lines"})
    else:
        counts = (
            logs.assign(_bucket=logs["timestamp"].dt.floor(freq))
            .groupby(["_bucket", level_col], observed=True)
            .size()
            .rename("lines")
            .reset_index()
            .rename(columns={"_bucket": "timestamp"})
        )
    fig = go.Figure()
    for level, part in counts.groupby(level_col, sort=True, observed=True):
        small = downsample(part.rename(columns={"lines": "value"}), by=[level_col])
        fig.add_trace(
            go.Bar(x=small["timestamp"], y=small["value"], name=str(level), marker_color=LEVEL_COLORS.get(str(level)))
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, title=title, y_title="lines", legend_title=level_col)


def figure_points(fig: go.Figure) -> int:
    """Total number of x values across a figure's traces (to keep notebooks small)."""
    total = 0
    for trace in fig.data:
        x: Any = getattr(trace, "x", None)
        total += len(x) if x is not None else 0
    return total


def panel_figures(
    dashboard: Any,
    *,
    prom: observe.Prometheus | None,
    logs: observe.VictoriaLogs | None = None,
    start: str = "-15m",
    step: str = "15s",
) -> list[go.Figure]:
    """The dashboard's panels drawn with plotly: each query run live against ``prom`` (PromQL) or ``logs``
    (VictoriaLogs, with the LogsQL twin of the panel's LogQL from :data:`LOGQL_TO_LOGSQL`, counted per minute; the
    course does not run or query Loki, which is AGPL-3.0).

    A panel whose data source is not given (or whose LogQL has no known twin) is skipped. Log panels are drawn as
    stacked bars by level.

    Used in: notebook 03.
    """
    from ..observe import LOGQL_TO_LOGSQL, panel_queries

    twins = {logql: logsql for logql, logsql, _ in LOGQL_TO_LOGSQL}
    figures = []
    for title, kind, expr in panel_queries(dashboard):
        if kind == "prometheus" and prom is not None:
            figures.append(lines(prom.query_range(expr, start=start, step=step), title=title, y_title=expr[:60]))
        elif kind == "loki" and logs is not None and expr in twins:
            frame = logs.stats_range(twins[expr], start=start, step="1m")
            figures.append(log_volume(frame, title=f"{title} (its LogsQL twin on VictoriaLogs)"))
    return figures
