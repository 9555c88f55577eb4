"""Unit tests: Kubernetes objects → Prometheus/Alertmanager configuration, and the real promtool/amtool checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from course_lib import tools
from course_lib.errors import ConfigError, SandboxError
from course_lib.manifests import _observability as obs
from course_lib.sandbox import _derive as d
from course_lib.sandbox import _promtool as pt
from course_lib.sandbox._stack import write_configs

SERVICES = [
    d.LocalService("checkout", "default", {"app": "checkout"}, {"http": 18080}),
    d.LocalService("other", "default", {"app": "other"}, {"http": 18081}),
    d.LocalService("checkout", "staging", {"app": "checkout"}, {"http": 18082}),
]


def test_service_monitor_builder_shape_and_default_release_label() -> None:
    sm = obs.service_monitor("myapp-monitor", selector={"app": "myapp"}, port="http")
    assert sm["kind"] == "ServiceMonitor" and sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"] == {"name": "myapp-monitor", "namespace": "monitoring", "labels": {"release": "monitoring"}}
    assert sm["spec"]["selector"] == {"matchLabels": {"app": "myapp"}}
    assert sm["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


@pytest.mark.parametrize(
    "kwargs",
    [{"selector": {}, "port": "http"}, {"selector": {"app": "x"}, "port": ""}],
)
def test_service_monitor_builder_rejects_bad_input(kwargs: dict) -> None:
    with pytest.raises(ConfigError) as err:
        obs.service_monitor("bad", **kwargs)
    assert err.value.hint


def test_prometheus_rule_builder_rejects_rule_without_kind() -> None:
    with pytest.raises(ConfigError, match="exactly one of 'alert' or 'record'"):
        obs.prometheus_rule("bad", groups=[{"name": "g", "rules": [{"expr": "up == 0"}]}])
    with pytest.raises(ConfigError, match="no rule groups"):
        obs.prometheus_rule("bad", groups=[])


def test_seed_rule_keeps_recording_rule_and_for_5m() -> None:
    rules = obs.high_node_cpu_rule()["spec"]["groups"][0]["rules"]
    assert rules[0]["record"] == "instance:node_cpu:rate:sum"
    assert rules[1] == {
        "alert": "HighNodeCPU",
        "expr": "instance:node_cpu:rate:sum > 0.8",
        "for": "5m",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "High CPU usage on {{ $labels.instance }}"},
    }
    latency = obs.checkout_latency_rule()["spec"]["groups"][0]["rules"][0]
    assert latency["for"] == "5m" and "checkout_request_duration_seconds_bucket" in latency["expr"]


def test_release_label_pitfall_is_explained() -> None:
    seed_like = obs.service_monitor("myapp-monitor", selector={"app": "myapp"}, port="http")
    assert d.explain_selection(seed_like).selected  # default selector: release=monitoring
    other_release = d.explain_selection(seed_like, {"matchLabels": {"release": "kube-prometheus-stack"}})
    assert not other_release.selected
    assert "release='kube-prometheus-stack'" in other_release.reason and "'monitoring'" in other_release.reason
    forgotten = obs.service_monitor("forgot", selector={"app": "myapp"}, port="http", labels={})
    sel = d.explain_selection(forgotten, {"matchLabels": {"release": "kube-prometheus-stack"}})
    assert not sel.selected and "has no 'release' label" in sel.reason and "NOT selected" in str(sel)
    assert d.explain_selection(forgotten, {}).selected  # an empty selector selects everything


def test_match_expressions() -> None:
    labels = {"release": "monitoring", "team": "shop"}
    assert d.match_labels(labels, {"matchExpressions": [{"key": "team", "operator": "In", "values": ["shop"]}]})[0]
    assert not d.match_labels(labels, {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["shop"]}]})[
        0
    ]
    assert d.match_labels(labels, {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]})[0]
    assert not d.match_labels(labels, {"matchExpressions": [{"key": "x", "operator": "Exists"}]})[0]
    with pytest.raises(ConfigError):
        d.match_labels(labels, {"matchExpressions": [{"key": "x", "operator": "Near"}]})


def test_scrape_config_job_name_targets_and_namespace() -> None:
    configs = d.scrape_configs_from_service_monitor(obs.checkout_service_monitor(), SERVICES)
    assert len(configs) == 1
    cfg = configs[0]
    assert cfg["job_name"] == "serviceMonitor/default/checkout/0"
    # only the Service in the ServiceMonitor's own namespace with the matching label
    assert [s["targets"] for s in cfg["static_configs"]] == [["127.0.0.1:18080"]]
    assert cfg["static_configs"][0]["labels"]["job"] == "checkout"
    assert cfg["scrape_interval"] == "30s" and cfg["metrics_path"] == "/metrics"
    wide = obs.service_monitor(
        "c", namespace="monitoring", selector={"app": "checkout"}, port="http", namespaces=["default", "staging"]
    )
    targets = [
        s["targets"][0]
        for s in d.scrape_configs_from_service_monitor(wide, SERVICES, interval="1s")[0]["static_configs"]
    ]
    assert targets == ["127.0.0.1:18080", "127.0.0.1:18082"]


def test_scrape_config_second_endpoint_and_relabelings() -> None:
    sm = obs.checkout_service_monitor()
    sm["spec"]["endpoints"].append(
        {
            "port": "http",
            "path": "/other",
            "honorLabels": True,
            "metricRelabelings": [{"sourceLabels": ["__name__"], "regex": "go_.*", "action": "drop"}],
        }
    )
    cfgs = d.scrape_configs_from_service_monitor(sm, SERVICES)
    assert cfgs[1]["job_name"] == "serviceMonitor/default/checkout/1"
    assert cfgs[1]["honor_labels"] is True and cfgs[1]["metrics_path"] == "/other"
    assert cfgs[1]["metric_relabel_configs"] == [{"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"}]
    with pytest.raises(ConfigError):
        d.scrape_configs_from_service_monitor(obs.high_node_cpu_rule(), SERVICES)


def test_derive_skips_unselected_objects() -> None:
    unlabelled = obs.service_monitor("other", namespace="default", selector={"app": "other"}, port="http", labels={})
    derived = d.derive([obs.checkout_service_monitor(), unlabelled, obs.high_node_cpu_rule()], SERVICES)
    assert [c["job_name"] for c in derived.scrape_configs] == ["serviceMonitor/default/checkout/0"]
    assert list(derived.rule_files) == ["monitoring-high-cpu-alert.yaml"]
    assert [s.selected for s in derived.selections] == [True, False, True]


def test_live_variant_shortens_for_and_windows_without_touching_original() -> None:
    real = d.rule_file_from_prometheus_rule(obs.checkout_latency_rule())
    live = d.live_variant(real, for_="10s", window="20s")
    rule = live["groups"][0]["rules"][0]
    assert rule["for"] == "10s" and "[20s]" in rule["expr"] and "[1m]" not in rule["expr"]
    assert "for: 5m → 10s" in rule["annotations"]["sandbox_variant"]
    assert real["groups"][0]["rules"][0]["for"] == "5m"


def test_committed_rule_files_match_the_objects() -> None:
    for obj in (obs.high_node_cpu_rule(), obs.checkout_latency_rule()):
        committed = yaml.safe_load((pt.RULES_TESTS_DIR / d.rule_file_name(obj)).read_text())
        assert committed == d.rule_file_from_prometheus_rule(obj), "regenerate data/rules-tests from the objects"


def test_alertmanager_config_from_values() -> None:
    cfg = d.alertmanager_config(obs.alertmanager_values(webhook_url="http://127.0.0.1:1/alerts", group_wait="1s"))
    assert cfg["route"]["group_wait"] == "1s"
    assert cfg["receivers"][0]["webhook_configs"] == [{"url": "http://127.0.0.1:1/alerts", "send_resolved": True}]
    with pytest.raises(ConfigError):
        d.alertmanager_config({"grafana": {}})
    with pytest.raises(ConfigError):
        obs.alertmanager_values(webhook_url="hook:8080")


def test_written_configs_pass_promtool_and_amtool(tmp_path: Path) -> None:
    ports = {
        n: 20000 + i
        for i, n in enumerate(
            ["node_exporter", "pushgateway", "checkout", "webhook", "alertmanager", "traffic", "prometheus"]
        )
    }
    selections = write_configs(tmp_path, ports)
    assert len(selections) == 6
    pt.check_prometheus_config(tmp_path / "prometheus.yml").raise_for_failure()
    pt.check_alertmanager_config(tmp_path / "alertmanager.yml").raise_for_failure()
    prom = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:20004"]
    assert "for: 10s" in (tmp_path / "rules.yaml").read_text()
    assert "for: 5m" in (tmp_path / "rules-real.yaml").read_text()


def test_promtool_check_and_test_rules_pass() -> None:
    files = sorted(pt.RULES_TESTS_DIR.glob("*.yaml"))
    rule_files = [f for f in files if not f.name.endswith("_test.yaml")]
    assert pt.check_rules(rule_files).ok
    result = pt.test_rules()
    assert result.ok, result.output
    assert "SUCCESS" in result.output


def test_promtool_test_rules_fails_when_for_changes(tmp_path: Path) -> None:
    for f in pt.RULES_TESTS_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text().replace("for: 5m", "for: 3m"))
    result = pt.test_rules([tmp_path / "course_rules_test.yaml"])
    assert not result.ok and "HighNodeCPU" in result.output
    with pytest.raises(SandboxError, match="promtool test rules"):
        result.raise_for_failure()


#: every promtool the sandbox may use: Debian's 2.x (the fallback) and the 3.x that `make tools` builds
PROMTOOLS = {"debian": shutil.which("promtool", path="/usr/bin:/usr/local/bin"), "go": tools.built("promtool")}


@pytest.mark.parametrize("origin", ["debian", "go"], ids=["debian-2.x", "make-tools-3.x"])
def test_rule_tests_give_the_same_verdicts_under_promtool_2_and_3(origin: str, tmp_path: Path) -> None:
    promtool = PROMTOOLS[origin]
    if promtool is None:
        pytest.skip(
            f"no {origin} promtool here ({'apt-get install prometheus' if origin == 'debian' else 'make tools'})"
        )
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True, check=True).stdout
    assert f"version {3 if origin == 'go' else 2}." in version
    run = [str(promtool), "test", "rules", "course_rules_test.yaml"]
    good = subprocess.run(run, cwd=pt.RULES_TESTS_DIR, capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "SUCCESS" in good.stdout, good.stdout + good.stderr
    # the exact recorded values are asserted, not just the alerts: a rate one rounding step off fails
    for f in pt.RULES_TESTS_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text().replace("value: 0.9\n", "value: 0.8999999999999999\n"))
    off = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert off.returncode == 1 and "instance:node_cpu:rate:sum" in off.stdout + off.stderr


def test_traffic_model_is_valid_openmetrics_and_marked_simulated(tmp_path: Path) -> None:
    text = pt.traffic_model_openmetrics(hours=0.5, end=1_700_000_000.0, step=60.0)
    lines = text.splitlines()
    assert lines[-1] == "# EOF"
    samples = [line for line in lines if not line.startswith("#")]
    assert samples and all('simulated="true"' in line for line in samples)
    ok = [float(line.split()[1]) for line in samples if 'status="200"' in line]
    assert len(ok) == 31 and ok == sorted(ok) and ok[-1] > 0  # counters only go up
    assert float(samples[-1].split()[2]) == 1_700_000_000.0
    with pytest.raises(SandboxError):
        pt.traffic_model_openmetrics(hours=0)
    pt.backfill(tmp_path / "data", hours=1)
    blocks = [p for p in (tmp_path / "data").iterdir() if (p / "meta.json").exists()]
    assert blocks, "promtool created no TSDB block"


def test_observability_objects_validate_against_crd_schemas() -> None:
    from course_lib.manifests import render, validate

    objects = obs.observability_objects(labels={"app.kubernetes.io/managed-by": "course-lib", "release": "x"})
    assert all(o["metadata"]["labels"]["release"] == "monitoring" for o in objects)  # own label wins
    assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "course-lib" for o in objects)
    report = validate(objects)
    assert report.ok, [r.errors for r in report.failures]
    assert {r.schema for r in report.results} == {
        "data/crds/monitoring.coreos.com/ServiceMonitor_v1.json",
        "data/crds/monitoring.coreos.com/PrometheusRule_v1.json",
    }
    assert [o["kind"] for o in render("03/observability")].count("ServiceMonitor") == 4
    broken = obs.checkout_service_monitor()
    broken["spec"]["endpoints"][0]["port"] = 8080  # a number where the CRD wants a port name
    assert not validate([broken]).ok
