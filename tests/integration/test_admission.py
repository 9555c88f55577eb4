"""Admission built into the API server, on a real kube-apiserver (the sandbox control plane, or COURSE_KUBECONFIG):
Pod Security Admission and a ValidatingAdmissionPolicy reject the bad Pod with the server's own message and admit
the good one; kubectl in a shell reaches the same cluster through Cluster.use_in_shell."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from course_lib import manifests as m
from course_lib import policy, tools
from course_lib.cluster import Cluster
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("COURSE_KUBECONFIG") and not _controlplane.available(),
        reason="needs a kube-apiserver: run `make tools` (builds the sandbox control plane)",
    ),
]


@pytest.fixture(scope="module")
def cluster(apiserver_cluster: Cluster) -> Cluster:
    return apiserver_cluster


@pytest.fixture()
def namespace_name(cluster: Cluster) -> Iterator[str]:
    name = f"course-adm-{uuid.uuid4().hex[:8]}"
    yield name
    cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _verdicts(cluster: Cluster, objects: list[dict]) -> dict[str, tuple[str, str]]:
    frame = policy.admission_attempts(cluster, objects)
    return {row["object"]: (row["API server says"], row["message"]) for _, row in frame.iterrows()}


def test_pod_security_admission_rejects_root_and_admits_restricted(cluster: Cluster, namespace_name: str) -> None:
    cluster.apply(m.pod_security_namespace(namespace_name, enforce="restricted"))
    root = policy.sample_pods(namespace=namespace_name)[1]  # no securityContext at all: runs as root
    good = m.restricted_pod("pod-restricted", namespace=namespace_name)
    got = _verdicts(cluster, [root, good])
    verdict, message = got[f"Pod/{root['metadata']['name']}"]
    assert verdict == "reject" and 'violates PodSecurity "restricted:latest"' in message
    assert "runAsNonRoot != true" in message
    assert got["Pod/pod-restricted"] == ("admit", "")


def test_the_same_root_pod_is_admitted_without_the_label(cluster: Cluster, namespace_name: str) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace_name}})
    root = policy.sample_pods(namespace=namespace_name)[1]
    assert _verdicts(cluster, [root])[f"Pod/{root['metadata']['name']}"][0] == "admit"


def test_warn_mode_admits_and_kubectl_shows_the_warning(
    cluster: Cluster, namespace_name: str, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    cluster.apply(m.pod_security_namespace(namespace_name, enforce=None, warn="restricted"))
    root = policy.sample_pods(namespace=namespace_name)[1]
    (tmp_path / "root.yaml").write_text(m.to_yaml(root))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    path = cluster.use_in_shell()
    assert os.environ["KUBECONFIG"] == path == cluster.kubeconfig
    done = subprocess.run(
        [tools.which("kubectl"), "apply", "--dry-run=server", "-f", str(tmp_path / "root.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created (server dry run)" in done.stdout
    assert 'Warning: would violate PodSecurity "restricted:latest"' in done.stderr


def test_validating_admission_policy_rejects_latest_and_untagged(cluster: Cluster, namespace_name: str) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace_name}})
    vap_name = f"pinned-{namespace_name}"
    objects = m.pinned_image_policy(name=vap_name, namespace=namespace_name)
    cluster.apply(objects)
    try:
        pods = [
            m.restricted_pod("latest", namespace=namespace_name, image="busybox:latest"),
            m.restricted_pod("untagged", namespace=namespace_name, image="registry.example:5000/busybox"),
            m.restricted_pod("pinned", namespace=namespace_name, image="busybox:1.37"),
        ]
        deadline = time.monotonic() + 15  # the policy takes a moment to reach the admission plugin
        while True:
            got = _verdicts(cluster, pods)
            if got["Pod/latest"][0] == "reject" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for name in ("latest", "untagged"):
            verdict, message = got[f"Pod/{name}"]
            assert verdict == "reject", name
            assert f"ValidatingAdmissionPolicy '{vap_name}'" in message and "pinned tag" in message
        assert got["Pod/pinned"] == ("admit", "")
    finally:
        cluster.delete(list(reversed(objects)))
