"""The course's plotly figures: pure functions from a frame or a part module's result to a ``go.Figure``.

The observability figures take the tidy frames of :mod:`course_lib.observe` (``timestamp``, label columns,
``value``); the others take what a part module returns (a canary simulation, a reachability matrix, a PITR catalogue,
a failover run, region costs). Every function keeps to a few hundred points per series, so executed notebooks stay
small.

Example:
    >>> frame = prom.query_range('sum by (status) (rate(checkout_requests_total[1m]))')   # doctest: +SKIP
    >>> plots.request_rate(frame)                                                          # doctest: +SKIP

Used in: notebooks 03, 04, 05, 08, 09, 10.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    import pandas as pd
    import plotly.graph_objects as go

    from . import observe, policy, postgres, traffic

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
    from .observe import LOGQL_TO_LOGSQL, panel_queries

    twins = {logql: logsql for logql, logsql, _ in LOGQL_TO_LOGSQL}
    figures = []
    for title, kind, expr in panel_queries(dashboard):
        if kind == "prometheus" and prom is not None:
            figures.append(lines(prom.query_range(expr, start=start, step=step), title=title, y_title=expr[:60]))
        elif kind == "loki" and logs is not None and expr in twins:
            frame = logs.stats_range(twins[expr], start=start, step="1m")
            figures.append(log_volume(frame, title=f"{title} (its LogsQL twin on VictoriaLogs)"))
    return figures


# --- part 4: the canary split and the rate limit -------------------------------------------------------


def split_figure(sim: traffic.SplitSimulation, *, max_points: int = 200) -> go.Figure:
    """Plot the running canary share of a simulation against the target and its 95 % band.

    The curve is thinned to at most ``max_points`` points (evenly spaced, the last request always kept) so the
    figure stays small in a notebook.

    Used in: notebook 04.
    """
    import numpy as np
    import plotly.graph_objects as go

    frame = sim.frame
    idx = np.unique(np.linspace(0, len(frame) - 1, num=min(max_points, len(frame))).round().astype(int))
    part = frame.iloc[idx]
    x = part["request"].tolist()
    target = sim.canary_percent
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=(100 * part["high"]).round(2).tolist(),
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=(100 * part["low"]).round(2).tolist(),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.15)",
            name="95% band",
        )
    )
    fig.add_trace(
        go.Scatter(x=[x[0], x[-1]], y=[target, target], mode="lines", line={"dash": "dash"}, name=f"target {target}%")
    )
    fig.add_trace(
        go.Scatter(x=x, y=(100 * part["canary_share"]).round(2).tolist(), mode="lines", name="observed canary share")
    )
    fig.update_layout(
        title=f"Canary share over {sim.requests} requests ({sim.canary} to v2, seed {sim.seed})",
        xaxis_title="requests sent",
        yaxis_title="% of requests to v2",
        height=360,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
        template="plotly_white",
    )
    fig.update_yaxes(range=[0, min(100, max(2 * target, target + 15))])
    return fig


def observed_split_figure(run: traffic.ObservedSplit, *, max_points: int = 200) -> go.Figure:
    """The observed canary share over the requests, against the configured weight and the binomial model's band.

    Used in: notebook 04.
    """
    from .traffic import SplitSimulation

    sim = SplitSimulation(run.canary_percent, run.requests, 0, run.canary, run.frame)
    fig = split_figure(sim, max_points=max_points)
    level = "99%" if run.z > 2 else "95%"
    fig.data[1].name = f"binomial model, {level} band"
    fig.data[3].name = "observed through Traefik"
    fig.update_layout(title=f"Canary share over {run.requests} real requests through Traefik ({run.canary} to v2)")
    return fig


def rate_limit_figure(run: traffic.RateLimitRun) -> go.Figure:
    """Accepted and rejected (429) requests against time, per 100 ms.

    Used in: notebook 04.
    """
    import plotly.graph_objects as go

    frame = run.frame.assign(bin=(run.frame["t"] // 0.1) * 0.1)
    counts = frame.groupby(["bin", "status"]).size().unstack(fill_value=0)
    fig = go.Figure()
    for status, color in ((200, "#1a7f37"), (429, "#cf222e")):
        if status in counts:
            fig.add_trace(
                go.Bar(
                    x=counts.index.round(1).tolist(), y=counts[status].tolist(), name=str(status), marker_color=color
                )
            )
    fig.update_layout(
        barmode="stack",
        title=f"{run.requests} requests in {run.duration:.1f} s against average {run.average}/s, burst {run.burst}",
        xaxis_title="seconds since the first request",
        yaxis_title="requests per 100 ms",
        height=320,
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


def sweep_figure(frame: pd.DataFrame) -> go.Figure:
    """Observed v2 share against the configured weight, with the binomial model's 99 % band as error bars.

    Used in: notebook 04.
    """
    import plotly.graph_objects as go

    x = frame["configured"].tolist()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", line={"dash": "dash"}, name="observed = configured"))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame["observed"].tolist(),
            mode="markers",
            marker={"size": 10},
            name="observed through Traefik",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (frame["model_high"] - frame["observed"]).clip(lower=0).tolist(),
                "arrayminus": (frame["observed"] - frame["model_low"]).clip(lower=0).tolist(),
            },
        )
    )
    n = int(frame["requests"].iloc[0]) if len(frame) else 0
    fig.update_layout(
        title=f"v2 share for each configured weight ({n} real requests each; bars: binomial model, 99 %)",
        xaxis_title="configured v2 weight (%)",
        yaxis_title="observed v2 share (%)",
        height=360,
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


# --- part 5: who may reach whom ----------------------------------------------------------------------


def reachability_figure(matrix: policy.Reachability, *, title: str = "Who may open a connection to whom") -> go.Figure:
    """A small plotly heatmap of a :func:`course_lib.policy.reachability` matrix (green allowed, red denied, grey
    the pod itself).

    Used in: notebook 05.
    """
    import plotly.graph_objects as go

    index = {name: i for i, name in enumerate(matrix.pods)}
    z: list[list[float | None]] = [[None] * len(matrix.pods) for _ in matrix.pods]
    text = [["self"] * len(matrix.pods) for _ in matrix.pods]
    for v in matrix.verdicts:
        z[index[v.src]][index[v.dst]] = 1.0 if v.allowed else 0.0
        text[index[v.src]][index[v.dst]] = f"allowed :{v.port}" if v.allowed else "denied"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(matrix.pods),
            y=list(matrix.pods),
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "#f4b6b6"], [1, "#9fd8a4"]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        title=title,
        height=300,
        width=520,
        margin={"l": 110, "r": 20, "t": 50, "b": 40},
        xaxis_title="to",
        yaxis_title="from",
        yaxis_autorange="reversed",
        template="plotly_white",
    )
    return fig


# --- part 8: PostgreSQL ------------------------------------------------------------------------------


def pitr_figure(catalog: postgres.BackupCatalog, *, target: datetime | str | None = None) -> Any:
    """A timeline: base backups (bars), the archived WAL (a band, gaps in red), recoverable windows and the target.

    Used in: notebook 08.
    """
    import plotly.graph_objects as go

    from .postgres import _utc, check_recovery_target

    fig = go.Figure()
    y_wal, y_win, y_bk = "WAL archive", "recoverable", "base backups"
    fig.add_trace(
        go.Scatter(
            x=[catalog.wal_start, catalog.wal_end], y=[y_wal] * 2, mode="lines", line={"width": 14}, name="archived WAL"
        )
    )
    for g0, g1 in catalog.gaps:
        fig.add_trace(
            go.Scatter(x=[g0, g1], y=[y_wal] * 2, mode="lines", line={"width": 14, "color": "#cf222e"}, name="WAL gap")
        )
    for i, (s, e) in enumerate(catalog.windows()):
        fig.add_trace(
            go.Scatter(
                x=[s, e],
                y=[y_win] * 2,
                mode="lines",
                line={"width": 14, "color": "#1a7f37"},
                name="recoverable",
                showlegend=i == 0,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[b.started for b in catalog.backups],
            y=[y_bk] * len(catalog.backups),
            mode="markers",
            marker={"symbol": "square", "size": 12},
            name="base backup",
            text=[b.name for b in catalog.backups],
        )
    )
    if target is not None:
        t = _utc(target, what="target")
        ok = check_recovery_target(t, catalog).recoverable
        fig.add_vline(x=t, line_dash="dash", line_color="#1a7f37" if ok else "#cf222e")
        fig.add_annotation(x=t, y=1.08, yref="paper", text="recovery target", showarrow=False)
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Point-in-time recovery")
    return fig


def failover_figure(run: postgres.FailoverRun) -> Any:
    """Timeline of a :class:`course_lib.postgres.FailoverRun`: each acknowledged write as a dot, the failover steps as lines.

    Used in: notebook 08.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[t for _, t in run.writes], y=[i for i, _ in run.writes], mode="markers", marker={"size": 4},
            name="write acknowledged",
        )
    )  # fmt: skip
    for what, t in run.events:
        fig.add_vline(x=t, line_dash="dot", line_color="#cf222e" if "killed" in what else "#57606a")
    fig.add_vrect(x0=0, x1=run.rto, fillcolor="#cf222e", opacity=0.12, line_width=0, annotation_text="RTO")
    fig.update_layout(
        height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10}, title="Failover: writes through PgBouncer",
        xaxis_title="seconds after the primary was killed", yaxis_title="write id",
    )  # fmt: skip
    return fig


# --- part 9: regions ---------------------------------------------------------------------------------


def region_cost_figure(table: Any) -> Any:
    """A bar chart of :func:`course_lib.regions.region_costs`, coloured by geography.

    Used in: notebook 09.
    """
    import plotly.express as px

    fig = px.bar(table, x="region", y="usd_per_month", color="geography", title="A second cluster, per region")
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title="USD per month")
    return fig


# --- part 10: the capstone ---------------------------------------------------------------------------


def graph_layers(graph: pd.DataFrame) -> dict[str, int]:
    """Each node's column in a left-to-right call graph: the longest chain of calls that leads to it (callers
    left of callees).

    Example:
        >>> import pandas as pd
        >>> graph_layers(pd.DataFrame({"source": ["a", "a", "b"], "destination": ["b", "c", "c"]}))
        {'a': 0, 'b': 1, 'c': 2}
    """
    _require(graph, ("source", "destination"), "a call graph")
    edges = list(zip(graph["source"], graph["destination"], strict=True))
    nodes = sorted({n for edge in edges for n in edge})
    layer = dict.fromkeys(nodes, 0)
    for _ in nodes:  # longest path by relaxation: a DAG settles within len(nodes) rounds, a cycle stops there
        changed = False
        for src, dst in edges:
            if layer[dst] < layer[src] + 1:
                layer[dst] = layer[src] + 1
                changed = True
        if not changed:
            break
    return layer


def service_graph_figure(
    graph: pd.DataFrame, *, title: str = "The service graph Kiali draws once traffic flows"
) -> Any:
    """A call graph (``source``, ``destination``, ``port``) from :func:`course_lib.manifests.service_graph`: callers
    left, callees right, one arrow per call, labelled with the port.

    Used in: notebook 10.
    """
    import plotly.graph_objects as go

    layer = graph_layers(graph)
    columns: dict[int, list[str]] = {}
    for node in sorted(layer):
        columns.setdefault(layer[node], []).append(node)
    pos = {n: (x, -(i - (len(col) - 1) / 2)) for x, col in columns.items() for i, n in enumerate(col)}
    fig = go.Figure()
    for src, dst, port in zip(graph["source"], graph["destination"], graph.get("port", [""] * len(graph)), strict=True):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1, arrowwidth=1, arrowcolor="#8c8c8c", standoff=12, startstandoff=12,
                           hovertext=f"{src} → {dst}:{port}")  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in pos],
            y=[pos[n][1] for n in pos],
            mode="markers+text",
            text=list(pos),
            textposition="top center",
            marker={"size": 16, "color": "#1f77b4"},
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        title=title,
        height=420,
        margin={"l": 20, "r": 20, "t": 50, "b": 20},
        template="plotly_white",
        xaxis={"visible": False, "range": [-0.5, max(columns) + 0.5]},
        yaxis={"visible": False},
    )
    return fig


__all__ = [
    "STATE_COLORS",
    "failover_figure",
    "observed_split_figure",
    "pitr_figure",
    "rate_limit_figure",
    "reachability_figure",
    "region_cost_figure",
    "split_figure",
    "sweep_figure",
    "alert_timeline",
    "downsample",
    "figure_points",
    "latency_percentiles",
    "lines",
    "log_volume",
    "node_cpu",
    "graph_layers",
    "panel_figures",
    "request_rate",
    "service_graph_figure",
]
