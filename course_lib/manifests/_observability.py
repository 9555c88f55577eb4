"""Observability objects of Part 3: ServiceMonitors, PrometheusRules and the Alertmanager route.

The builders return plain ``dict`` objects shaped exactly like the Kubernetes objects (CRDs of the
Prometheus Operator, ``monitoring.coreos.com/v1``) and the ``kube-prometheus-stack`` Helm values, so the
same objects can be applied to a cluster or turned into local configuration by :mod:`course_lib.sandbox`.

Example:
    >>> sm = service_monitor("checkout", namespace="default", selector={"app": "checkout"}, port="http")
    >>> sm["spec"]["endpoints"][0]["port"]
    'http'

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

MONITORING_API = "monitoring.coreos.com/v1"
#: Release name of ``helm install monitoring prometheus-community/kube-prometheus-stack`` in Part 3.
RELEASE_NAME = "monitoring"
#: The label kube-prometheus-stack's default ``serviceMonitorSelector`` looks for.
RELEASE_LABEL = "release"

#: Recording rule that HighNodeCPU alerts on: the busy fraction (0..1) of all CPUs of one node.
NODE_CPU_RECORD = "instance:node_cpu:rate:sum"
NODE_CPU_EXPR = (
    'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))'
    ' / count by (instance) (node_cpu_seconds_total{mode="idle"})'
)
#: p95 latency of the checkout service over the last minute, in seconds.
CHECKOUT_P95_EXPR = "histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[1m])))"
#: The seed's Datadog monitor fires above 400 ms; the Prometheus rule keeps that threshold.
CHECKOUT_LATENCY_THRESHOLD_S = 0.4


def _metadata(name: str, namespace: str, labels: dict[str, str] | None) -> dict[str, Any]:
    if not name or not namespace:
        raise ConfigError(
            "an object needs a name and a namespace",
            hint="pass both, e.g. name='checkout', namespace='default'",
            name=name,
            namespace=namespace,
        )
    return {"name": name, "namespace": namespace, "labels": dict(labels or {})}


def service_monitor(
    name: str,
    *,
    namespace: str = "monitoring",
    selector: dict[str, str],
    port: str,
    path: str = "/metrics",
    interval: str | None = "30s",
    labels: dict[str, str] | None = None,
    namespaces: list[str] | None = None,
    honor_labels: bool = False,
) -> dict[str, Any]:
    """Build a ``ServiceMonitor``: "scrape port ``port`` of the Services labelled ``selector``".

    Args:
        name: object name.
        namespace: namespace of the ServiceMonitor itself.
        selector: ``matchLabels`` of the Services to scrape.
        port: the *name* of the Service port (not its number).
        path: HTTP path of the metrics.
        interval: scrape interval, or ``None`` for Prometheus's global one.
        labels: labels of the ServiceMonitor. Defaults to ``{"release": "monitoring"}`` so that the
            kube-prometheus-stack installed in Part 3 selects it; pass ``{}`` to see the pitfall.
        namespaces: namespaces of the Services; ``None`` means the ServiceMonitor's own namespace.
        honor_labels: keep the labels the target exposes (needed for the Pushgateway).

    Example:
        >>> service_monitor("myapp-monitor", selector={"app": "myapp"}, port="http")["metadata"]["labels"]
        {'release': 'monitoring'}

    Used in: notebook 03.
    """
    if not selector:
        raise ConfigError(
            f"ServiceMonitor {name!r} needs a Service selector",
            hint="pass selector={'app': '<service label>'}; an empty selector would match every Service",
        )
    if not port:
        raise ConfigError(
            f"ServiceMonitor {name!r} needs a port name", hint="pass port='http' (the Service port's name)"
        )
    endpoint: dict[str, Any] = {"port": port, "path": path}
    if interval:
        endpoint["interval"] = interval
    if honor_labels:
        endpoint["honorLabels"] = True
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)}, "endpoints": [endpoint]}
    if namespaces:
        spec["namespaceSelector"] = {"matchNames": list(namespaces)}
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": _metadata(name, namespace, {RELEASE_LABEL: RELEASE_NAME} if labels is None else labels),
        "spec": spec,
    }


def prometheus_rule(
    name: str,
    *,
    namespace: str = "monitoring",
    groups: list[dict[str, Any]],
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Build a ``PrometheusRule`` holding rule groups (recording and alerting rules).

    Args:
        name: object name.
        namespace: namespace of the object.
        groups: ``[{"name": ..., "rules": [...]}]`` as in a Prometheus rule file.
        labels: labels; defaults to ``{"release": "monitoring"}`` (see :func:`service_monitor`).

    Example:
        >>> r = prometheus_rule("demo", groups=[{"name": "g", "rules": [{"record": "x:y", "expr": "1"}]}])
        >>> r["spec"]["groups"][0]["rules"][0]["record"]
        'x:y'

    Used in: notebook 03.
    """
    if not groups:
        raise ConfigError(
            f"PrometheusRule {name!r} has no rule groups", hint="pass groups=[{'name': ..., 'rules': [...]}]"
        )
    for group in groups:
        if not group.get("name") or not group.get("rules"):
            raise ConfigError(
                f"PrometheusRule {name!r}: every group needs a name and at least one rule",
                hint="write each group as {'name': 'node.rules', 'rules': [{'alert': ..., 'expr': ...}]}",
                group=group.get("name"),
            )
        for rule in group["rules"]:
            if ("alert" in rule) == ("record" in rule) or not rule.get("expr"):
                raise ConfigError(
                    f"PrometheusRule {name!r}: a rule needs an expr and exactly one of 'alert' or 'record'",
                    hint="recording rules have 'record', alerting rules have 'alert' (plus optional 'for')",
                    rule=rule.get("alert") or rule.get("record"),
                )
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": _metadata(name, namespace, {RELEASE_LABEL: RELEASE_NAME} if labels is None else labels),
        "spec": {"groups": [dict(g) for g in groups]},
    }


# --- the course's own objects -------------------------------------------------------------------


def checkout_service_monitor() -> dict[str, Any]:
    """The ServiceMonitor of the checkout demo service (the seed's ``myapp-monitor``, renamed).

    Used in: notebook 03.
    """
    return service_monitor("checkout", namespace="default", selector={"app": "checkout"}, port="http")


def platform_service_monitors() -> list[dict[str, Any]]:
    """ServiceMonitors that kube-prometheus-stack brings for node-exporter, the traffic generator and Pushgateway."""
    return [
        service_monitor(
            "node-exporter",
            selector={"app.kubernetes.io/name": "prometheus-node-exporter"},
            port="http-metrics",
        ),
        service_monitor("traffic-generator", namespace="default", selector={"app": "traffic-generator"}, port="http"),
        service_monitor(
            "pushgateway",
            selector={"app.kubernetes.io/name": "prometheus-pushgateway"},
            port="http",
            honor_labels=True,
        ),
    ]


def high_node_cpu_rule() -> dict[str, Any]:
    """The seed's ``high-cpu-alert``: record ``instance:node_cpu:rate:sum``, alert above 80 % for 5 minutes.

    Used in: notebook 03.
    """
    return prometheus_rule(
        "high-cpu-alert",
        groups=[
            {
                "name": "node.rules",
                "rules": [
                    {"record": NODE_CPU_RECORD, "expr": NODE_CPU_EXPR},
                    {
                        "alert": "HighNodeCPU",
                        "expr": f"{NODE_CPU_RECORD} > 0.8",
                        "for": "5m",
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": "High CPU usage on {{ $labels.instance }}"},
                    },
                ],
            }
        ],
    )


def checkout_latency_rule() -> dict[str, Any]:
    """Checkout p95 latency above 400 ms for 5 minutes (the seed's "High Latency" monitor, in PromQL).

    Used in: notebook 03.
    """
    return prometheus_rule(
        "checkout-latency",
        namespace="default",
        groups=[
            {
                "name": "checkout.rules",
                "rules": [
                    {
                        "alert": "CheckoutHighLatency",
                        "expr": f"{CHECKOUT_P95_EXPR} > {CHECKOUT_LATENCY_THRESHOLD_S}",
                        "for": "5m",
                        "labels": {"severity": "critical", "service": "checkout"},
                        "annotations": {
                            "summary": "Checkout p95 latency is {{ $value | humanizeDuration }} (above 400ms)",
                        },
                    }
                ],
            }
        ],
    )


def alertmanager_values(
    *,
    webhook_url: str,
    group_wait: str = "30s",
    group_interval: str = "5m",
    repeat_interval: str = "4h",
) -> dict[str, Any]:
    """kube-prometheus-stack Helm values that route every alert to one webhook receiver.

    Args:
        webhook_url: where Alertmanager POSTs notifications (JSON).
        group_wait: wait before the first notification of a new group.
        group_interval: wait before notifying about changes (new or resolved alerts) in a group.
        repeat_interval: re-send a still-firing alert after this long.

    Example:
        >>> v = alertmanager_values(webhook_url="http://hook:8080/alerts")
        >>> v["alertmanager"]["config"]["route"]["receiver"]
        'course-webhook'

    Used in: notebook 03.
    """
    if not webhook_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"webhook_url must be an http(s) URL, got {webhook_url!r}", hint="e.g. http://127.0.0.1:9095/alerts"
        )
    return {
        "alertmanager": {
            "config": {
                "route": {
                    "receiver": "course-webhook",
                    "group_by": ["alertname"],
                    "group_wait": group_wait,
                    "group_interval": group_interval,
                    "repeat_interval": repeat_interval,
                },
                "receivers": [
                    {"name": "course-webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
                ],
            }
        }
    }


def observability_objects(*, labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """All Part 3 Kubernetes objects: ServiceMonitors first, then PrometheusRules.

    Args:
        labels: extra labels for every object (e.g. the course labels ``Settings.labels``); an object's own
            labels such as ``release`` win on a clash, so Prometheus still selects it.

    Example:
        >>> [o["kind"] for o in observability_objects()][-2:]
        ['PrometheusRule', 'PrometheusRule']

    Used in: notebook 03 (and by the sandbox, which derives its configuration from them).
    """
    objects = [checkout_service_monitor(), *platform_service_monitors(), high_node_cpu_rule(), checkout_latency_rule()]
    for obj in objects:
        obj["metadata"]["labels"] = {**dict(labels or {}), **obj["metadata"]["labels"]}
    return objects


__all__ = [
    "CHECKOUT_LATENCY_THRESHOLD_S",
    "CHECKOUT_P95_EXPR",
    "MONITORING_API",
    "NODE_CPU_EXPR",
    "NODE_CPU_RECORD",
    "RELEASE_LABEL",
    "RELEASE_NAME",
    "alertmanager_values",
    "checkout_latency_rule",
    "checkout_service_monitor",
    "high_node_cpu_rule",
    "observability_objects",
    "platform_service_monitors",
    "prometheus_rule",
    "service_monitor",
]
