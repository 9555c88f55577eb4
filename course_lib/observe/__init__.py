"""Observability clients: Prometheus, Alertmanager and VictoriaLogs answers as tidy pandas DataFrames.

Example:
    >>> from course_lib import observe
    >>> prom = observe.Prometheus(stack.endpoints.prometheus)                       # doctest: +SKIP
    >>> prom.query_range("sum by (status) (rate(checkout_requests_total[1m]))")   # doctest: +SKIP

Every frame has a UTC ``timestamp`` column, one column per label and a float ``value``; server-side errors
raise :class:`course_lib.errors.QueryError` carrying the server's own ``error_type`` and ``error``.

Dashboards as code (``checkout_dashboard``, ``dashboard_configmap`` ...) use ``grafana-foundation-sdk``, imported
only when one of them runs.

Used in: notebook 03.
"""

from __future__ import annotations

from ._alerts import alertmanager_frame, notifications_frame, prometheus_alerts_frame, rules_frame, timeline_frame
from ._dashboards import (
    CHECKOUT_PANELS,
    PanelSpec,
    check_dashboard_panel,
    checkout_dashboard,
    checkout_dashboard_builder,
    configmap_dashboard,
    dashboard_configmap,
    dashboard_json,
    panel_queries,
    panels_frame,
    roundtrip,
)
from ._datadog import DatadogMonitor, api_payloads, parse_hcl, seed_monitors, terraform_hcl
from ._dogstatsd import (
    Datagram,
    DogStatsdListener,
    MonitorInput,
    check_monitor_inputs,
    monitor_inputs,
    monitor_inputs_frame,
    parse_datagrams,
    queryable_names,
)
from ._exercise import ERROR_RATIO_REFERENCE, CheckResult, check_error_ratio
from ._frames import matrix_frame, streams_frame, vector_frame
from ._install import (
    KUBE_PROMETHEUS_STACK_VERSION,
    HelmInstall,
    kube_prometheus_stack_install,
    prometheus_port_forward,
    prometheus_url,
    victorialogs_install,
)
from ._prometheus import Alertmanager, BuildInfo, Prometheus, latency_quantiles
from ._time import parse_duration, parse_step, parse_time
from ._victorialogs import LOGQL_TO_LOGSQL, VictoriaLogs, entries_frame, hits_frame
from ._watch import AlertWait, wait_for_alert, wait_for_notification

__all__ = [
    "Datagram",
    "DogStatsdListener",
    "MonitorInput",
    "check_monitor_inputs",
    "monitor_inputs",
    "monitor_inputs_frame",
    "queryable_names",
    "parse_datagrams",
    "CHECKOUT_PANELS",
    "ERROR_RATIO_REFERENCE",
    "KUBE_PROMETHEUS_STACK_VERSION",
    "LOGQL_TO_LOGSQL",
    "Alertmanager",
    "AlertWait",
    "BuildInfo",
    "CheckResult",
    "DatadogMonitor",
    "HelmInstall",
    "PanelSpec",
    "Prometheus",
    "VictoriaLogs",
    "alertmanager_frame",
    "api_payloads",
    "check_dashboard_panel",
    "check_error_ratio",
    "checkout_dashboard",
    "checkout_dashboard_builder",
    "configmap_dashboard",
    "dashboard_configmap",
    "dashboard_json",
    "entries_frame",
    "hits_frame",
    "kube_prometheus_stack_install",
    "prometheus_port_forward",
    "prometheus_url",
    "victorialogs_install",
    "latency_quantiles",
    "matrix_frame",
    "notifications_frame",
    "panel_queries",
    "panels_frame",
    "parse_duration",
    "parse_hcl",
    "parse_step",
    "parse_time",
    "prometheus_alerts_frame",
    "roundtrip",
    "rules_frame",
    "seed_monitors",
    "streams_frame",
    "terraform_hcl",
    "timeline_frame",
    "vector_frame",
    "wait_for_alert",
    "wait_for_notification",
]
