"""Cluster against a real kube-apiserver: server-side apply, results, conflicts, CRDs, waits, delete.

These run against ``COURSE_KUBECONFIG`` when it points at a disposable cluster (kind, minikube ...), and otherwise
against the sandbox's own control plane (kube-apiserver + etcd + controller-manager + scheduler + kwok) when
``make tools`` has built it.
Each test works in its own uuid-named namespace, labelled by the course so leftovers can be found.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from course_lib.cluster import Cluster, connect
from course_lib.config import Settings
from course_lib.errors import ClusterError
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("COURSE_KUBECONFIG") and not _controlplane.available(),
        reason="needs a kube-apiserver: run `make tools` (builds the sandbox control plane), "
        "or set COURSE_KUBECONFIG to a disposable cluster's kubeconfig",
    ),
]


@pytest.fixture(scope="module")
def kubeconfig(apiserver_kubeconfig: str) -> str:
    return apiserver_kubeconfig


@pytest.fixture()
def cluster(kubeconfig: str) -> Iterator[Cluster]:
    c = connect("kubeconfig", kubeconfig=kubeconfig, settings=Settings(target="kubeconfig"))
    yield c
    c.close()


@pytest.fixture()
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"course-test-{uuid.uuid4().hex[:8]}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def config_map(name: str, namespace: str, value: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": value},
    }


def test_apply_created_unchanged_configured(cluster: Cluster, namespace: str) -> None:
    assert cluster.apply(config_map("a", namespace, "1")).actions == ["created"]
    assert cluster.apply(config_map("a", namespace, "1")).actions == ["unchanged"]
    changed = cluster.apply(config_map("a", namespace, "2"))
    assert changed.actions == ["configured"] and "+  k: '2'" in changed[0].diff
    live = cluster.get("ConfigMap", "a", namespace=namespace)
    assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "course-lib"
    assert any(m["manager"] == "course-lib" and m["operation"] == "Apply" for m in live["metadata"]["managedFields"])
    planned = cluster.apply(config_map("a", namespace, "3"), dry_run=True)
    assert planned.dry_run and planned.actions == ["configured"]
    assert cluster.get("ConfigMap", "a", namespace=namespace)["data"] == {"k": "2"}


def test_conflict_then_force(cluster: Cluster, namespace: str) -> None:
    cluster.apply(config_map("owned", namespace, "1"), field_manager="someone-else")
    with pytest.raises(ClusterError) as info:
        cluster.apply(config_map("owned", namespace, "2"))
    assert info.value.context["reason"] == "Conflict"
    assert cluster.apply(config_map("owned", namespace, "2"), force=True).actions == ["configured"]


def test_invalid_object_reports_field(cluster: Cluster, namespace: str) -> None:
    bad = config_map("Not_Valid", namespace, "1")
    with pytest.raises(ClusterError) as info:
        cluster.apply(bad)
    assert info.value.context["reason"] == "Invalid" and "metadata.name" in str(info.value)


def widget_crd(group: str) -> dict[str, object]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
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


def test_crd_and_custom_resource_in_one_apply(cluster: Cluster, namespace: str) -> None:
    group = f"t{uuid.uuid4().hex[:6]}.course.example"
    crd = widget_crd(group)
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": namespace}}
    try:
        report = cluster.apply([widget, crd])
        assert [r.kind for r in report] == ["CustomResourceDefinition", "Widget"]
        assert report.actions == ["created", "created"]
        established = cluster.wait(
            "CustomResourceDefinition",
            f"widgets.{group}",
            namespace=None,
            api_version="apiextensions.k8s.io/v1",
            for_conditions=["Established"],
            timeout=30,
        )
        assert established.condition == "Established"
    finally:
        assert cluster.delete([widget, crd]).actions == ["deleted", "deleted"]


def test_custom_resource_right_after_a_crd_only_apply(cluster: Cluster, namespace: str) -> None:
    """A batch of only CRDs, then their objects in the next call (notebook 08's order): the first apply returns
    once discovery serves the new kinds, so the second never meets a stale cache. Five fresh groups, because the
    gap between Established and discovery is a race that one try can miss."""
    groups = [f"t{uuid.uuid4().hex[:6]}.course.example" for _ in range(5)]
    crds = [widget_crd(g) for g in groups]
    widgets = [
        {"apiVersion": f"{g}/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": namespace}} for g in groups
    ]
    try:
        for crd, widget in zip(crds, widgets, strict=True):
            assert cluster.apply([crd]).actions == ["created"]
            assert cluster.apply(widget).actions == ["created"]
    finally:
        cluster.delete([*widgets, *crds])


def test_delete_tolerates_missing(cluster: Cluster, namespace: str) -> None:
    assert cluster.delete(config_map("never", namespace, "1")).actions == ["not found"]


def test_service_proxy_and_reads(cluster: Cluster, namespace: str) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"app": "nothing-matches"}, "ports": [{"port": 80}]},
    }
    cluster.apply(service)
    with pytest.raises(ClusterError) as info:  # no pods behind it: the API server's proxy answers 503
        cluster.http_get("web", "/", namespace=namespace, port=80, timeout=10)
    assert info.value.context["reason"] == "ServiceUnavailable"
    with pytest.raises(ClusterError) as missing:
        cluster.logs("no-such-pod", namespace=namespace)
    assert missing.value.context["reason"] == "NotFound"
    frame = cluster.events(namespace)
    assert list(frame.columns) == ["time", "type", "reason", "object", "message", "count"]


def _complete_status_later(cluster: Cluster, namespace: str, delay: float) -> threading.Thread:
    """Play the Deployment controller: after ``delay`` s, report one updated, available replica."""
    from kubernetes import client

    def run() -> None:
        time.sleep(delay)
        counts = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        body = {"status": {"observedGeneration": 1, **counts}}
        client.AppsV1Api(cluster._api).patch_namespaced_deployment_status("web", namespace, body)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_rollout_status(cluster: Cluster, namespace: str) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    }
    cluster.apply(deploy)
    # with a controller manager and kwok the real controllers finish the rollout; on a bare API server this
    # thread writes the status a controller would, so the watch still has something to follow
    thread = _complete_status_later(cluster, namespace, 2.0)
    result = cluster.rollout_status("web", namespace=namespace, timeout=120, progress=False)
    assert result.condition == "rollout complete (1/1)" and result.seconds >= 0
    thread.join(timeout=10)
