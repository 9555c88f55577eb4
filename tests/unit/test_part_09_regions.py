"""Part 9: selectors and the cluster generator, ExternalDNS objects, Cluster Mesh checks, costs, the exercise."""

from __future__ import annotations

from typing import Any

import pytest

from course_lib import ConfigError, check, plots
from course_lib import manifests as m
from course_lib import provision as prov
from course_lib import regions as rg

TWO_REGIONS = {
    "matchLabels": {"env": "production"},
    "matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1", "fra1"]}],
}


@pytest.fixture
def fleet() -> list[dict[str, Any]]:
    return rg.example_clusters()


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"env": "production"}}, {"env": "production", "region": "nyc1"}, True),
        ({"matchLabels": {"env": "production"}}, {"env": "staging"}, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, {}, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, {"env": "dev"}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, {"gpu": "yes"}, True),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, {}, True),
        (TWO_REGIONS, {"env": "production", "region": "sgp1"}, False),
        (TWO_REGIONS, {"env": "production", "region": "fra1"}, True),
    ],
)
def test_selector_semantics(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert rg.selector_matches(selector, labels) is expected


@pytest.mark.parametrize(
    "bad",
    [
        {"matchLabel": {"env": "production"}},
        {"matchExpressions": [{"key": "env", "operator": "Equals", "values": ["x"]}]},
        {"matchExpressions": [{"key": "env", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"operator": "Exists"}]},
        {"matchLabels": {"replicas": 3}},
        ["env=production"],
    ],
)
def test_bad_selectors_are_refused_with_a_hint(bad: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        rg.selector_matches(bad, {})
    assert exc.value.hint


def test_match_clusters_ignores_secrets_that_are_not_clusters(fleet: list[dict[str, Any]]) -> None:
    assert rg.match_clusters(TWO_REGIONS, fleet) == ["prod-fra1", "prod-nyc1"]
    not_a_cluster = rg.cluster_secret("repo", server="https://x.example.com", labels={"env": "production"})
    not_a_cluster["metadata"]["labels"]["argocd.argoproj.io/secret-type"] = "repository"
    assert rg.match_clusters({"matchLabels": {"env": "production"}}, [not_a_cluster]) == []


def test_generated_applications_fill_the_go_template(fleet: list[dict[str, Any]]) -> None:
    appset = rg.application_set("guestbook-two", selector=TWO_REGIONS)
    apps = rg.generated_applications(appset, fleet)
    assert list(apps.application) == ["guestbook-two-prod-nyc1", "guestbook-two-prod-fra1"]
    assert list(apps.server) == ["https://prod-nyc1.k8s.ondigitalocean.com", "https://prod-fra1.k8s.ondigitalocean.com"]
    seed = m.render("09/guestbook-global")[0]
    assert len(rg.generated_applications(seed, fleet)) == 3
    with pytest.raises(ConfigError):
        rg.generated_applications({"spec": {"generators": [{"list": {}}]}}, fleet)


def test_application_set_keeps_the_full_selector_and_validates() -> None:
    appset = rg.application_set(selector=TWO_REGIONS)
    assert appset["spec"]["generators"][0]["clusters"]["selector"] == TWO_REGIONS
    only_expr = rg.application_set(selector={"matchExpressions": TWO_REGIONS["matchExpressions"]})
    assert "matchLabels" not in only_expr["spec"]["generators"][0]["clusters"]["selector"]
    assert m.validate([appset, only_expr]).ok
    with pytest.raises(ConfigError):
        rg.application_set(selector={})


def test_selector_table_marks_matches(fleet: list[dict[str, Any]]) -> None:
    table = rg.selector_table({"two": TWO_REGIONS}, fleet).set_index("cluster")
    assert table.loc["prod-nyc1", "two"] == "✓"
    assert table.loc["prod-sgp1", "two"] == ""


def test_external_dns_objects_validate_and_keep_the_token_out() -> None:
    objs = rg.external_dns_objects(domain="shop.example.org", owner_id="fra1-cluster")
    assert [o["kind"] for o in objs] == [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    ]
    container = objs[-1]["spec"]["template"]["spec"]["containers"][0]
    assert "--txt-owner-id=fra1-cluster" in container["args"]
    assert "--domain-filter=shop.example.org" in container["args"]
    assert "value" not in container["env"][0] and "secretKeyRef" in container["env"][0]["valueFrom"]
    assert m.validate(objs).ok
    with pytest.raises(ConfigError):
        rg.external_dns_objects(domain="not a domain")


def test_regional_ingress() -> None:
    ing = rg.regional_ingress("fra1", host="app.example.com", ttl=30)
    assert ing["metadata"]["annotations"] == {
        "external-dns.alpha.kubernetes.io/hostname": "app.example.com",
        "external-dns.alpha.kubernetes.io/ttl": "30",
    }
    weighted = rg.regional_ingress("fra1", route53_weight=100)["metadata"]["annotations"]
    assert weighted["external-dns.alpha.kubernetes.io/set-identifier"] == "fra1-cluster"
    assert weighted["external-dns.alpha.kubernetes.io/aws-weight"] == "100"
    with pytest.raises(ConfigError):
        rg.regional_ingress("nyc1", route53_weight=1000)
    assert ing["spec"]["rules"][0]["host"] == "app.example.com"
    assert m.validate([ing]).ok
    with pytest.raises(ConfigError):
        rg.regional_ingress("mars1")
    with pytest.raises(ConfigError):
        rg.regional_ingress("nyc1", ttl=0)


def test_dns_failover_time() -> None:
    assert rg.dns_failover_time(ttl=300, check_interval=10, failures=3, update=5).total == 335
    assert rg.dns_failover_time(ttl=60).table().iloc[-1]["seconds"] == 160
    with pytest.raises(ConfigError):
        rg.dns_failover_time(ttl=-1)


def test_clustermesh_checks_and_commands() -> None:
    good = [
        rg.MeshCluster("a", 1, "10.1.0.0/16"),
        rg.MeshCluster("b", 2, "10.2.0.0/16"),
        rg.MeshCluster("c", 3, "10.3.0.0/16"),
    ]
    assert rg.check_clustermesh(good) == []
    cmds = rg.clustermesh_commands(good)
    assert sum("connect" in c for c in cmds) == 3  # every pair once
    bad = [rg.MeshCluster("a", 0, "10.1.0.0/16"), rg.MeshCluster("a", 7, "10.1.128.0/17"), rg.MeshCluster("c", 9, "x")]
    problems = rg.check_clustermesh(bad)
    assert any("outside 1-255" in p for p in problems)
    assert any("used twice" in p for p in problems)
    assert any("overlap" in p for p in problems)
    assert any("not a network" in p for p in problems)
    with pytest.raises(ConfigError):
        rg.clustermesh_commands(good[:1])
    with pytest.raises(ConfigError):
        rg.clustermesh_commands(bad)


def test_region_costs_price_a_second_cluster_per_region() -> None:
    spec = prov.ClusterSpec.single_pool("course-second", size="s-2vcpu-4gb", count=2)
    table = rg.region_costs(spec, regions=["nyc1", "fra1"])
    assert list(table.region) == ["nyc1", "fra1"]
    expected = prov.estimate_cost(spec, load_balancers=1, volumes_gb=30, options=prov.get_options(live=False))
    assert table.usd_per_month.tolist() == [round(expected.monthly, 2)] * 2
    fig = plots.region_cost_figure(rg.region_costs(spec))
    assert len({t.name for t in fig.data}) >= 4  # one trace per geography
    with pytest.raises(ConfigError):
        rg.region_costs(spec, regions=["xyz9"])


# --- the exercise ---------------------------------------------------------------------------------


def test_exercise_accepts_the_selector_or_a_whole_application_set() -> None:
    assert check("09-appset-selector", TWO_REGIONS).passed
    assert check("09-appset-selector", rg.application_set(selector=TWO_REGIONS)).passed
    alt = {"matchExpressions": [
        {"key": "env", "operator": "In", "values": ["production"]},
        {"key": "region", "operator": "NotIn", "values": ["sgp1"]},
    ]}  # fmt: skip
    assert check("09-appset-selector", alt).passed


@pytest.mark.parametrize(
    ("answer", "fragment", "hint"),
    [
        ({"matchLabels": {"env": "production"}}, "prod-sgp1", "region"),
        ({"matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1", "fra1"]}]}, "dev-fra1", "env"),
        ({"matchLabels": {"env": "production", "region": "nyc1"}}, "misses prod-fra1", "In"),
        ({}, "every registered cluster", ""),
        ({"matchExpressions": [{"key": "region", "operator": "in", "values": ["nyc1"]}]}, "not valid", ""),
    ],
)
def test_exercise_explains_wrong_selectors(answer: dict[str, Any], fragment: str, hint: str) -> None:
    result = check("09-appset-selector", answer)
    assert not result.passed
    assert fragment in result.message
    assert hint in result.hint


def test_part_9_manifests_are_registered_and_valid() -> None:
    names = [n for n in m.registered() if n.startswith("09/")]
    assert {
        "09/external-dns",
        "09/regional-ingress",
        "09/global-service",
        "09/cluster-secrets",
        "09/guestbook-two-regions",
    } <= set(names)
    assert m.validate([o for n in names for o in m.render(n)]).ok


def test_external_dns_passes_the_course_policy() -> None:
    pattern = m.kyverno_disallow_root()["spec"]["rules"][0]["validate"]["pattern"]["spec"]["securityContext"]
    pod = rg.external_dns_objects()[-1]["spec"]["template"]["spec"]
    assert {k: pod["securityContext"].get(k) for k in pattern} == pattern
