"""How Part 3 installs kube-prometheus-stack on a cluster target: a pinned chart, explicit values, one command.

On the sandbox the same pieces run as local processes (``course_lib.sandbox.up()``); this module only renders
what a cluster target runs, so the notebook can show it and the cluster path can execute it.

Used in: notebook 03.
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass
from typing import Any

from ..config import validate_name
from ..errors import ConfigError
from ..pins import (
    KUBE_PROMETHEUS_STACK_VALUES,
    KUBE_PROMETHEUS_STACK_VERSION,
    VICTORIA_LOGS_CHART,
    VICTORIA_LOGS_COLLECTOR_CHART,
    VICTORIA_LOGS_SERVICE,
)
from ..pins import PROMETHEUS_COMMUNITY_REPO as CHART_REPO


@dataclass(frozen=True)
class HelmInstall:
    """A Helm installation: commands to run and the values file they use."""

    release: str
    namespace: str
    chart: str
    version: str
    values: dict[str, Any]
    commands: tuple[str, ...]

    @property
    def values_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.values, sort_keys=False)

    def __str__(self) -> str:
        return "\n".join(self.commands)


def kube_prometheus_stack_install(
    *,
    release: str = "monitoring",
    namespace: str = "monitoring",
    version: str = KUBE_PROMETHEUS_STACK_VERSION,
    webhook_url: str | None = None,
    retention: str = "7d",
    values_file: str = "kube-prometheus-stack.values.yaml",
) -> HelmInstall:
    """Render ``helm upgrade --install`` for kube-prometheus-stack with a pinned version and a values file.

    Args:
        release: Helm release name. The chart's Prometheus selects ServiceMonitors labelled ``release: <release>``.
        namespace: namespace to install into (created if missing).
        version: chart version to pin.
        webhook_url: when given, Alertmanager routes every alert to this webhook (see Part 3 alerting).
        retention: how long Prometheus keeps samples.
        values_file: file name the values are written to.

    Example:
        >>> print(kube_prometheus_stack_install().commands[-1])  # doctest: +ELLIPSIS
        helm upgrade --install monitoring prometheus-community/kube-prometheus-stack --namespace monitoring ...

    Used in: notebook 03.
    """
    validate_name(release, what="release")
    validate_name(namespace, what="namespace")
    values: dict[str, Any] = {
        "prometheus": {
            "prometheusSpec": {
                "retention": retention,
                # Keep the chart default (true): only ServiceMonitors/PrometheusRules labelled
                # release=<release> are selected. Part 3 shows what happens when the label is missing.
                "serviceMonitorSelectorNilUsesHelmValues": True,
                "ruleSelectorNilUsesHelmValues": True,
            }
        },
        # the chart's Grafana is AGPL-3.0: the course never installs it (course_lib.pins.GRAFANA_VERSION)
        **copy.deepcopy(KUBE_PROMETHEUS_STACK_VALUES),
    }
    if webhook_url:
        from ..manifests._observability import alertmanager_values

        values.update(alertmanager_values(webhook_url=webhook_url))
    chart = "prometheus-community/kube-prometheus-stack"
    q = shlex.quote
    commands = (
        f"helm repo add prometheus-community {CHART_REPO}",
        "helm repo update prometheus-community",
        f"helm upgrade --install {q(release)} {chart} --namespace {q(namespace)} --create-namespace "
        f"--version {q(version)} --values {q(values_file)} --wait --timeout 10m",
    )
    return HelmInstall(release, namespace, chart, version, values, commands)


def victorialogs_install(*, namespace: str = "monitoring") -> HelmInstall:
    """Render the ``helm upgrade --install`` commands for the log store on a cluster: VictoriaLogs (the program the
    sandbox runs, Apache-2.0) and its collector, a DaemonSet that ships every container's log lines to it.

    Example:
        >>> install = victorialogs_install()
        >>> install.chart, install.version
        ('vm/victoria-logs-single', '0.13.9')
        >>> print(install.commands[-1])  # doctest: +ELLIPSIS
        kubectl -n monitoring port-forward svc/vlogs-victoria-logs-single-server 9428:9428 ...

    Used in: notebook 03.
    """
    validate_name(namespace, what="namespace")
    server, collector = VICTORIA_LOGS_CHART, VICTORIA_LOGS_COLLECTOR_CHART
    q = shlex.quote
    url = f"http://{VICTORIA_LOGS_SERVICE}.{namespace}.svc:9428"
    commands = (
        f"helm repo add {server.repo_name} {server.repo_url}",
        f"helm repo update {server.repo_name}",
        f"helm upgrade --install {server.release} {server.repo_name}/{server.chart} --namespace {q(namespace)} "
        f"--create-namespace --version {server.version} --wait",
        f"helm upgrade --install {collector.release} {collector.repo_name}/{collector.chart} --namespace "
        f"{q(namespace)} --version {collector.version} --set 'remoteWrite[0].url={url}' --wait",
        f"kubectl -n {q(namespace)} port-forward svc/{VICTORIA_LOGS_SERVICE} 9428:9428   # then logs_url = "
        '"http://127.0.0.1:9428"',
    )
    return HelmInstall(
        server.release,
        namespace,
        f"{server.repo_name}/{server.chart}",
        server.version,
        {"remoteWrite": [{"url": url}]},
        commands,
    )


def kube_prometheus_stack_fullname(release: str = "monitoring") -> str:
    """The name prefix kube-prometheus-stack gives its objects for ``release`` (its ``fullname`` helper: the release
    name, plus ``-kube-prometheus-stack`` unless the release name contains it, cut to 26 characters).

    Example:
        >>> kube_prometheus_stack_fullname("monitoring")
        'monitoring-kube-prometheus'
        >>> kube_prometheus_stack_fullname("kube-prometheus-stack")
        'kube-prometheus-stack'
    """
    validate_name(release, what="release")
    name = release if "kube-prometheus-stack" in release else f"{release}-kube-prometheus-stack"
    return name[:26].rstrip("-")


def prometheus_port_forward(*, release: str = "monitoring", namespace: str = "monitoring", port: int = 9090) -> str:
    """The ``kubectl port-forward`` that opens kube-prometheus-stack's Prometheus on ``http://127.0.0.1:<port>``.

    Example:
        >>> prometheus_port_forward()
        'kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus 9090'

    Used in: notebook 03.
    """
    validate_name(namespace, what="namespace")
    service = f"{kube_prometheus_stack_fullname(release)}-prometheus"
    local = "" if port == 9090 else f"{port}:"
    return f"kubectl port-forward -n {namespace} svc/{service} {local}9090"


def prometheus_url(
    stack: Any = None, url: str | None = None, *, release: str = "monitoring", namespace: str = "monitoring"
) -> str:
    """The Prometheus a notebook queries: the sandbox's (``stack``), else the ``prometheus_url`` parameter.

    The course never dials in-cluster addresses itself: on a cluster target Prometheus is reached through a
    port-forward the learner opens, so a missing URL is an error that says exactly which one.

    Raises:
        ConfigError: no stack and no URL (the message is the port-forward to run and the value to pass), or a URL
            that is not http(s).

    Example:
        >>> prometheus_url(url="http://127.0.0.1:9090")
        'http://127.0.0.1:9090'

    Used in: notebook 03.
    """
    from ..config import is_http_url

    if stack is not None:
        return str(stack.endpoints.prometheus)
    if url is None or url == "":
        raise ConfigError(
            f"on a cluster target, run `{prometheus_port_forward(release=release, namespace=namespace)}` in a "
            'terminal and pass prometheus_url = "http://127.0.0.1:9090"',
            hint="e.g. course run --parts 3 --target kubeconfig -p prometheus_url=http://127.0.0.1:9090 (install "
            "kube-prometheus-stack first with the commands of section 2)",
        )
    if not is_http_url(url):
        raise ConfigError(
            f"prometheus_url must be an http:// or https:// URL, got {url!r}",
            hint="e.g. http://127.0.0.1:9090 (a port-forward)",
        )
    return url
