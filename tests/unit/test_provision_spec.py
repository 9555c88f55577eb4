"""ClusterSpec validation, the offline options snapshot and the exercise checks (no network)."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError

import pytest

from course_lib.errors import ConfigError, ExerciseError
from course_lib.provision import (
    MAX_NODES_PER_POOL,
    ClusterSpec,
    NodePool,
    check_budget_spec,
    check_leftover_kinds,
    get_options,
    snapshot_options,
)
from course_lib.provision._options import data_dir


def test_snapshot_is_dated_sourced_and_priced() -> None:
    raw = json.loads((data_dir() / "sizes.json").read_text())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw["_about"]["snapshot_date"])
    assert "change" in raw["_about"]["note"].lower() and raw["_about"]["source"]
    opts = snapshot_options()
    assert opts.source == "snapshot" and opts.snapshot_date == raw["_about"]["snapshot_date"]
    # every DOKS size in options.json has a price, and hourly = monthly / 672 (DOKS' 28-day cap)
    listed = {s["slug"] for s in json.loads((data_dir() / "options.json").read_text())["options"]["sizes"]}
    assert set(opts.size_slugs) == listed
    for size in opts.sizes:
        assert size.price_hourly == pytest.approx(size.price_monthly / 672, abs=6e-6), size.slug
        assert size.vcpus >= 1 and size.memory_mb >= 1024


def test_get_options_without_token_uses_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    assert get_options().source == "snapshot"
    table = get_options(live=False).table("sizes")
    assert list(table["usd_per_hour"]) == sorted(table["usd_per_hour"])


def test_valid_spec_body_always_carries_course_tag() -> None:
    spec = ClusterSpec.single_pool("course-ada", region="fra1", size="s-4vcpu-8gb", count=3, tags=("team-a",))
    body = spec.validate(snapshot_options()).to_body()
    assert body["name"] == "course-ada" and body["region"] == "fra1" and body["version"] == "latest"
    assert body["tags"] == ["k8s-course", "team-a"]
    assert body["node_pools"] == [{"name": "worker-pool", "size": "s-4vcpu-8gb", "count": 3, "tags": ["k8s-course"]}]
    with pytest.raises(FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]


def test_autoscale_pool_body() -> None:
    pool = NodePool(size="s-2vcpu-4gb", count=2, auto_scale=True, min_nodes=1, max_nodes=4)
    assert pool.to_body()["auto_scale"] is True
    assert (pool.to_body()["min_nodes"], pool.to_body()["max_nodes"], pool.worst_case_nodes) == (1, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "Course_Ada"}, "DNS-1123"),
        ({"name": "a" * 64}, "DNS-1123"),
        ({"name": "-ada"}, "DNS-1123"),
        ({"name": "ok", "region": "New York"}, "region slug"),
        ({"name": "ok", "version": "v1.33"}, "format"),
        ({"name": "ok", "version": "1.33.1"}, "format"),
        ({"name": "ok", "node_pools": ()}, "at least one node pool"),
        ({"name": "ok", "node_pools": (NodePool(), NodePool())}, "repeat"),
        ({"name": "ok", "tags": "k8s-course"}, "list of strings"),
        ({"name": "ok", "tags": ("has space",)}, "not a valid DigitalOcean tag"),
    ],
)
def test_bad_cluster_spec(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)) as info:
        ClusterSpec(**kwargs)  # type: ignore[arg-type]
    assert info.value.hint


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"count": 0}, "between 1 and"),
        ({"count": MAX_NODES_PER_POOL + 1}, "between 1 and"),
        ({"count": 2.5}, "whole number"),
        ({"count": True}, "whole number"),
        ({"auto_scale": True}, "min_nodes/max_nodes are not set"),
        ({"auto_scale": True, "min_nodes": 3, "max_nodes": 2, "count": 2}, "greater than max_nodes"),
        ({"auto_scale": True, "min_nodes": 1, "max_nodes": 2, "count": 3}, "outside"),
        ({"auto_scale": True, "min_nodes": 0, "max_nodes": 2, "count": 1}, "min_nodes is 0"),
        ({"min_nodes": 1}, "auto_scale is False"),
        ({"name": "Pool"}, "DNS-1123"),
    ],
)
def test_bad_node_pool(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        NodePool(**kwargs)  # type: ignore[arg-type]


def test_catalog_checks_name_close_matches() -> None:
    opts = snapshot_options()
    with pytest.raises(ConfigError, match="does not offer Kubernetes") as info:
        ClusterSpec(name="ok", region="nyc9").validate(opts)
    assert "did you mean 'nyc1'" in info.value.hint or "nyc3" in info.value.hint
    with pytest.raises(ConfigError, match="not a DOKS node size") as info:
        ClusterSpec.single_pool("ok", size="s-2vcpu-4g").validate(opts)
    assert "did you mean 's-2vcpu-4gb'" in info.value.hint
    with pytest.raises(ConfigError, match="not offered"):
        ClusterSpec(name="ok", version="1.20").validate(opts)
    with pytest.raises(ConfigError, match="not offered"):
        ClusterSpec(name="ok", version="1.33.0-do.9").validate(opts)
    minor = ".".join(opts.versions[0].slug.split(".")[:2])  # e.g. "1.34"
    assert ClusterSpec(name="ok", version=minor).validate(opts).version == minor
    assert ClusterSpec(name="ok", version=opts.versions[0].slug).validate(opts)


def test_check_budget_spec_right_and_wrong() -> None:
    ok = check_budget_spec(ClusterSpec.single_pool("course-ada", size="s-2vcpu-4gb", count=2))
    assert ok.startswith("✅") and "$75.00" in ok
    with pytest.raises(ExerciseError, match="at least 4 GiB"):
        check_budget_spec(ClusterSpec.single_pool("course-ada", size="s-2vcpu-2gb", count=3))
    with pytest.raises(ExerciseError, match="1 node"):
        check_budget_spec(ClusterSpec.single_pool("course-ada", size="s-4vcpu-8gb", count=1))
    with pytest.raises(ExerciseError, match=r"over the \$80.00 budget.*s-4vcpu-8gb"):
        check_budget_spec(ClusterSpec.single_pool("course-ada", size="s-4vcpu-8gb", count=2))
    with pytest.raises(ExerciseError, match="over the"):
        check_budget_spec(ClusterSpec.single_pool("course-ada", count=2, ha=True))
    with pytest.raises(ExerciseError, match="not valid yet"):
        check_budget_spec(ClusterSpec.single_pool("course-ada", region="xyz1"))
    with pytest.raises(ExerciseError, match="expected a ClusterSpec"):
        check_budget_spec({"size": "s-2vcpu-4gb"})


def test_check_leftover_kinds_right_and_wrong() -> None:
    assert check_leftover_kinds(["load_balancer", "Volume", "snapshot"]).startswith("✅")
    with pytest.raises(ExerciseError, match="not droplet: worker nodes"):
        check_leftover_kinds({"droplet", "load_balancer", "volume", "snapshot"})
    with pytest.raises(ExerciseError, match="LoadBalancer") as info:
        check_leftover_kinds({"volume", "snapshot"})
    assert "load_balancer" in info.value.hint
    with pytest.raises(ExerciseError, match="unknown kind"):
        check_leftover_kinds({"firewall"})


def _sandbox_minor() -> tuple[int, int]:
    from course_lib import tools

    major, minor, *_ = tools.read_pins()["KUBERNETES_VERSION"].lstrip("v").split(".")
    return int(major), int(minor)


def test_the_snapshot_offers_versions_no_older_than_the_sandbox_minus_three() -> None:
    """A snapshot whose newest DOKS version is more than three minors behind the sandbox's Kubernetes is stale
    (upstream supports three minors at a time): refresh options.json."""
    major, minor = _sandbox_minor()
    newest = max(tuple(int(x) for x in v.kubernetes_version.split(".")[:2]) for v in snapshot_options().versions)
    assert newest >= (major, minor - 3), f"options.json's newest version {newest} is older than 1.{minor - 3}"


def test_offline_validation_uses_the_sandbox_kubernetes_minor() -> None:
    from kubernetes_validate import utils as kv

    from course_lib.manifests import DEFAULT_KUBE_VERSION

    major, minor = _sandbox_minor()
    assert f"{major}.{minor}" == DEFAULT_KUBE_VERSION
    assert f"{major}.{minor}.0" in kv.all_versions()  # kubernetes-validate ships that version's schemas
