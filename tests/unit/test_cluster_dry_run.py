"""The sandbox Cluster is a visible dry run: plans, labels, namespaces, and clear errors for live-only calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.cluster import DRY_RUN_BANNER, connect
from course_lib.config import Settings
from course_lib.errors import ClusterError, ConfigError, ValidationError

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
"""
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "namespace": "ignored"}}


def test_sandbox_is_dry_run_and_says_so() -> None:
    cluster = connect("sandbox", dry_run=True)
    assert cluster.dry_run
    assert "DRY RUN" in repr(cluster) and "DRY RUN" in cluster._repr_html_()


def test_plan_created_then_unchanged_then_configured() -> None:
    cluster = connect("sandbox", dry_run=True, settings=Settings(run_id="r1"))
    first = cluster.apply([DEPLOY, NS], namespace="shop")
    assert first.dry_run and first.actions == ["created", "created"]
    assert [r.kind for r in first] == ["Namespace", "Deployment"]
    assert first[1].namespace == "shop" and first[0].namespace is None
    assert first[1].object["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "course-lib",
        "course-lib/run-id": "r1",
    }
    assert DRY_RUN_BANNER in repr(first) and DRY_RUN_BANNER in first._repr_html_()

    again = cluster.apply([NS, DEPLOY], namespace="shop")
    assert again.actions == ["unchanged", "unchanged"] and again[1].diff == ""

    changed = cluster.apply(DEPLOY.replace("nginx:1.27", "nginx:1.28"), namespace="shop")
    assert changed.actions == ["configured"]
    assert "-      - image: nginx:1.27" in changed[0].diff and "+      - image: nginx:1.28" in changed[0].diff
    assert changed.counts == {"configured": 1}
    assert list(changed.to_frame()["action"]) == ["configured"]


def test_each_object_keeps_its_own_namespace() -> None:
    cluster = connect("sandbox", dry_run=True)
    own = DEPLOY.replace("metadata: {name: web}", "metadata: {name: web, namespace: blue}")
    report = cluster.apply(own, namespace="green")
    assert report[0].namespace == "blue"
    assert cluster.apply(DEPLOY)[0].namespace == "default"


def test_custom_resource_scope_comes_from_crd_in_batch() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "clusterwidgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "ClusterWidget", "plural": "clusterwidgets", "singular": "clusterwidget"},
            "scope": "Cluster",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    widget = {"apiVersion": "example.com/v1", "kind": "ClusterWidget", "metadata": {"name": "w", "namespace": "x"}}
    report = connect("sandbox", dry_run=True).apply([widget, crd])
    assert [r.kind for r in report] == ["CustomResourceDefinition", "ClusterWidget"]
    assert report[1].namespace is None


def test_delete_plan_reverse_order() -> None:
    cluster = connect("sandbox", dry_run=True)
    cluster.apply([NS, DEPLOY], namespace="shop")
    report = cluster.delete(
        [NS, DEPLOY, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}], namespace="shop"
    )
    assert [(r.kind, r.action) for r in report] == [
        ("Deployment", "deleted"),
        ("ConfigMap", "not found"),
        ("Namespace", "deleted"),
    ]
    assert report.dry_run and "DRY RUN" in repr(report)
    assert cluster.apply(NS).actions == ["created"]


def test_waits_are_labelled_not_silent_and_reads_need_a_cluster() -> None:
    cluster = connect("sandbox", dry_run=True)
    result = cluster.rollout_status("web", namespace="shop")
    assert result.dry_run and "DRY RUN" in repr(result)
    assert cluster.wait("Pod", "p", namespace="shop", for_conditions=["Ready"]).dry_run
    for call in (
        lambda: cluster.logs("p", namespace="shop"),
        lambda: cluster.events("shop"),
        lambda: cluster.http_get("grafana", "/", namespace="monitoring", port=80),
    ):
        with pytest.raises(ClusterError, match="needs a real cluster") as info:
            call()
        assert "target='kubeconfig'" in info.value.hint


def test_bad_arguments_fail_before_side_effects() -> None:
    cluster = connect("sandbox", dry_run=True)
    with pytest.raises(ConfigError, match="exactly one of pod= or selector="):
        cluster.logs(namespace="x")
    with pytest.raises(ConfigError, match="for_conditions is empty"):
        cluster.wait("Pod", "p", namespace="x", for_conditions=[])
    with pytest.raises(ConfigError, match="does not support Job"):
        cluster.rollout_status("j", namespace="x", kind="Job")


def test_connect_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown target"):
        connect("minikube")
    with pytest.raises(ConfigError, match="needs the kubeconfig") as info:
        connect("doks")
    assert "notebook 01" in info.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        connect("kubeconfig", kubeconfig=tmp_path / "missing")
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: one\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: abc}}]\n"
        "contexts: [{name: one, context: {cluster: c, user: u, namespace: team}}]\n"
    )
    with pytest.raises(ConfigError, match="choose one of: one"):
        connect("kubeconfig", kubeconfig=config, context="two")
    cluster = connect("kubeconfig", kubeconfig=config)
    assert not cluster.dry_run and cluster.default_namespace == "team" and cluster.context == "one"
    assert "127.0.0.1:1" in repr(cluster)
    planned = connect("kubeconfig", kubeconfig=config, dry_run=True)
    assert planned.dry_run and "DRY RUN" in repr(planned)
    local = connect("sandbox", kubeconfig=config)  # a local control plane: real, not a dry run
    assert local.target == "sandbox" and not local.dry_run


def test_sandbox_kubeconfig_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_SANDBOX_KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="does not exist"):
        connect("sandbox", dry_run=True)
    monkeypatch.delenv("COURSE_SANDBOX_KUBECONFIG")
    assert connect("sandbox", dry_run=True).dry_run


def test_plan_validates_schemas_before_recording() -> None:
    pytest.importorskip("course_lib.manifests._validate", reason="course_lib.manifests.validate not available yet")
    cluster = connect("sandbox", dry_run=True)
    broken = DEPLOY.replace("replicas: 2", "replicas: two")
    with pytest.raises(ValidationError, match="replicas"):
        cluster.apply(broken, namespace="shop")
    report = cluster.apply(DEPLOY, namespace="shop")
    assert report.actions == ["created"]  # the broken attempt left nothing behind
    assert any(note.startswith("validated against the Kubernetes") for note in report.notes)


def test_discovery_cache_is_per_server_identity_not_per_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from course_lib.cluster._cluster import discovery_cache_file

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    old_ca, new_ca = tmp_path / "old.crt", tmp_path / "new.crt"
    old_ca.write_text("-----BEGIN CERTIFICATE-----\nold\n")
    new_ca.write_text("-----BEGIN CERTIFICATE-----\nnew\n")
    same_port = "https://127.0.0.1:32758"
    first = discovery_cache_file(SimpleNamespace(host=same_port, ssl_ca_cert=str(old_ca)))
    again = discovery_cache_file(SimpleNamespace(host=same_port, ssl_ca_cert=str(old_ca)))
    restarted = discovery_cache_file(SimpleNamespace(host=same_port, ssl_ca_cert=str(new_ca)))
    assert first == again and first != restarted
    assert Path(first).parent == tmp_path / "discovery"
