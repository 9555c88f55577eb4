"""The local sandbox: real Prometheus, Alertmanager, node_exporter and Pushgateway plus a checkout demo service,
a traffic generator and an alert webhook receiver, all as child processes on 127.0.0.1.

Their configuration is derived from the course's Kubernetes objects (ServiceMonitor → scrape config,
PrometheusRule → rule file, Alertmanager Helm values → route and receiver), so the sandbox runs what the
cluster would run.

Example:
    >>> from course_lib import sandbox
    >>> stack = sandbox.up()                     # doctest: +SKIP
    >>> stack.inject(latency_ms=600)             # doctest: +SKIP
    >>> stack.webhook_notifications()            # doctest: +SKIP
    >>> sandbox.down()                           # doctest: +SKIP

On demand, :func:`traefik_up` adds Traefik (its CRD and Gateway API providers reading the sandbox API server)
and the two checkout versions it routes to, :func:`sealed_secrets_up` the Sealed Secrets controller and
:func:`kyverno_up` Kyverno's admission controller (a webhook of the sandbox API server) and its reports
controller (PolicyReports), :func:`express_up` Part 3's checkout app (Express + DogStatsD); ``down()`` stops them
with the rest.

Used in: notebook 02 (Sealed Secrets), notebook 03, notebook 04 (Traefik), notebook 05 (Kyverno) and every
notebook that runs on ``target="sandbox"``.
"""

from __future__ import annotations

from . import _crds as crds
from ._derive import (
    DEFAULT_SELECTOR,
    LocalService,
    Selection,
    explain_selection,
    live_variant,
    rule_file_from_prometheus_rule,
    scrape_configs_from_service_monitor,
)
from ._express import ExpressApp, express_down, express_up
from ._kyverno import (
    KyvernoEndpoints,
    kyverno_down,
    kyverno_endpoints,
    kyverno_up,
)
from ._promtool import RULES_TESTS_DIR, ToolResult, check_rules, test_rules
from ._sealed_secrets import (
    SealedSecretsController,
    sealed_secrets_controller,
    sealed_secrets_down,
    sealed_secrets_up,
)
from ._stack import (
    Faults,
    SandboxOverview,
    ServiceStatus,
    Stack,
    StackEndpoints,
    StackStatus,
    down,
    isolated,
    overview,
    state_file,
    status,
    stop_stack,
    up,
)
from ._traefik import (
    TraefikEndpoints,
    is_loopback_url,
    traefik_down,
    traefik_endpoints,
    traefik_service_monitor,
    traefik_up,
)

__all__ = [
    "DEFAULT_SELECTOR",
    "ExpressApp",
    "express_down",
    "express_up",
    "crds",
    "RULES_TESTS_DIR",
    "Faults",
    "KyvernoEndpoints",
    "LocalService",
    "SandboxOverview",
    "Selection",
    "SealedSecretsController",
    "ServiceStatus",
    "Stack",
    "StackEndpoints",
    "StackStatus",
    "ToolResult",
    "TraefikEndpoints",
    "check_rules",
    "down",
    "stop_stack",
    "explain_selection",
    "is_loopback_url",
    "isolated",
    "kyverno_down",
    "kyverno_endpoints",
    "kyverno_up",
    "live_variant",
    "overview",
    "rule_file_from_prometheus_rule",
    "scrape_configs_from_service_monitor",
    "sealed_secrets_controller",
    "sealed_secrets_down",
    "sealed_secrets_up",
    "state_file",
    "status",
    "test_rules",
    "traefik_down",
    "traefik_endpoints",
    "traefik_service_monitor",
    "traefik_up",
    "up",
]
