"""Turn the course's Kubernetes objects into the files the real programs read.

A ``ServiceMonitor`` becomes a Prometheus scrape config (job ``serviceMonitor/<ns>/<name>/<index>``, as the
Prometheus Operator names it), a ``PrometheusRule`` becomes a rule file, and the kube-prometheus-stack
``alertmanager.config`` values become ``alertmanager.yml``. The sandbox has no API server, so the Services a
ServiceMonitor selects are the sandbox's own processes, each described as a :class:`LocalService` with the
labels and named ports its Service would have in the cluster.

Example:
    >>> explain_selection({"metadata": {"name": "m", "namespace": "monitoring", "labels": {}}},
    ...                   {"matchLabels": {"release": "monitoring"}}).selected
    False

Used in: notebook 03.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

#: kube-prometheus-stack's default ``serviceMonitorSelector`` is ``release: <helm release name>``; Part 3 installs
#: the chart as ``monitoring``.
DEFAULT_SELECTOR: dict[str, Any] = {"matchLabels": {"release": "monitoring"}}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_WINDOW = re.compile(r"\[(\d+[smhdwy])\]")


@dataclass(frozen=True)
class LocalService:
    """A sandbox process seen as the Kubernetes Service that would front it.

    Args:
        name: Service name.
        namespace: Service namespace.
        labels: Service labels (what ServiceMonitor selectors match).
        ports: port name → local TCP port.
    """

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int]


@dataclass(frozen=True)
class Selection:
    """Whether a Prometheus with a given ``serviceMonitorSelector`` picks up a ServiceMonitor, and why."""

    name: str
    selected: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {'selected' if self.selected else 'NOT selected'} — {self.reason}"


@dataclass(frozen=True)
class DerivedConfig:
    """What the sandbox derived from the Kubernetes objects."""

    scrape_configs: list[dict[str, Any]]
    rule_files: dict[str, dict[str, Any]]
    selections: list[Selection] = field(default_factory=list)


def _match_expression(labels: Mapping[str, str], expr: Mapping[str, Any]) -> tuple[bool, str]:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or [])
    has = key in labels
    if op == "In":
        return has and labels[key] in values, f"{key} in {values}"
    if op == "NotIn":
        return not has or labels[key] not in values, f"{key} not in {values}"
    if op == "Exists":
        return has, f"{key} exists"
    if op == "DoesNotExist":
        return not has, f"{key} does not exist"
    raise ConfigError(
        f"unknown label selector operator {op!r}", hint="use one of In, NotIn, Exists, DoesNotExist", key=key
    )


def match_labels(labels: Mapping[str, str], selector: Mapping[str, Any] | None) -> tuple[bool, list[str]]:
    """Evaluate a Kubernetes label selector; return (matches, list of unmet requirements).

    An empty selector (``{}``) matches everything, as in Kubernetes.
    """
    missing: list[str] = []
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            have = f"has {key}={labels[key]!r}" if key in labels else f"has no {key!r} label"
            missing.append(f"needs {key}={value!r} but {have}")
    for expr in selector.get("matchExpressions") or []:
        ok, text = _match_expression(labels, expr)
        if not ok:
            missing.append(f"needs {text}")
    return not missing, missing


def explain_selection(service_monitor: Mapping[str, Any], selector: Mapping[str, Any] | None = None) -> Selection:
    """Explain whether Prometheus's ``serviceMonitorSelector`` selects this ServiceMonitor.

    This is the "release label" pitfall of kube-prometheus-stack: its Prometheus only watches ServiceMonitors
    labelled ``release: <helm release name>`` unless ``serviceMonitorSelectorNilUsesHelmValues`` is false.

    Args:
        service_monitor: a ServiceMonitor object (dict).
        selector: the Prometheus ``serviceMonitorSelector``; defaults to ``{"matchLabels": {"release": "monitoring"}}``.

    Example:
        >>> sm = {"metadata": {"name": "myapp", "namespace": "monitoring", "labels": {"release": "monitoring"}}}
        >>> explain_selection(sm, {"matchLabels": {"release": "kube-prometheus-stack"}}).selected
        False

    Used in: notebook 03.
    """
    meta = service_monitor.get("metadata") or {}
    name = f"{meta.get('namespace', 'default')}/{meta.get('name', '?')}"
    selector = DEFAULT_SELECTOR if selector is None else selector
    ok, missing = match_labels(meta.get("labels") or {}, selector)
    if ok:
        return Selection(name, True, f"its labels match serviceMonitorSelector {dict(selector)}")
    hint = "; ".join(missing)
    return Selection(
        name,
        False,
        f"{hint}. Prometheus ignores it silently: add the label to the ServiceMonitor's metadata.labels "
        "(or widen serviceMonitorSelector in the Helm values)",
    )


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _relabelings(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{_snake(k): v for k, v in item.items()} for item in items]


def scrape_configs_from_service_monitor(
    service_monitor: Mapping[str, Any],
    services: Iterable[LocalService],
    *,
    interval: str | None = None,
) -> list[dict[str, Any]]:
    """Derive one scrape config per endpoint of a ServiceMonitor, targeting the Services it selects.

    Args:
        service_monitor: the ServiceMonitor object.
        services: the Services that exist (in the sandbox: its processes).
        interval: override every endpoint's interval (the sandbox scrapes fast for live demos).

    Example:
        >>> from course_lib.manifests._observability import checkout_service_monitor
        >>> svc = LocalService("checkout", "default", {"app": "checkout"}, {"http": 8080})
        >>> scrape_configs_from_service_monitor(checkout_service_monitor(), [svc])[0]["job_name"]
        'serviceMonitor/default/checkout/0'

    Used in: notebook 03.
    """
    if service_monitor.get("kind") != "ServiceMonitor":
        raise ConfigError(
            f"expected a ServiceMonitor, got kind {service_monitor.get('kind')!r}",
            hint="pass an object built by course_lib.manifests service_monitor(...)",
        )
    meta, spec = service_monitor["metadata"], service_monitor.get("spec") or {}
    ns, name = meta.get("namespace", "default"), meta["name"]
    ns_sel = spec.get("namespaceSelector") or {}
    allowed_ns = None if ns_sel.get("any") else set(ns_sel.get("matchNames") or [ns])
    selected = [
        s
        for s in services
        if (allowed_ns is None or s.namespace in allowed_ns) and match_labels(s.labels, spec.get("selector") or {})[0]
    ]
    configs: list[dict[str, Any]] = []
    for index, ep in enumerate(spec.get("endpoints") or []):
        port_name = ep.get("port")
        static = [
            {
                "targets": [f"127.0.0.1:{svc.ports[port_name]}"],
                "labels": {"namespace": svc.namespace, "service": svc.name, "endpoint": port_name, "job": svc.name},
            }
            for svc in selected
            if port_name in svc.ports
        ]
        cfg: dict[str, Any] = {
            "job_name": f"serviceMonitor/{ns}/{name}/{index}",
            "metrics_path": ep.get("path", "/metrics"),
            "scheme": ep.get("scheme", "http"),
            "honor_labels": bool(ep.get("honorLabels", False)),
            "static_configs": static,
        }
        if interval or ep.get("interval"):
            cfg["scrape_interval"] = interval or ep["interval"]
        if ep.get("scrapeTimeout") and not interval:
            cfg["scrape_timeout"] = ep["scrapeTimeout"]
        if ep.get("params"):
            cfg["params"] = copy.deepcopy(ep["params"])
        if ep.get("relabelings"):
            cfg["relabel_configs"] = _relabelings(ep["relabelings"])
        if ep.get("metricRelabelings"):
            cfg["metric_relabel_configs"] = _relabelings(ep["metricRelabelings"])
        configs.append(cfg)
    return configs


def rule_file_from_prometheus_rule(prometheus_rule: Mapping[str, Any]) -> dict[str, Any]:
    """Derive the rule file the Prometheus Operator writes for a PrometheusRule (its ``spec.groups``).

    Example:
        >>> from course_lib.manifests._observability import high_node_cpu_rule
        >>> rule_file_from_prometheus_rule(high_node_cpu_rule())["groups"][0]["rules"][1]["for"]
        '5m'

    Used in: notebook 03.
    """
    if prometheus_rule.get("kind") != "PrometheusRule":
        raise ConfigError(
            f"expected a PrometheusRule, got kind {prometheus_rule.get('kind')!r}",
            hint="pass an object built by course_lib.manifests prometheus_rule(...)",
        )
    return {"groups": copy.deepcopy(prometheus_rule["spec"]["groups"])}


def live_variant(rule_file: Mapping[str, Any], *, for_: str = "10s", window: str = "20s") -> dict[str, Any]:
    """A copy of a rule file for live demos: every ``for:`` becomes ``for_`` and every range ``[..]`` ``window``.

    The real rules keep ``for: 5m`` (proved with ``promtool test rules``); the sandbox runs this short variant so
    an alert goes pending → firing → resolved within seconds. Each changed rule gets a ``sandbox_variant``
    annotation that says what was shortened.

    Example:
        >>> from course_lib.manifests._observability import high_node_cpu_rule
        >>> live = live_variant(rule_file_from_prometheus_rule(high_node_cpu_rule()))
        >>> live["groups"][0]["rules"][1]["for"]
        '10s'

    Used in: notebook 03.
    """
    out = copy.deepcopy(dict(rule_file))
    for group in out.get("groups", []):
        for rule in group.get("rules", []):
            notes = []
            new_expr = _WINDOW.sub(f"[{window}]", rule["expr"])
            if new_expr != rule["expr"]:
                notes.append(f"range windows → [{window}]")
                rule["expr"] = new_expr
            if "for" in rule:
                notes.append(f"for: {rule['for']} → {for_}")
                rule["for"] = for_
            if notes and "alert" in rule:
                rule.setdefault("annotations", {})["sandbox_variant"] = "; ".join(notes)
    return out


def rule_file_name(prometheus_rule: Mapping[str, Any]) -> str:
    """File name of a PrometheusRule's rule file: ``<namespace>-<name>.yaml``."""
    meta = prometheus_rule["metadata"]
    return f"{meta.get('namespace', 'default')}-{meta['name']}.yaml"


def derive(
    objects: Iterable[Mapping[str, Any]],
    services: Iterable[LocalService],
    *,
    selector: Mapping[str, Any] | None = None,
    interval: str | None = None,
) -> DerivedConfig:
    """Derive scrape configs (selected ServiceMonitors only) and rule files (selected PrometheusRules only).

    PrometheusRules are filtered by the same selector, as kube-prometheus-stack's ``ruleSelector`` defaults to
    the same ``release`` label.
    """
    services = list(services)
    scrape: list[dict[str, Any]] = []
    rules: dict[str, dict[str, Any]] = {}
    selections: list[Selection] = []
    for obj in objects:
        kind = obj.get("kind")
        if kind not in ("ServiceMonitor", "PrometheusRule"):
            continue
        sel = explain_selection(obj, selector)
        selections.append(sel)
        if not sel.selected:
            continue
        if kind == "ServiceMonitor":
            scrape.extend(scrape_configs_from_service_monitor(obj, services, interval=interval))
        else:
            rules[rule_file_name(obj)] = rule_file_from_prometheus_rule(obj)
    return DerivedConfig(scrape_configs=scrape, rule_files=rules, selections=selections)


def prometheus_config(
    scrape_configs: list[dict[str, Any]],
    *,
    rule_files: Iterable[str],
    alertmanager: str | None,
    self_port: int | None = None,
    scrape_interval: str = "2s",
    evaluation_interval: str = "1s",
) -> dict[str, Any]:
    """The ``prometheus.yml`` document: globals, rule files, Alertmanager, scrape configs."""
    jobs = list(scrape_configs)
    if self_port is not None:
        jobs.insert(0, {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{self_port}"]}]})
    cfg: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": list(rule_files),
        "scrape_configs": jobs,
    }
    if alertmanager:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return cfg


def alertmanager_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Extract ``alertmanager.yml`` from kube-prometheus-stack Helm values (``alertmanager.config``)."""
    try:
        cfg = values["alertmanager"]["config"]
    except (KeyError, TypeError):
        raise ConfigError(
            "the Helm values have no alertmanager.config section",
            hint="build them with course_lib.manifests alertmanager_values(webhook_url=...)",
        ) from None
    return copy.deepcopy(dict(cfg))


__all__ = [
    "DEFAULT_SELECTOR",
    "DerivedConfig",
    "LocalService",
    "Selection",
    "alertmanager_config",
    "derive",
    "explain_selection",
    "live_variant",
    "match_labels",
    "prometheus_config",
    "rule_file_from_prometheus_rule",
    "rule_file_name",
    "scrape_configs_from_service_monitor",
]
