"""What a cluster spec costs per hour, day and month, the cost guard, and what a session cost.

Prices come from :func:`get_options` (live with a token, else the dated snapshot in ``data/digitalocean``).

Used in: notebook 01 (cost table and plot), notebook 11 (what the session cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, CostLimitError
from ._client import get_options
from ._options import HOURS_PER_MONTH

if TYPE_CHECKING:
    from ._options import AddonPrice, Options
    from ._spec import ClusterSpec

#: Load balancers the course's later parts create (Argo CD server in part 2, Traefik ingress in part 4).
COURSE_LOAD_BALANCERS = 2
#: Block storage the later parts claim (Prometheus, Loki and PostgreSQL volumes), in GiB.
COURSE_VOLUMES_GB = 30

Period = Literal["hour", "day", "month"]


@dataclass(frozen=True)
class CostRow:
    """One line of an estimate: ``quantity`` × ``unit_hourly`` USD."""

    item: str
    quantity: float
    unit: str
    unit_hourly: float
    hourly: float
    monthly: float

    @property
    def daily(self) -> float:
        return self.hourly * 24


@dataclass(frozen=True)
class CostEstimate:
    """A priced cluster spec.

    Attributes:
        rows: one :class:`CostRow` per item (node pools, HA control plane, load balancers, volumes).
        max_hourly: the worst case when autoscaling pools reach ``max_nodes`` (the cost guard uses this).
        source: ``live`` or ``snapshot``; ``snapshot_date`` says how old snapshot prices are.
    """

    cluster: str
    rows: tuple[CostRow, ...]
    max_hourly: float
    source: str
    snapshot_date: str | None

    @property
    def hourly(self) -> float:
        return sum(r.hourly for r in self.rows)

    @property
    def daily(self) -> float:
        return self.hourly * 24

    @property
    def monthly(self) -> float:
        return sum(r.monthly for r in self.rows)

    def table(self) -> Any:
        """A pandas DataFrame: one row per item plus a ``total`` row, USD per hour/day/month (rounded to cents
        except the hourly column)."""
        import pandas as pd

        rows = [
            {
                "item": r.item,
                "quantity": r.quantity,
                "unit": r.unit,
                "usd_per_hour": round(r.hourly, 4),
                "usd_per_day": round(r.daily, 2),
                "usd_per_month": round(r.monthly, 2),
            }
            for r in self.rows
        ]
        rows.append(
            {
                "item": "total",
                "quantity": float("nan"),
                "unit": "",
                "usd_per_hour": round(self.hourly, 4),
                "usd_per_day": round(self.daily, 2),
                "usd_per_month": round(self.monthly, 2),
            }
        )
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        when = f"prices of {self.snapshot_date}" if self.source == "snapshot" else "live prices"
        return (
            f"{self.cluster}: ${self.hourly:.4f}/hour, ${self.daily:.2f}/day, ${self.monthly:.2f}/month "
            f"(worst case ${self.max_hourly:.4f}/hour; {when})"
        )


def estimate_cost(
    spec: ClusterSpec,
    *,
    load_balancers: int = COURSE_LOAD_BALANCERS,
    volumes_gb: float = COURSE_VOLUMES_GB,
    options: Options | None = None,
) -> CostEstimate:
    """Price a spec: its node pools, the HA control plane if ``spec.ha``, and the add-ons the course creates.

    Args:
        spec: the cluster.
        load_balancers: DigitalOcean load balancers created by ``type: LoadBalancer`` Services (one node each).
        volumes_gb: block storage created by PersistentVolumeClaims, in GiB.
        options: prices to use; default :func:`get_options` (live with a token, else the snapshot).

    Example:
        >>> from course_lib.provision import ClusterSpec
        >>> est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=0, volumes_gb=0)
        >>> round(est.monthly, 2)
        48.0

    Used in: notebook 01.
    """
    if load_balancers < 0 or volumes_gb < 0:
        raise ConfigError(
            "load_balancers and volumes_gb must not be negative",
            hint="pass 0 when the cluster will have none",
        )
    opts = options or get_options()
    spec.validate(opts)
    rows: list[CostRow] = []
    worst = 0.0
    for pool in spec.node_pools:
        size = opts.size(pool.size)
        rows.append(
            CostRow(
                item=f"nodes: {pool.name} ({pool.size})",
                quantity=pool.count,
                unit="node",
                unit_hourly=size.price_hourly,
                hourly=pool.count * size.price_hourly,
                monthly=pool.count * size.price_monthly,
            )
        )
        worst += pool.worst_case_nodes * size.price_hourly
    addons: list[tuple[str, float, str, AddonPrice]] = []
    if spec.ha:
        addons.append(("HA control plane", 1, "cluster", opts.ha_control_plane))
    if load_balancers:
        addons.append(("load balancers", load_balancers, "LB node", opts.load_balancer))
    if volumes_gb:
        addons.append(("volumes", volumes_gb, "GiB", opts.volume_gib))
    for item, qty, unit, price in addons:
        rows.append(CostRow(item, qty, unit, price.price_hourly, qty * price.price_hourly, qty * price.price_monthly))
        worst += qty * price.price_hourly
    return CostEstimate(
        cluster=spec.name, rows=tuple(rows), max_hourly=worst, source=opts.source, snapshot_date=opts.snapshot_date
    )


def check_cost(estimate: CostEstimate, *, max_hourly_cost: float, hint: str | None = None) -> CostEstimate:
    """Raise :class:`CostLimitError` when the worst-case hourly cost is above ``max_hourly_cost``.

    ``hint`` replaces the default advice (e.g. with the command-line option that sets the limit).

    Example:
        >>> from course_lib.provision import ClusterSpec
        >>> est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=0, volumes_gb=0)
        >>> check_cost(est, max_hourly_cost=1.0) is est
        True

    Used in: notebook 01 (before creating anything).
    """
    if estimate.max_hourly > max_hourly_cost:
        raise CostLimitError(
            f"cluster {estimate.cluster!r} would cost up to ${estimate.max_hourly:.4f}/hour, "
            f"above the limit of ${max_hourly_cost:.2f}/hour",
            hint=hint
            or (
                "choose a smaller node size or fewer nodes (a lower max_nodes when autoscaling), or raise "
                "Settings.max_hourly_cost on purpose"
            ),
            cluster=estimate.cluster,
        )
    return estimate


def cost_figure(estimate: CostEstimate, *, period: Period = "month") -> Any:
    """A plotly bar chart of the estimate, one bar per item, in USD per ``period``.

    Used in: notebook 01.
    """
    import plotly.graph_objects as go

    attr = {"hour": "hourly", "day": "daily", "month": "monthly"}[period]
    values = [getattr(r, attr) for r in estimate.rows]
    fig = go.Figure(
        go.Bar(
            x=[r.item for r in estimate.rows],
            y=values,
            text=[f"${v:,.2f}" if period != "hour" else f"${v:.4f}" for v in values],
            textposition="auto",
        )
    )
    when = f"snapshot prices of {estimate.snapshot_date}" if estimate.source == "snapshot" else "live prices"
    fig.update_layout(
        title=f"{estimate.cluster}: USD per {period} ({when})",
        yaxis_title=f"USD per {period}",
        xaxis_title="",
        template="plotly_white",
        height=380,
    )
    return fig


@dataclass(frozen=True)
class SessionCost:
    """What a cluster has cost since it was created (at the estimated hourly price)."""

    cluster: str
    created_at: datetime
    until: datetime
    hours: float
    usd: float

    def __str__(self) -> str:
        return f"{self.cluster}: {self.hours:.2f} h from {self.created_at:%Y-%m-%d %H:%M} UTC → ${self.usd:.2f}"


def session_cost(
    estimate: CostEstimate,
    *,
    created_at: datetime | str,
    until: datetime | str | None = None,
) -> SessionCost:
    """Cost of running ``estimate``'s cluster from ``created_at`` until ``until`` (default: now, UTC).

    DOKS bills per second with a minimum of $0.01 per node and at most 672 hours a month; this applies the same
    rules to the estimate's hourly price.

    Example:
        >>> from course_lib.provision import ClusterSpec
        >>> est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=0, volumes_gb=0)
        >>> session_cost(est, created_at="2026-01-01T10:00:00Z", until="2026-01-01T13:00:00Z").usd
        0.21

    Used in: notebook 11.
    """
    start = _as_utc(created_at)
    end = _as_utc(until) if until is not None else datetime.now(UTC)
    if end < start:
        raise ConfigError(
            f"session end {end.isoformat()} is before its start {start.isoformat()}",
            hint="pass created_at from the cluster (ClusterInfo.created_at) and an end after it",
        )
    hours = min((end - start).total_seconds() / 3600, HOURS_PER_MONTH)
    nodes = sum(r.quantity for r in estimate.rows if r.unit == "node")
    usd = max(hours * estimate.hourly, 0.01 * nodes)
    return SessionCost(estimate.cluster, start, end, hours, round(usd, 2))


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{value!r} is not an ISO 8601 time", hint="use e.g. '2026-01-01T10:00:00Z'") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
