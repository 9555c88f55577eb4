"""Grafana dashboards as code: the checkout dashboard, built with the typed builders of ``grafana-foundation-sdk``.

The course does not run Grafana (it is AGPL-licensed, and the sandbox has none); it generates the dashboard's
JSON model with the Apache-2.0 SDK, checks that the JSON decodes into the SDK's model and encodes back unchanged,
and wraps it in the ConfigMap that kube-prometheus-stack's Grafana sidecar loads. The notebook runs the panels'
own PromQL against the sandbox Prometheus and draws them with plotly.

The SDK is imported inside the functions, so ``import course_lib`` stays fast.

Example:
    >>> from course_lib import observe
    >>> [title for title, _, _ in observe.panel_queries(observe.checkout_dashboard())]     # doctest: +SKIP
    ['Request rate', 'Error ratio', 'p95 latency', 'Log volume by level']

Used in: notebook 03 ("Dashboards as code").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import validate_name
from ..errors import ConfigError, ExerciseError, ValidationError
from ._exercise import ERROR_RATIO_REFERENCE

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from grafana_foundation_sdk.builders.dashboard import Dashboard as DashboardBuilder
    from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel


#: The SDK is pinned to its newest versioned branch, 11.6 (see pyproject.toml); its dashboards have
#: ``schemaVersion`` 41, which the Grafana of kube-prometheus-stack (:data:`course_lib.pins.GRAFANA_VERSION`) loads
#: and migrates forward on its own.
#: kube-prometheus-stack provisions its Prometheus data source with this uid (``grafana.sidecar.datasources.uid``).
PROMETHEUS_DATASOURCE_UID = "prometheus"
#: The chart provisions no Loki data source; add one with this uid (``grafana.additionalDataSources``).
LOKI_DATASOURCE_UID = "loki"
#: kube-prometheus-stack's defaults: ``grafana.sidecar.dashboards.label`` / ``labelValue``.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
#: The annotation the course uses for folders. The chart leaves ``grafana.sidecar.dashboards.folderAnnotation``
#: unset (null), so it only takes effect with that value set to this name (see :data:`SIDECAR_FOLDER_VALUES`).
FOLDER_ANNOTATION = "grafana_folder"
#: Helm values that make the sidecar honour :data:`FOLDER_ANNOTATION` (folders from the file structure).
SIDECAR_FOLDER_VALUES: dict[str, Any] = {
    "grafana": {
        "sidecar": {
            "dashboards": {
                "folderAnnotation": FOLDER_ANNOTATION,
                "provider": {"foldersFromFilesStructure": True},
            }
        }
    }
}
DEFAULT_FOLDER = "Course"

#: Metric names the checkout service exports (course_lib/sandbox/_checkout.py), for the exercise's hints.
CHECKOUT_METRICS = (
    "checkout_requests_total",
    "checkout_request_duration_seconds_bucket",
    "checkout_request_duration_seconds_sum",
    "checkout_request_duration_seconds_count",
)


@dataclass(frozen=True)
class PanelSpec:
    """One time-series panel: its title, data source type (``prometheus`` or ``loki``), query and unit."""

    title: str
    datasource: str
    expr: str
    unit: str
    legend: str = ""
    description: str = ""
    bars: bool = False  # stacked bars instead of lines (counts per interval)


#: The checkout dashboard's panels; the PromQL is the one notebook 03 teaches, the LogQL the one of section 6.
CHECKOUT_PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(
        "Request rate",
        "prometheus",
        "sum by (status) (rate(checkout_requests_total[1m]))",
        "reqps",
        legend="{{status}}",
        description="Checkout requests per second, one line per HTTP status.",
    ),
    PanelSpec(
        "Error ratio",
        "prometheus",
        ERROR_RATIO_REFERENCE,
        "percentunit",
        legend="5xx share",
        description="Share of checkout requests that failed with a 5xx status over 5 minutes.",
    ),
    PanelSpec(
        "p95 latency",
        "prometheus",
        "histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[1m])))",
        "s",
        legend="p95",
        description="95th percentile of checkout request duration.",
    ),
    PanelSpec(
        "Log volume by level",
        "loki",
        'sum by (level) (count_over_time({app="checkout"}[1m]))',
        "short",
        legend="{{level}}",
        description="Checkout log lines per minute by level (info, warn, error).",
        bars=True,
    ),
)


# --- building -------------------------------------------------------------------------------------------------


_PLUGINS_REGISTERED = False


def _register_plugins() -> None:
    """Teach the SDK's decoder the panel and query types (without it, targets decode as ``UnknownDataquery``)."""
    global _PLUGINS_REGISTERED
    if not _PLUGINS_REGISTERED:
        from grafana_foundation_sdk.cog.plugins import register_default_plugins

        register_default_plugins()
        _PLUGINS_REGISTERED = True


def panel_builder(
    spec: PanelSpec, *, prometheus_uid: str = PROMETHEUS_DATASOURCE_UID, loki_uid: str = LOKI_DATASOURCE_UID
) -> Any:
    """An SDK time-series panel builder for ``spec`` (add it with ``dashboard_builder.with_panel(...)``)."""
    from grafana_foundation_sdk.builders import common, loki, prometheus, timeseries
    from grafana_foundation_sdk.models.common import GraphDrawStyle, LegendDisplayMode, LegendPlacement, StackingMode
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    if spec.datasource == "prometheus":
        ref = DataSourceRef(type_val="prometheus", uid=prometheus_uid)
        query: Any = prometheus.Dataquery().expr(spec.expr).ref_id("A")
    elif spec.datasource == "loki":
        ref = DataSourceRef(type_val="loki", uid=loki_uid)
        query = loki.Dataquery().expr(spec.expr).ref_id("A")
    else:
        raise ConfigError(
            f"panel {spec.title!r}: unknown data source type {spec.datasource!r}", hint="use 'prometheus' or 'loki'"
        )
    if spec.legend:
        query = query.legend_format(spec.legend)
    panel = (
        timeseries.Panel()
        .title(spec.title)
        .datasource(ref)
        .unit(spec.unit)
        .min(0)
        .line_width(1)
        .fill_opacity(60 if spec.bars else 10)
        .legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .with_target(query)
        .span(12)
        .height(8)
    )
    if spec.description:
        panel = panel.description(spec.description)
    if spec.bars:
        panel = panel.draw_style(GraphDrawStyle.BARS).stacking(common.StackingConfig().mode(StackingMode.NORMAL))
    return panel


def checkout_dashboard_builder(
    *,
    uid: str = "checkout",
    title: str = "Checkout",
    prometheus_uid: str = PROMETHEUS_DATASOURCE_UID,
    loki_uid: str = LOKI_DATASOURCE_UID,
    refresh: str = "30s",
    time_from: str = "now-1h",
    panels: Sequence[PanelSpec] = CHECKOUT_PANELS,
) -> DashboardBuilder:
    """The SDK builder of the checkout dashboard: add panels with ``.with_panel(...)``, finish with ``.build()``."""
    from grafana_foundation_sdk.builders.dashboard import Dashboard
    from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

    builder = (
        Dashboard(title)
        .uid(uid)
        .description("The checkout service: traffic, errors, latency and logs (generated by course_lib).")
        .tags(["course", "checkout", "generated"])
        .time(time_from, "now")
        .refresh(refresh)
        .timezone("utc")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()  # the source of truth is the code; edits in the UI would be overwritten
    )
    for spec in panels:
        builder = builder.with_panel(panel_builder(spec, prometheus_uid=prometheus_uid, loki_uid=loki_uid))
    return builder


def to_dict(dashboard: Any) -> dict[str, Any]:
    """A dashboard as plain JSON data: from an SDK builder or model, JSON text, or a dict (copied).

    Raises:
        ValidationError: ``dashboard`` is none of these, or its text is not JSON.
    """
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    if hasattr(dashboard, "build") and callable(dashboard.build):
        dashboard = dashboard.build()
    if hasattr(dashboard, "to_json") and callable(dashboard.to_json):
        return json.loads(json.dumps(dashboard, cls=JSONEncoder))
    if isinstance(dashboard, str | bytes):
        try:
            data = json.loads(dashboard)
        except ValueError as exc:
            raise ValidationError(
                f"the dashboard is not valid JSON: {exc}", hint="pass the text dashboard_json() wrote, or a dict"
            ) from None
    elif isinstance(dashboard, Mapping):
        data = json.loads(json.dumps(dashboard))
    else:
        raise ValidationError(
            f"expected a dashboard (dict, JSON text or SDK builder), got {type(dashboard).__name__}",
            hint="start from observe.checkout_dashboard() or observe.checkout_dashboard_builder()",
        )
    if not isinstance(data, dict):
        raise ValidationError("a dashboard JSON model is an object", hint="the top level must be {...}, not a list")
    return data


def checkout_dashboard(**options: Any) -> dict[str, Any]:
    """The checkout dashboard's JSON model as a dict (options as for :func:`checkout_dashboard_builder`)."""
    return to_dict(checkout_dashboard_builder(**options))


def dashboard_json(dashboard: Any = None, *, indent: int | None = 2) -> str:
    """The dashboard as JSON text with sorted keys, so a change is a small, reviewable diff (default: checkout)."""
    data = checkout_dashboard() if dashboard is None else to_dict(dashboard)
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False) + ("\n" if indent is not None else "")


def decode(dashboard: Any) -> DashboardModel:
    """Decode a dashboard's JSON into the SDK's typed model (``Dashboard.from_json``, queries typed by data source).

    Raises:
        ValidationError: the JSON does not fit the model.
    """
    from grafana_foundation_sdk.models.dashboard import Dashboard

    _register_plugins()
    data = to_dict(dashboard)
    try:
        return Dashboard.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(
            f"the JSON is not a Grafana dashboard model: {type(exc).__name__}: {exc}",
            hint="each panel needs a type and a datasource {type, uid}; each target an expr",
        ) from None


def roundtrip(dashboard: Any) -> DashboardModel:
    """Parse the dashboard JSON into the SDK model, encode it again and check nothing changed; return the model.

    A field the SDK does not know, or a value of the wrong type, shows up as a difference.

    Raises:
        ValidationError: the re-encoded JSON differs (the message shows the first differing lines).
    """
    import difflib

    before = dashboard_json(dashboard)
    model = decode(before)
    after = dashboard_json(model)
    if before != after:
        diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "json", "sdk", lineterm="", n=1))
        raise ValidationError(
            "the dashboard does not round-trip through the SDK model:\n" + "\n".join(diff[2:14]),
            hint="'-' lines are the JSON, '+' lines what the SDK's model makes of it",
        )
    return model


# --- reading --------------------------------------------------------------------------------------------------


def _panels(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in data.get("panels") or []:
        if not isinstance(panel, Mapping):
            continue
        if panel.get("type") == "row":
            yield from (p for p in panel.get("panels") or [] if isinstance(p, Mapping))
        else:
            yield panel


def _ds_type(ref: Any) -> str:
    return str(ref.get("type") or "") if isinstance(ref, Mapping) else ""


def panel_queries(dashboard: Any) -> list[tuple[str, str, str]]:
    """``(title, datasource type, expr)`` for every query of every panel, in dashboard order.

    The notebook runs the same expressions against the sandbox Prometheus (and Loki) and draws them.
    """
    out = []
    for panel in _panels(to_dict(dashboard)):
        for target in panel.get("targets") or []:
            if isinstance(target, Mapping) and target.get("expr"):
                kind = _ds_type(target.get("datasource")) or _ds_type(panel.get("datasource"))
                out.append((str(panel.get("title", "")), kind, str(target["expr"])))
    return out


def panels_frame(dashboard: Any) -> pd.DataFrame:
    """One row per panel query: ``title``, ``type``, ``datasource``, ``unit``, ``query`` (for display)."""
    import pandas as pd

    rows = []
    for panel in _panels(to_dict(dashboard)):
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit", "")
        targets = [t for t in panel.get("targets") or [] if isinstance(t, Mapping)] or [{}]
        for target in targets:
            rows.append(
                {
                    "title": panel.get("title", ""),
                    "type": panel.get("type", ""),
                    "datasource": _ds_type(target.get("datasource")) or _ds_type(panel.get("datasource")),
                    "unit": unit,
                    "query": target.get("expr", ""),
                }
            )
    return pd.DataFrame(rows, columns=["title", "type", "datasource", "unit", "query"])


# --- the ConfigMap the sidecar loads --------------------------------------------------------------------------


def dashboard_configmap(
    dashboard: Any = None,
    *,
    namespace: str = "monitoring",
    folder: str = DEFAULT_FOLDER,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Wrap a dashboard in the ConfigMap kube-prometheus-stack's Grafana sidecar loads (default: checkout).

    kube-prometheus-stack 88.5.3 sets ``grafana.sidecar.dashboards.label: grafana_dashboard`` and
    ``labelValue: "1"`` and ``searchNamespace: ALL``, so a ConfigMap labelled ``grafana_dashboard: "1"`` in any
    namespace is picked up; each data key ending in ``.json`` becomes one dashboard. The folder annotation
    (``grafana_folder: <folder>``) takes effect only when the Grafana values set
    ``grafana.sidecar.dashboards.folderAnnotation: grafana_folder`` and ``provider.foldersFromFilesStructure: true``
    (:data:`SIDECAR_FOLDER_VALUES`); the chart's default for ``folderAnnotation`` is unset.

    Args:
        dashboard: dict, JSON text or SDK builder/model.
        namespace: where the ConfigMap goes (the chart's Grafana searches all namespaces).
        folder: Grafana folder name for the annotation.
        name: ConfigMap name (default ``grafana-dashboard-<uid>``).
        labels: extra labels (course labels, e.g. ``settings.labels``).

    Raises:
        ConfigError: the name or namespace is not a DNS-1123 label, or the dashboard has no uid.
    """
    data = checkout_dashboard() if dashboard is None else to_dict(dashboard)
    uid = data.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ConfigError("the dashboard has no uid", hint="give it one: builder.uid('checkout')")
    cm_name = validate_name(name or f"grafana-dashboard-{uid.lower()}", what="ConfigMap name")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": cm_name,
            "namespace": validate_name(namespace, what="namespace"),
            "labels": {**dict(labels or {}), DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            "annotations": {FOLDER_ANNOTATION: folder},
        },
        "data": {f"{uid}.json": dashboard_json(data)},
    }


def configmap_dashboard(configmap: Mapping[str, Any]) -> dict[str, Any]:
    """The dashboard a sidecar ConfigMap carries (its one ``*.json`` data value), parsed."""
    values = [v for k, v in (configmap.get("data") or {}).items() if str(k).endswith(".json")]
    if len(values) != 1:
        raise ValidationError(f"expected one *.json data key, found {len(values)}", hint="one dashboard per ConfigMap")
    return to_dict(values[0])


# --- the "Your turn" check ------------------------------------------------------------------------------------


def _balanced(text: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    in_string = False
    for ch in text:
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack and not in_string


#: ``status=~"5.."`` (or another regex starting with 5) or ``status="500"``
_FIVE_XX = re.compile(r'status\s*(=~\s*"5[^"]*"|=\s*"5\d\d")')


def check_dashboard_panel(answer: Any) -> str:
    """Check a checkout dashboard with one panel added: the 5xx requests per second, with a unit.

    Returns:
        The success message.

    Raises:
        ExerciseError: the answer is not right yet; the hint says what to change (never the whole answer).
    """
    if answer is Ellipsis or answer is None:
        raise ExerciseError(
            "the answer is still the placeholder",
            hint="start from observe.checkout_dashboard_builder(), add a panel with .with_panel(...), answer with the builder",
        )
    try:
        data = to_dict(answer)
        decode(data)  # the SDK can read it (strict roundtrip() would also refuse harmless defaults it fills in)
    except ValidationError as exc:
        raise ExerciseError(exc.message, hint=exc.hint or "") from None
    panels = list(_panels(data))
    reference = {(s.title, s.expr) for s in CHECKOUT_PANELS}
    have = {(str(p.get("title", "")), str(t.get("expr", ""))) for p in panels for t in p.get("targets") or []}
    missing = sorted(title for title, expr in reference if (title, expr) not in have)
    if missing:
        raise ExerciseError(
            f"the four checkout panels are not all there (missing or changed: {', '.join(missing)})",
            hint="add to observe.checkout_dashboard_builder() instead of starting from an empty dashboard",
        )
    extra = [p for p in panels if (str(p.get("title", "")), _first_expr(p)) not in reference]
    if not extra:
        raise ExerciseError(
            "the dashboard has only the four checkout panels", hint="add a fifth panel with .with_panel(...)"
        )
    if len(extra) > 1:
        raise ExerciseError(f"{len(extra)} panels were added, the exercise asks for one", hint="keep just the new one")
    panel = extra[0]
    title = str(panel.get("title") or "")
    if not title.strip():
        raise ExerciseError("the new panel has no title", hint="give it one with .title(...)")
    if _ds_type(panel.get("datasource")) != "prometheus":
        raise ExerciseError(
            "the new panel does not use the Prometheus data source",
            hint=f"set .datasource(DataSourceRef(type_val='prometheus', uid='{PROMETHEUS_DATASOURCE_UID}'))",
        )
    expr = _first_expr(panel)
    compact = re.sub(r"\s+", "", expr)
    if not expr:
        raise ExerciseError(
            "the new panel has no query", hint="add a target: .with_target(prometheus.Dataquery().expr(...))"
        )
    if not _balanced(expr):
        raise ExerciseError(
            "the query's parentheses, brackets or braces do not balance",
            hint='count them: rate(metric{label=~"..."}[1m]) closes every one it opens',
        )
    metrics = set(re.findall(r"\b(checkout_[a-z_]+)\b", expr))
    if not metrics:
        raise ExerciseError(
            "the query uses no checkout metric",
            hint=f"the checkout service exports {', '.join(CHECKOUT_METRICS[:2])}",
        )
    unknown = sorted(metrics - set(CHECKOUT_METRICS))
    if unknown:
        raise ExerciseError(
            f"the checkout service does not export {', '.join(unknown)}",
            hint="it exports checkout_requests_total{status} and the checkout_request_duration_seconds histogram; "
            "failed requests are counted by status",
        )
    if "checkout_requests_total" not in metrics:
        raise ExerciseError(
            "the query does not count requests", hint="requests by HTTP status are in checkout_requests_total"
        )
    if not _FIVE_XX.search(expr):
        raise ExerciseError(
            "the query does not select the 5xx requests",
            hint="filter the selector on the status label with a regex that matches the codes starting with 5",
        )
    if not re.search(r"\b(rate|irate|increase)\(", compact) or not re.search(r"\[\d+[smh]\]", compact):
        raise ExerciseError(
            "the query reads the raw counter",
            hint="a counter only grows; wrap it in rate(...) over a range such as [1m] to get requests per second",
        )
    if "/" in compact:
        raise ExerciseError(
            "the query is a ratio; the Error ratio panel already shows that",
            hint="this panel shows how many failed requests per second, not their share",
        )
    unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
    if not unit:
        raise ExerciseError(
            "the new panel has no unit", hint="set one with .unit(...): Grafana has a unit for requests per second"
        )
    if unit in {"percent", "percentunit", "s", "ms"}:
        raise ExerciseError(
            f"the unit {unit!r} does not fit a count of requests per second",
            hint="pick Grafana's requests-per-second unit",
        )
    return f"correct: the dashboard has a fifth panel, {title!r}, showing {expr} in {unit}"


def _first_expr(panel: Mapping[str, Any]) -> str:
    for target in panel.get("targets") or []:
        if isinstance(target, Mapping) and target.get("expr"):
            return str(target["expr"])
    return ""
