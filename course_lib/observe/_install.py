"""How Part 3 installs kube-prometheus-stack on a cluster target: a pinned chart, explicit values, one command.

On the sandbox the same pieces run as local processes (``course_lib.sandbox.up()``); this module only renders
what a cluster target runs, so the notebook can show it and the cluster path can execute it.

Used in: notebook 03.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ..config import validate_name
from ..pins import KUBE_PROMETHEUS_STACK_VERSION
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
        "grafana": {"enabled": True},
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
