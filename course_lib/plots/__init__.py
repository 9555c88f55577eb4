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

from ._observe import (  # noqa: F401
    DEFAULT_MAX_POINTS,
    LEVEL_COLORS,
    STATE_COLORS,
    alert_timeline,
    downsample,
    figure_points,
    latency_percentiles,
    lines,
    log_volume,
    node_cpu,
    panel_figures,
    request_rate,
)
from ._parts import (  # noqa: F401
    failover_figure,
    graph_layers,
    observed_split_figure,
    pitr_figure,
    rate_limit_figure,
    reachability_figure,
    region_cost_figure,
    service_graph_figure,
    split_figure,
    sweep_figure,
)

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
