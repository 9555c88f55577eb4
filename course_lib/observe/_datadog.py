"""The Datadog hands-on of Part 3, generated and checked offline.

Datadog is a hosted service: creating monitors needs an account, an API key and an application key, and an
anomaly monitor needs weeks of the metric's history inside Datadog. None of that exists offline, so the course
*generates* the seed's monitors — as Terraform HCL for the ``DataDog/datadog`` provider and as JSON payloads for
``POST /api/v1/monitor`` — and validates what can be validated locally: the HCL parses, every query has the
shape Datadog expects, thresholds agree with the query, and the composite refers to monitors that exist.

Example:
    >>> monitors = seed_monitors()
    >>> [m.resource for m in monitors]
    ['latency_anomaly', 'latency_high', 'cpu_high', 'composite_alert']

Used in: notebook 03.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, ValidationError

_METRIC_QUERY = re.compile(
    r"^(?P<agg>avg|sum|min|max|change|pct_change)\((?P<window>last_\d+[mhdw])\):(?P<body>.+?)\s*(?P<op>>=|<=|>|<)\s*(?P<threshold>-?\d+(?:\.\d+)?)$"
)
_ANOMALY_BODY = re.compile(r"^anomalies\((?P<inner>.+),\s*'(?P<algo>basic|agile|robust)',\s*(?P<bounds>\d+(?:\.\d+)?)")
#: One metric reference of a query, ``space_agg:metric{scope}`` (also what :mod:`._dogstatsd` finds in monitors).
METRIC_REF = re.compile(r"(?P<space>avg|sum|min|max):(?P<metric>[a-z][\w.]*)\{(?P<scope>[^}]*)\}")
_METRIC_BODY = re.compile(rf"^{METRIC_REF.pattern}(?:\s+by\s+\{{[^}}]+\}})?$")
_COMPOSITE_REF = re.compile(r"\$\{datadog_monitor\.(\w+)\.id\}")


@dataclass(frozen=True)
class DatadogMonitor:
    """One Datadog monitor as the course defines it.

    Attributes:
        resource: Terraform resource name (``datadog_monitor.<resource>``).
        name: monitor title shown in Datadog.
        type: ``"query alert"``, ``"metric alert"`` or ``"composite"``.
        query: the monitor query; composites use ``${datadog_monitor.<resource>.id}`` references.
        message: notification text (``@slack-…``/``@pagerduty`` handles notify).
        critical: critical threshold (must agree with the query's comparison).
        threshold_windows: trigger/recovery windows; Datadog requires them for anomaly monitors.
        tags: monitor tags.
        promql: the closest PromQL expression on the course's own stack.
    """

    resource: str
    name: str
    type: str
    query: str
    message: str
    critical: float | None = None
    threshold_windows: Mapping[str, str] | None = None
    tags: tuple[str, ...] = ("managed-by:course-lib",)
    promql: str = ""
    depends_on: tuple[str, ...] = field(default=())

    def validate(self) -> DatadogMonitor:
        """Check the query's shape and thresholds; returns ``self`` or raises :class:`ValidationError`."""
        validate_query(self)
        return self


def seed_monitors(
    *, metric: str = "custom.checkout.latency", service: str = "checkout-api", latency_ms: float = 400
) -> list[DatadogMonitor]:
    """The seed's four monitors: latency anomaly, high latency, high CPU and the composite of the last two.

    Args:
        metric: the custom DogStatsD metric the checkout app emits (milliseconds).
        service: the ``service`` tag on that metric.
        latency_ms: the "high latency" threshold.

    Used in: notebook 03.
    """
    if not re.fullmatch(r"[a-z][\w.]*", metric):
        raise ConfigError(f"metric {metric!r} is not a Datadog metric name", hint="e.g. custom.checkout.latency")
    if latency_ms <= 0:
        raise ConfigError("latency_ms must be positive", hint="e.g. latency_ms=400")
    scope = f"service:{service}"
    anomaly = DatadogMonitor(
        resource="latency_anomaly",
        name="[Anomaly] Checkout Latency Deviation",
        type="query alert",
        query=f"avg(last_1h):anomalies(avg:{metric}{{{scope}}}, 'basic', 2) >= 1",
        message="Latency is abnormal! @slack-channel",
        critical=1.0,
        threshold_windows={"trigger_window": "last_15m", "recovery_window": "last_15m"},
        promql="(no built-in equivalent: compare with a baseline, e.g. p95 > 2 * p95 offset 1w)",
    )
    latency = DatadogMonitor(
        resource="latency_high",
        name="High Latency",
        type="metric alert",
        query=f"avg(last_5m):avg:{metric}{{{scope}}} > {latency_ms:g}",
        message=f"Latency > {latency_ms:g}ms",
        critical=float(latency_ms),
        promql=(
            "histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[5m]))) "
            f"> {latency_ms / 1000:g}"
        ),
    )
    cpu = DatadogMonitor(
        resource="cpu_high",
        name="High CPU",
        type="metric alert",
        query="avg(last_5m):avg:system.cpu.idle{*} by {host} < 10",
        message="CPU Idle < 10%",
        critical=10.0,
        promql='avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) < 0.10',
    )
    composite = DatadogMonitor(
        resource="composite_alert",
        name="[Critical] High Latency AND High CPU",
        type="composite",
        query="${datadog_monitor.latency_high.id} && ${datadog_monitor.cpu_high.id}",
        message="System is overloaded and slow! @pagerduty",
        promql=f"({latency.promql}) and on() ({cpu.promql})",
        depends_on=("latency_high", "cpu_high"),
    )
    return [anomaly, latency, cpu, composite]


def validate_query(monitor: DatadogMonitor, *, known: Sequence[str] = ()) -> None:
    """Check a monitor query's shape, its threshold and (for composites) its references.

    Raises:
        ValidationError: with a hint naming the part that is wrong.
    """
    if monitor.type == "composite":
        refs = _COMPOSITE_REF.findall(monitor.query)
        rest = _COMPOSITE_REF.sub("X", monitor.query)
        if len(refs) < 2 or not re.fullmatch(r"\(?\s*!?X(\s*(&&|\|\|)\s*!?\(?X\)?)+\s*\)?", rest):
            raise ValidationError(
                f"composite monitor {monitor.resource!r} has an unexpected query {monitor.query!r}",
                hint="combine at least two monitor ids with && or ||, e.g. ${datadog_monitor.a.id} && ${datadog_monitor.b.id}",
            )
        missing = [r for r in refs if known and r not in known]
        if missing:
            raise ValidationError(
                f"composite monitor {monitor.resource!r} refers to unknown monitors {missing}",
                hint="define those datadog_monitor resources in the same configuration",
            )
        return
    if monitor.type not in ("query alert", "metric alert"):
        raise ValidationError(
            f"unknown monitor type {monitor.type!r}", hint='use "metric alert", "query alert" or "composite"'
        )
    m = _METRIC_QUERY.match(monitor.query)
    if not m:
        raise ValidationError(
            f"monitor {monitor.resource!r} query does not look like agg(last_N):… <op> threshold",
            hint="write e.g. avg(last_5m):avg:custom.checkout.latency{service:checkout-api} > 400",
            query=monitor.query,
        )
    body = m.group("body").strip()
    anomaly = _ANOMALY_BODY.match(body)
    if anomaly:
        inner = anomaly.group("inner").strip()
        if not monitor.threshold_windows or set(monitor.threshold_windows) != {"trigger_window", "recovery_window"}:
            raise ValidationError(
                f"anomaly monitor {monitor.resource!r} has no threshold windows",
                hint="Datadog requires trigger_window and recovery_window (e.g. last_15m) for anomaly monitors",
            )
    else:
        inner = body
    if not _METRIC_BODY.match(inner):
        raise ValidationError(
            f"monitor {monitor.resource!r}: {inner!r} is not space_agg:metric{{scope}}",
            hint="e.g. avg:system.cpu.idle{*} by {host}",
        )
    threshold = float(m.group("threshold"))
    if monitor.critical is not None and monitor.critical != threshold:
        raise ValidationError(
            f"monitor {monitor.resource!r}: critical threshold {monitor.critical:g} differs from the query's {threshold:g}",
            hint="Datadog rejects monitors whose critical threshold is not the number in the query",
        )


def _hcl_string(value: str) -> str:
    return json.dumps(value)


def terraform_hcl(monitors: Sequence[DatadogMonitor]) -> str:
    """Render ``datadog_monitor`` resources as Terraform HCL (the provider block is in the seed, unchanged).

    Raises:
        ValidationError: a monitor fails :func:`validate_query`.

    Used in: notebook 03.
    """
    known = [m.resource for m in monitors]
    blocks = []
    for monitor in monitors:
        validate_query(monitor, known=known)
        lines = [f'resource "datadog_monitor" "{monitor.resource}" {{']
        lines.append(f"  name    = {_hcl_string(monitor.name)}")
        lines.append(f"  type    = {_hcl_string(monitor.type)}")
        lines.append(f"  message = {_hcl_string(monitor.message)}")
        lines.append(f"  query   = {_hcl_string(monitor.query)}")
        lines.append(f"  tags    = [{', '.join(_hcl_string(t) for t in monitor.tags)}]")
        if monitor.critical is not None:
            lines += ["", "  monitor_thresholds {", f"    critical = {monitor.critical:g}", "  }"]
        if monitor.threshold_windows:
            lines += ["", "  monitor_threshold_windows {"]
            lines += [f"    {k} = {_hcl_string(v)}" for k, v in sorted(monitor.threshold_windows.items())]
            lines += ["  }"]
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _plain(value: Any) -> Any:
    """python-hcl2 8.x keeps string quotes and marks blocks; give back plain Python values."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value) if "\\" in value else value[1:-1]
    return value


def parse_hcl(text: str) -> dict[str, Any]:
    """Parse HCL with ``python-hcl2`` (what Terraform would read); raises :class:`ValidationError` if it cannot.

    Returns plain values: ``{"resource": [{"datadog_monitor": {"latency_high": {"name": "High Latency", ...}}}]}``.
    """
    import hcl2

    try:
        parsed: dict[str, Any] = hcl2.loads(text)
    except Exception as exc:  # hcl2 raises lark errors of several kinds
        raise ValidationError(
            f"the HCL does not parse: {str(exc).splitlines()[0]}", hint="check quotes and braces"
        ) from None
    result: dict[str, Any] = _plain(parsed)
    return result


def api_payloads(monitors: Sequence[DatadogMonitor], *, ids: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """JSON bodies for ``POST /api/v1/monitor``, one per monitor.

    Args:
        monitors: the monitors, leaves before composites.
        ids: numeric ids Datadog returned for already-created monitors; composites need the ids of their parts,
            which only exist after those parts were created.

    Raises:
        ConfigError: a composite's parts have no id yet.

    Used in: notebook 03.
    """
    known = [m.resource for m in monitors]
    payloads = []
    for monitor in monitors:
        validate_query(monitor, known=known)
        query = monitor.query
        if monitor.type == "composite":
            missing = [r for r in _COMPOSITE_REF.findall(query) if r not in (ids or {})]
            if missing:
                raise ConfigError(
                    f"composite monitor {monitor.resource!r} needs the ids of {missing}",
                    hint="create the other monitors first and pass ids={'latency_high': <id>, 'cpu_high': <id>}",
                )
            query = _COMPOSITE_REF.sub(lambda m: str((ids or {})[m.group(1)]), query)
        options: dict[str, Any] = {"notify_no_data": False, "include_tags": True}
        if monitor.critical is not None:
            options["thresholds"] = {"critical": monitor.critical}
        if monitor.threshold_windows:
            options["threshold_windows"] = dict(monitor.threshold_windows)
        payloads.append(
            {
                "name": monitor.name,
                "type": monitor.type,
                "query": query,
                "message": monitor.message,
                "tags": list(monitor.tags),
                "options": options,
            }
        )
    return payloads
