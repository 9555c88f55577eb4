"""Datadog monitors generated offline: HCL that parses, API payloads, query checks; and the Helm install plan."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from course_lib.errors import ConfigError, ValidationError
from course_lib.observe import (
    KUBE_PROMETHEUS_STACK_VERSION,
    api_payloads,
    kube_prometheus_stack_install,
    parse_hcl,
    seed_monitors,
    terraform_hcl,
)


def test_hcl_parses_and_keeps_the_seed_queries() -> None:
    monitors = seed_monitors()
    parsed = parse_hcl(terraform_hcl(monitors))
    resources = {name: body for block in parsed["resource"] for name, body in block["datadog_monitor"].items()}
    assert list(resources) == ["latency_anomaly", "latency_high", "cpu_high", "composite_alert"]
    assert (
        "anomalies(avg:custom.checkout.latency{service:checkout-api}, 'basic', 2)"
        in resources["latency_anomaly"]["query"]
    )
    assert (
        resources["composite_alert"]["query"] == "${datadog_monitor.latency_high.id} && ${datadog_monitor.cpu_high.id}"
    )
    assert resources["latency_high"]["monitor_thresholds"][0]["critical"] == 400


def test_api_payloads_need_ids_for_the_composite() -> None:
    monitors = seed_monitors()
    with pytest.raises(ConfigError, match="ids"):
        api_payloads(monitors)
    payloads = api_payloads(monitors, ids={"latency_high": 111, "cpu_high": 222})
    assert payloads[3]["query"] == "111 && 222" and payloads[3]["type"] == "composite"
    assert payloads[0]["options"]["threshold_windows"] == {"trigger_window": "last_15m", "recovery_window": "last_15m"}
    assert payloads[1]["options"]["thresholds"] == {"critical": 400.0}


def test_validation_catches_real_mistakes() -> None:
    anomaly, latency, cpu, composite = seed_monitors()
    with pytest.raises(ValidationError, match="differs"):
        dataclasses.replace(latency, critical=500.0).validate()
    with pytest.raises(ValidationError, match="threshold windows"):
        dataclasses.replace(anomaly, threshold_windows=None).validate()
    with pytest.raises(ValidationError, match="agg"):
        dataclasses.replace(cpu, query="system.cpu.idle < 10").validate()
    with pytest.raises(ValidationError, match="unknown monitors"):
        terraform_hcl([latency, composite])
    with pytest.raises(ConfigError):
        seed_monitors(metric="Bad Metric")


def test_parse_hcl_reports_broken_text() -> None:
    with pytest.raises(ValidationError, match="does not parse"):
        parse_hcl('resource "datadog_monitor" "x" { name = ')


def test_helm_install_is_pinned_and_values_route_to_webhook() -> None:
    plan = kube_prometheus_stack_install(webhook_url="http://hook.test/alerts")
    assert f"--version {KUBE_PROMETHEUS_STACK_VERSION}" in plan.commands[-1]
    values = yaml.safe_load(plan.values_yaml)
    assert values["alertmanager"]["config"]["receivers"][0]["webhook_configs"][0]["url"] == "http://hook.test/alerts"
    assert values["prometheus"]["prometheusSpec"]["serviceMonitorSelectorNilUsesHelmValues"] is True
    with pytest.raises(ConfigError):
        kube_prometheus_stack_install(release="Bad_Name")
