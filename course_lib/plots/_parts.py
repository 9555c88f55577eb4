"""The figures of parts 4, 5, 8, 9 and 10: the canary split and rate limit, who may reach whom, PITR and failover, region costs, the capstone's service graph (see :mod:`course_lib.plots`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._observe import (
    _require,
)

if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    import pandas as pd
    import plotly.graph_objects as go

    from .. import policy, postgres, traffic


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
    from ..traffic import SplitSimulation

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

    from ..postgres import _utc, check_recovery_target

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
