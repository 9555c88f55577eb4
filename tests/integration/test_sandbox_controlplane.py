"""The sandbox's real control plane: kube-apiserver, etcd, controller-manager, scheduler and kwok nodes."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from course_lib import cluster as kc
from course_lib.sandbox import _controlplane as cp

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tools,
    pytest.mark.skipif(
        not cp.available(),
        reason=f"the control plane is not built ({', '.join(cp.missing_binaries())}): run `make tools`",
    ),
]


@pytest.fixture(scope="module")
def plane() -> cp.ControlPlane:
    return cp.cluster_up(nodes=3)


@pytest.fixture
def namespace(plane: cp.ControlPlane):  # one labelled namespace per test, removed after
    cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"course-test": "1"}}})
    yield cluster, name
    cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_nodes_are_simulated_and_ready(plane: cp.ControlPlane) -> None:
    out = subprocess.run(
        ["kubectl", "--kubeconfig", plane.kubeconfig, "get", "nodes", "--no-headers"],
        capture_output=True, text=True, check=True,
        env=cp._env(cp._root()),
    ).stdout  # fmt: skip
    rows = [line.split() for line in out.strip().splitlines()]
    assert len(rows) == 3
    assert all(r[1] == "Ready" for r in rows), out
    assert plane.server.startswith("https://127.0.0.1:")


def test_up_reuses_the_running_control_plane(plane: cp.ControlPlane) -> None:
    again = cp.cluster_up(nodes=3)
    assert again == plane
    status = cp.cluster_status()
    assert status["recorded"] and status["healthy"]


def test_connect_gives_a_real_cluster(plane: cp.ControlPlane) -> None:
    cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
    assert not cluster.dry_run
    assert cluster.server_version().startswith("v1.37")
    assert kc.connect("sandbox", dry_run=True).dry_run  # dry run stays available for teaching
    assert kc.connect("sandbox").dry_run  # the cluster layer never starts (or finds) a control plane itself


def test_the_session_starts_the_control_plane_and_connects_to_it(plane: cp.ControlPlane) -> None:
    import course_lib as cl

    with cl.start(target="sandbox") as session:
        assert session.capabilities.live_api and session.capabilities.runs("kube-scheduler")
        assert not session.cluster.dry_run
        assert session.kubeconfig == plane.kubeconfig  # reused, not restarted
        assert "apps" in session.cluster.api_groups()
    assert cp.control_plane_healthy(plane)  # a reused control plane outlives the session that reused it


def test_deployment_gets_three_running_pods(namespace) -> None:
    cluster, ns = namespace
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    first = cluster.apply(deploy)
    assert first.actions == ["created"]
    assert cluster.apply(deploy).actions == ["unchanged"]
    cluster.rollout_status("web", namespace=ns, timeout=60)
    pods = cluster.list("Pod", namespace=ns)
    phases = sorted(p["status"]["phase"] for p in pods)
    assert phases == ["Running"] * 3
    assert all(p["metadata"]["labels"]["app"] == "web" for p in pods)
    obj = cluster.get("Deployment", "web", namespace=ns)
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "course-lib"
    managers = {m["manager"] for m in obj["metadata"]["managedFields"]}
    assert "course-lib" in managers


def test_scaling_changes_the_pod_count(namespace) -> None:
    cluster, ns = namespace
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": ns},
        "data": {"a": "1"},
    }
    assert cluster.apply(cm).actions == ["created"]
    cm["data"]["a"] = "2"
    assert cluster.apply(cm).actions == ["configured"]
    assert cluster.get("ConfigMap", "settings", namespace=ns)["data"] == {"a": "2"}
