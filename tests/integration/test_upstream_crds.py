"""Upstream's own CRDs on the sandbox's API server, and the course's authored schemas held against them.

The CRDs come from the projects' Go modules (``course sandbox crds``, run by ``make tools``). Every custom resource
the course renders must be accepted by the real API server with upstream's CRD installed, and every mutation that
the authored schemas in ``data/crds`` reject (tests/unit/test_crd_mutations.py) must be rejected by the server too:
where the two disagree, the authored schema is wrong about upstream.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib import ClusterError
from course_lib.cluster import Cluster
from course_lib.sandbox import _controlplane, crds
from tests.unit.test_crd_mutations import CUSTOM, mutations

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("COURSE_KUBECONFIG") and not _controlplane.available(),
        reason="needs a kube-apiserver: run `make tools` (builds the sandbox control plane)",
    ),
    pytest.mark.skipif(
        not crds.available(), reason="upstream CRDs not fetched: run `make tools` (course sandbox crds)"
    ),
]


@pytest.fixture(scope="module")
def cluster(apiserver_cluster: Cluster) -> Cluster:
    crds.install(apiserver_cluster)
    for crd in crds.load():
        apiserver_cluster.wait(
            "CustomResourceDefinition",
            crd["metadata"]["name"],
            namespace=None,
            api_version="apiextensions.k8s.io/v1",
            for_conditions=["Established"],
            timeout=60,
        )
    return apiserver_cluster


@pytest.fixture(scope="module")
def namespaces(cluster: Cluster) -> Iterator[None]:
    """Every namespace the course's custom resources live in (a dry run into a missing namespace is refused)."""
    names = sorted({str(o["metadata"]["namespace"]) for _, o in CUSTOM if o["metadata"].get("namespace")})
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
    cluster.apply(objects)
    yield


UPSTREAM = {(e.group, e.kind) for e in crds.manifest()}


def _upstream(obj: dict[str, Any]) -> bool:
    return (obj["apiVersion"].rpartition("/")[0], obj["kind"]) in UPSTREAM


#: How the API server refuses an object its CRD's schema does not allow: validation (422 Invalid) or, for a field
#: the structural schema does not declare or a value of the wrong type, server-side apply's typed-patch error.
SCHEMA_REJECTIONS = ("Invalid:", "failed to create typed patch object")

COVERED = [(name, obj) for name, obj in CUSTOM if _upstream(obj)]


def _server_verdict(cluster: Cluster, obj: dict[str, Any]) -> str | None:
    """``None`` when a server-side dry run admits the object, else the server's message."""
    candidate = copy.deepcopy(obj)
    candidate["metadata"]["name"] = f"{candidate['metadata']['name'][:40]}-{uuid.uuid4().hex[:6]}"
    try:
        cluster.apply(candidate, dry_run=True)
    except ClusterError as exc:
        return exc.message
    return None


def test_the_fetched_crds_cover_the_projects_the_course_installs() -> None:
    projects = {e.project for e in crds.manifest()}
    assert {
        "Argo CD",
        "Kyverno",
        "CloudNativePG",
        "Traefik",
        "Istio",
        "Prometheus Operator",
        "Sealed Secrets",
    } <= projects
    assert ("argoproj.io", "Application") in UPSTREAM and ("postgresql.cnpg.io", "Cluster") in UPSTREAM


def test_every_custom_resource_the_course_renders_is_admitted_by_upstreams_crd(
    cluster: Cluster, namespaces: None
) -> None:
    assert len(COVERED) >= 20
    refused = {name: verdict for name, obj in COVERED if (verdict := _server_verdict(cluster, obj))}
    assert refused == {}


def test_what_the_authored_schemas_reject_upstreams_crds_reject_too(cluster: Cluster, namespaces: None) -> None:
    admitted, other_reason = [], []
    tried = 0
    for name, obj in COVERED:
        for label, broken, _where, _fragment in mutations(obj):
            tried += 1
            verdict = _server_verdict(cluster, broken)
            if verdict is None:
                admitted.append(f"{name}: {label}")
            elif not any(shape in verdict for shape in SCHEMA_REJECTIONS):
                other_reason.append(f"{name}: {label}: {verdict}")
    assert tried >= 300
    assert admitted == []
    assert other_reason == []  # refused by the schema, not for another reason (a missing CRD answers 404)


def test_installing_again_changes_nothing(cluster: Cluster) -> None:
    assert crds.install(cluster) is None


def _course(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course_lib", *args], capture_output=True, text=True, timeout=600)


def test_course_validate_server_lets_the_api_server_judge(cluster: Cluster, tmp_path: Path) -> None:
    done = _course("validate", "--server")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    judged = dict(
        line.split(None, 1)
        for line in done.stdout.split("VALIDATED BY", 1)[1].splitlines()[1:]
        if line[:1].isalpha() and "objects valid" not in line
    )
    assert judged["Application"].startswith("API server (v1.37") and "upstream CRD (Argo CD" in judged["Application"]
    assert judged["Deployment"].startswith("API server (v1.37")
    assert judged["ExternalSecret"].startswith("authored schema")  # no upstream CRD obtainable
    broken = tmp_path / "app.yaml"
    broken.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: typo, namespace: argocd}\n"
        "spec:\n  project: default\n  destination: {server: 'https://kubernetes.default.svc', namespace: x}\n"
        "  source: {repoURL: 'https://example.com/r.git', path: p, targetRevision: HEAD, helm: {valueFile: [v.yaml]}}\n"
    )
    refused = _course("validate", "--server", "--file", str(broken))
    assert refused.returncode == 1
    assert "valueFile" in refused.stdout and "API server" in refused.stdout


def test_prime_asks_once_for_every_custom_resource_and_the_openapi_document(cluster: Cluster) -> None:
    served = cluster.list("CustomResourceDefinition", api_version="apiextensions.k8s.io/v1")
    assert crds.prime(cluster) == len(served) + 1
    doc = cluster.get_raw("/openapi/v2", accept=crds.OPENAPI_V2_PROTOBUF)
    assert doc.status == 200 and "protobuf" in doc.headers.get("Content-Type", "")
    listed = cluster.get_raw("/apis/argoproj.io/v1alpha1/applications", params={"limit": "1"}).json()
    assert listed["kind"] == "ApplicationList"


def test_served_names_reads_the_same_names_as_a_full_list(cluster: Cluster) -> None:
    assert cluster.kubeconfig
    names = crds.served_names(str(cluster.kubeconfig))
    assert names == crds.installed_names(cluster)
    assert {c["metadata"]["name"] for c in crds.load()} <= names
