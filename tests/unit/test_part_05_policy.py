"""Part 5: the disallow-root evaluation, the NetworkPolicy evaluator, charts and the exercise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import course_lib as cl
from course_lib import manifests as m
from course_lib import policy as p
from course_lib import tools
from course_lib.errors import ClusterError, ConfigError

POLICY = m.kyverno_disallow_root()


def _verdicts() -> dict[str, bool]:
    return {obj["metadata"]["name"]: p.evaluate_policy(POLICY, obj).admitted for obj in p.sample_pods()}


def test_disallow_root_verdicts_per_sample() -> None:
    assert _verdicts() == {
        "pod-nonroot": True,
        "pod-no-context": False,
        "pod-root-explicit": False,
        "pod-container-only": False,  # the pattern looks at the pod level only
        "pod-container-override": True,  # ... and misses a container that overrides it
        "deploy-root": False,  # Kyverno's auto-generated rule for pod controllers
    }


def test_reasons_name_the_path_and_effective_column() -> None:
    table = p.admission_table(POLICY, p.sample_pods()).set_index("object")
    assert table.loc["Pod/pod-root-explicit", "reason"].endswith(
        "/spec/securityContext/runAsNonRoot: expected true, found false"
    )
    assert "/spec/template/spec/securityContext" in table.loc["Deployment/deploy-root", "reason"]
    assert table.loc["Pod/pod-container-only", "all containers non-root"] == "yes"
    assert table.loc["Pod/pod-container-override", "all containers non-root"] == "no"


def test_audit_admits_but_fails_and_legacy_field_is_read() -> None:
    audit = m.kyverno_disallow_root(failure_action="Audit")
    verdict = p.evaluate_policy(audit, p.sample_pods()[1])
    assert verdict.admitted and not verdict.passed and verdict.action == "Audit"
    legacy = copy.deepcopy(POLICY)
    rule = legacy["spec"]["rules"][0]
    del rule["validate"]["failureAction"]
    rule["match"] = {"resources": {"kinds": ["Pod"]}}
    legacy["spec"]["validationFailureAction"] = "Enforce"
    assert not p.evaluate_policy(legacy, p.sample_pods()[1]).admitted


def test_unmatched_kind_wildcards_and_anchors() -> None:
    cm = m.config_map("c", namespace="default", data={})
    assert p.evaluate_policy(POLICY, cm).reason == "no rule of the policy matches this kind"
    images = copy.deepcopy(POLICY)
    images["spec"]["rules"][0]["validate"]["pattern"] = {"metadata": {"name": "pod-*"}}
    assert p.evaluate_policy(images, p.sample_pods()[0]).admitted
    assert not p.evaluate_policy(images, p.sample_pods()[-1]).admitted
    images["spec"]["rules"][0]["validate"]["pattern"] = {"spec": {"=(hostNetwork)": False}}
    with pytest.raises(ConfigError, match="anchor"):
        p.evaluate_policy(images, p.sample_pods()[0])
    with pytest.raises(ConfigError):
        p.evaluate_policy(cm, cm)


def test_selector_semantics() -> None:
    labels = {"app": "web", "tier": "front"}
    assert p.selector_matches({}, labels)
    assert p.selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, labels)
    assert not p.selector_matches(
        {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, labels
    )
    assert not p.selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert p.selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    with pytest.raises(ConfigError):
        p.selector_matches({"matchExpressions": [{"key": "x", "operator": "Gt"}]}, labels)


def test_reachability_no_policy_default_deny_and_allow() -> None:
    pods = p.demo_pods()
    assert len(p.reachability(pods, []).allowed_pairs) == 12
    deny = [m.network_policy_default_deny(), m.network_policy_allow_from()]
    matrix = p.reachability(pods, deny)
    assert matrix.allowed_pairs == []  # the gateway's own egress is denied too
    gw = next(v for v in matrix.verdicts if v.src == "ingress-gateway" and v.dst == "frontend")
    assert "egress isolated by default-deny-all" in gw.reason
    with_egress = p.reachability(pods, [*deny, p.allow_egress("gw", app="ingress-gateway", to_app="frontend", port=80)])
    assert with_egress.allowed_pairs == ["ingress-gateway → frontend"]
    frame = with_egress.to_frame()
    assert frame.loc["ingress-gateway", "frontend"] == "✅" and frame.loc["frontend", "frontend"] == "—"


def test_ports_named_ports_and_ranges() -> None:
    backend = p.demo_pods()[2]
    frontend = p.demo_pods()[1]
    pol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "backend"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}], "ports": [{"port": "http"}]}],
        },
    }
    assert p.connection(frontend, backend, [pol]).allowed  # policyTypes defaults to Ingress
    assert not p.connection(frontend, backend, [pol], port=9090).allowed
    pol["spec"]["ingress"][0]["ports"] = [{"port": 9000, "endPort": 9100}]
    assert p.connection(frontend, backend, [pol], port=9090).allowed
    pol["spec"]["ingress"][0]["ports"] = [{"port": 8080, "protocol": "UDP"}]
    assert not p.connection(frontend, backend, [pol]).allowed


def test_namespace_selectors() -> None:
    backend = p.demo_pods()[2]
    other = p.PodRef("probe", namespace="monitoring", labels={"app": "prometheus"}, ports={"http": 9090})
    peer: dict[str, Any] = {"podSelector": {"matchLabels": {"app": "prometheus"}}}
    pol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]},
    }
    assert not p.connection(other, backend, [pol]).allowed  # podSelector alone: own namespace only
    peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert p.connection(other, backend, [pol]).allowed
    peer["namespaceSelector"] = {"matchLabels": {"team": "obs"}}
    assert not p.connection(other, backend, [pol]).allowed
    assert p.connection(other, backend, [pol], namespaces={"monitoring": {"team": "obs"}}).allowed
    with pytest.raises(ConfigError):
        p.reachability([backend, backend], [])


def test_heatmap_is_small_and_deterministic() -> None:
    matrix = p.reachability(p.demo_pods(), [m.network_policy_default_deny()])
    fig = cl.plots.reachability_figure(matrix)
    assert fig.data[0].type == "heatmap" and fig.layout.height == 300
    assert (
        fig.to_json()
        == cl.plots.reachability_figure(p.reachability(p.demo_pods(), [m.network_policy_default_deny()])).to_json()
    )


def test_charts_and_comparison() -> None:
    assert p.charts()["kyverno"].version == "3.9.1"
    # the chart ships the same Kyverno release as the CLI the course builds (data/tools/pins.env)
    assert p.charts()["kyverno"].app_version == tools.read_pins()["KYVERNO_VERSION"]
    assert "--version 9.1.0" in p.FALCO_CHART.commands and "driver.kind=modern_ebpf" in p.FALCO_CHART.commands
    assert list(p.charts_table()["release"]) == ["kyverno", "falco", "external-secrets"]
    assert list(p.secrets_comparison().columns)[1:] == ["Sealed Secrets", "External Secrets Operator"]
    assert m.validate(m.render("05/sample-pods")).ok and m.validate(m.render("05/allow-gateway-egress")).ok


def test_try_on_cluster_refuses_dry_run_and_reports_rejections() -> None:
    with pytest.raises(ClusterError):
        p.try_on_cluster(cl.cluster.connect("sandbox", dry_run=True), p.sample_pods())

    class Fake:
        dry_run = False
        _api = object()

        def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
            return {"kind": kind, "metadata": {"name": name, "namespace": namespace}}  # the default ServiceAccount

        def apply(self, obj: dict[str, Any], *, dry_run: bool) -> None:
            assert dry_run
            if "securityContext" not in obj["spec"]:
                raise ClusterError("admission webhook denied the request: Running as root is not allowed")

    frame = p.try_on_cluster(Fake(), p.sample_pods()[:2])
    assert list(frame["Kyverno says"]) == ["admit", "reject"]
    assert "denied" in frame["message"][1]


def _netpol(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-backend", "namespace": "default"},
        "spec": spec,
    }


RIGHT = _netpol(
    podSelector={"matchLabels": {"app": "backend"}},
    policyTypes=["Ingress"],
    ingress=[
        {"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}
    ],
)


@pytest.mark.parametrize(
    ("answer", "passed", "fragment"),
    [
        (RIGHT, True, "only the frontend"),
        (m.to_yaml(RIGHT), True, "only the frontend"),
        (
            {**RIGHT, "spec": {**RIGHT["spec"], "ingress": [{"from": RIGHT["spec"]["ingress"][0]["from"]}]}},
            False,
            "9090",
        ),
        ({**RIGHT, "spec": {**RIGHT["spec"], "podSelector": {}}}, False, "also selects"),
        ({**RIGHT, "spec": {**RIGHT["spec"], "ingress": [{"ports": [{"port": 8080}]}]}}, False, "may reach"),
        (
            {
                **RIGHT,
                "spec": {
                    **RIGHT["spec"],
                    "ingress": [
                        {
                            "from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "frontend"}}}],
                            "ports": [{"port": 8080}],
                        }
                    ],
                },
            },
            False,
            "tools/debug",
        ),
        (
            {
                **RIGHT,
                "spec": {
                    **RIGHT["spec"],
                    "ingress": [{"from": RIGHT["spec"]["ingress"][0]["from"], "ports": [{"port": 80}]}],
                },
            },
            False,
            "cannot reach",
        ),
        ({**RIGHT, "spec": {**RIGHT["spec"], "policyTypes": ["Egress"]}}, False, "Ingress"),
        ({**RIGHT, "metadata": {"name": "x", "namespace": "shop"}}, False, "namespace"),
        ({**RIGHT, "kind": "Pod"}, False, "not a NetworkPolicy"),
    ],
)
def test_check_backend_policy(answer: Any, passed: bool, fragment: str) -> None:
    result = cl.check("05-backend-policy", answer)
    assert result.passed is passed, result
    assert fragment in result.message
    assert passed or result.hint


def test_registry_policy_checks_every_container() -> None:
    reg = p.restrict_registry_policy("registry.digitalocean.com/*")
    ours = m.checkout_deployment(image="registry.digitalocean.com/course/checkout:0.1.0")
    assert p.evaluate_policy(reg, ours).admitted
    mixed = copy.deepcopy(ours)
    mixed["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "docker.io/library/busybox"})
    verdict = p.evaluate_policy(reg, mixed)
    assert not verdict.admitted and "/spec/template/spec/containers/1/image" in verdict.reason
    table = p.admission_table(reg, [ours], non_root_column=False)
    assert list(table.columns) == ["object", "policy says", "reason"]
    two = copy.deepcopy(reg)
    two["spec"]["rules"][0]["validate"]["pattern"]["spec"]["containers"].append({"name": "x"})
    with pytest.raises(ConfigError, match="more than one"):
        p.evaluate_policy(two, ours)
