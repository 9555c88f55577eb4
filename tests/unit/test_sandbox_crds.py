"""Upstream CRDs for the sandbox: fetched from Go modules (faked here: a folder laid out like a module), labelled,
installed only when missing, and open placeholders only for kinds without one."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import course_lib as cl
from course_lib import pins
from course_lib.sandbox import crds

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.io
  creationTimestamp: null
spec:
  group: example.io
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              op: {type: string, enum: [=, "!="]}
status: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-crd}
"""

SOURCE = pins.CrdSource("Example", "example.io/widgets", "v1.2.3", ("config/crds/*.yaml",))


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> Path:
    root = tmp_path / "module"
    (root / "config" / "crds").mkdir(parents=True)
    (root / "config" / "crds" / "widgets.yaml").write_text(CRD)
    (root / "README.md").write_text("not a CRD\n")

    def fake_dir(module: str, version: str, *, timeout: float) -> Path:
        calls.append(f"{module}@{version}")
        return root

    monkeypatch.setattr(crds, "_module_dir", fake_dir)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return root


def test_fetch_copies_only_crds_with_their_origin_and_is_done_once(module: Path, calls: list[str]) -> None:
    folder = crds.fetch([SOURCE])
    assert folder == crds.cache_path([SOURCE]) and crds.available([SOURCE])
    [entry] = crds.manifest([SOURCE])
    assert (entry.name, entry.kind, entry.group) == ("widgets.example.io", "Widget", "example.io")
    assert (entry.module, entry.version, entry.file) == ("example.io/widgets", "v1.2.3", "config/crds/widgets.yaml")
    [crd] = crds.load([SOURCE])
    assert crd["metadata"]["labels"] == {crds.LABEL: crds.pin_hash([SOURCE])}
    assert "status" not in crd and "creationTimestamp" not in crd["metadata"]
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["op"][
        "enum"
    ] == ["=", "!="]  # YAML 1.1's '=' read as Kubernetes reads it
    crds.fetch([SOURCE])
    assert calls == ["example.io/widgets@v1.2.3"]


def test_a_missing_file_fails_naming_it_and_leaves_nothing_behind(module: Path) -> None:
    moved = pins.CrdSource("Example", "example.io/widgets", "v1.2.3", ("config/crd/bases/*.yaml",))
    with pytest.raises(cl.SandboxError, match="config/crd/bases"):
        crds.fetch([moved])
    assert not crds.available([moved])
    assert list(crds.cache_path([moved]).parent.iterdir()) == []


def test_a_changed_pin_is_a_new_cache_and_a_new_label() -> None:
    bumped = pins.CrdSource("Example", "example.io/widgets", "v1.2.4", SOURCE.paths)
    assert crds.pin_hash([SOURCE]) != crds.pin_hash([bumped])


class _Server:
    """Stands in for the API server's CRD list (the integration tests use the real one)."""

    def __init__(self, labelled: list[str]) -> None:
        self.labelled = labelled
        self.applied: list[list[dict]] = []

    def get_raw(self, path: str, *, params: dict[str, str] | None = None, accept: str = "") -> SimpleNamespace:
        assert path == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions" and "PartialObjectMetadata" in accept
        assert params == {"labelSelector": f"{crds.LABEL}={crds.pin_hash([SOURCE])}"}  # the CRDs of this pin
        return SimpleNamespace(text=json.dumps({"items": [{"metadata": {"name": n}} for n in self.labelled]}))

    def apply(self, objects: list[dict], **_: object) -> str:
        self.applied.append(objects)
        return "report"


def test_install_applies_only_what_the_server_lacks(module: Path) -> None:
    crds.fetch([SOURCE])
    fresh = _Server([])
    assert crds.install(fresh, [SOURCE]) == "report"  # type: ignore[arg-type]
    assert [c["metadata"]["name"] for c in fresh.applied[0]] == ["widgets.example.io"]
    done = _Server(["widgets.example.io"])
    assert crds.install(done, [SOURCE]) is None and done.applied == []  # type: ignore[arg-type]


def test_install_leaves_out_the_crds_of_the_projects_it_is_told(module: Path) -> None:
    crds.fetch([SOURCE])
    assert crds.project_crds(["Example"], [SOURCE]) == {"widgets.example.io"}
    assert crds.project_crds(["Argo CD"], [SOURCE]) == set()
    server = _Server([])
    assert crds.install(server, [SOURCE], without=["Example"]) is None and server.applied == []  # type: ignore[arg-type]
    assert crds.install(server, [SOURCE], without=["Argo CD"]) == "report"  # type: ignore[arg-type]


def test_nothing_fetched_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    assert crds.load([SOURCE]) == [] and crds.install(_Server([]), [SOURCE]) is None  # type: ignore[arg-type]


def test_placeholders_only_for_kinds_without_a_crd() -> None:
    objects = [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"},
        {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore"},
        {"apiVersion": "apps/v1", "kind": "Deployment"},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute"},
    ]
    made = crds.placeholders(objects, known={"applications.argoproj.io"})
    assert [(c["metadata"]["name"], c["spec"]["scope"]) for c in made] == [
        ("clustersecretstores.external-secrets.io", "Cluster")
    ]


def test_every_pinned_source_names_a_release_the_course_pins() -> None:
    by_project = {s.project: s for s in pins.UPSTREAM_CRDS}
    assert by_project["Kyverno"].version == pins.KYVERNO_CHART.app_version
    assert by_project["CloudNativePG"].version == f"v{pins.CNPG_VERSION}"
    assert by_project["Istio"].version == f"v{pins.ISTIO_VERSION}"
    assert by_project["Sealed Secrets"].version == f"v{pins.SEALED_SECRETS_CHART.app_version}"
    assert by_project["Argo CD"].note  # differs from the chart's app version, and says why
    assert "External Secrets" not in by_project  # not served: authored schemas and placeholders stand in


def test_prepare_installs_nothing_on_a_learners_cluster_and_namespaces_on_the_sandbox() -> None:
    objects = [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "db", "namespace": "shop"},
        }
    ]
    theirs = cl.start(target="kubeconfig")
    theirs._capabilities = cl.session.Capabilities(True, True, False, False, False)
    theirs._cluster = _LearnersCluster(served={"ExternalSecret.external-secrets.io/v1"})  # type: ignore[assignment]
    assert theirs.prepare(objects) is None and theirs._cluster.applied == []  # type: ignore[attr-defined]
    ours = cl.start(target="sandbox")
    ours._capabilities = cl.session.Capabilities(False, False, False, True, True)
    ours._cluster = cl.cluster.connect("sandbox", dry_run=True)
    report = ours.prepare(objects)
    assert report is not None
    assert [(r.ref.kind, r.ref.name) for r in report.results] == [
        ("CustomResourceDefinition", "externalsecrets.external-secrets.io"),
        ("Namespace", "shop"),
    ]


class _LearnersCluster:
    """A learner's cluster that serves only some custom kinds (the integration tests use a real API server)."""

    dry_run = False

    def __init__(self, served: set[str]) -> None:
        self.served = served
        self.applied: list[object] = []

    def serves(self, api_version: str, kind: str) -> bool:
        return f"{kind}.{api_version}" in self.served

    def apply(self, objects: object, **_: object) -> None:
        self.applied.append(objects)


def test_prepare_on_a_learners_cluster_names_the_missing_add_ons_and_applies_nothing() -> None:
    objects = [
        {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db", "namespace": "d"}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "s", "namespace": "d"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "d"}},
    ]
    session = cl.start(target="kubeconfig")
    session._capabilities = cl.session.Capabilities(True, True, False, False, False)
    theirs = _LearnersCluster(served={"Cluster.postgresql.cnpg.io/v1"})
    session._cluster = theirs  # type: ignore[assignment]
    with pytest.raises(cl.ClusterError, match=r"External Secrets Operator: ExternalSecret \(external-secrets.io/v1\)"):
        session.prepare(objects)
    assert theirs.applied == []
    theirs.served.add("ExternalSecret.external-secrets.io/v1")
    assert session.prepare(objects) is None and theirs.applied == []  # all served: nothing to do, nothing installed


def test_prime_asks_once_per_crd_with_limit_one_and_ignores_a_failing_request() -> None:
    from course_lib.errors import ClusterError

    crd = {
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets"},
            "versions": [{"name": "v1beta1", "served": True}, {"name": "v1", "served": True, "storage": True}],
        }
    }
    gone = {
        "spec": {"group": "example.com", "names": {"plural": "olds"}, "versions": [{"name": "v1", "served": False}]}
    }
    asked: list[tuple[str, dict[str, str] | None, str]] = []

    class Cluster:
        def list(self, kind: str, *, api_version: str) -> list[dict[str, Any]]:
            assert (kind, api_version) == ("CustomResourceDefinition", "apiextensions.k8s.io/v1")
            return [crd, gone]

        def get_raw(self, path: str, *, params: dict[str, str] | None = None, accept: str = "application/json",
                    timeout: float = 30) -> None:  # fmt: skip
            asked.append((path, params, accept))
            if path == "/openapi/v2":
                raise ClusterError("the server is busy")

    assert crds.prime(Cluster()) == 2  # type: ignore[arg-type]
    assert sorted(asked) == [
        ("/apis/example.com/v1/widgets", {"limit": "1"}, "application/json"),
        ("/openapi/v2", None, crds.OPENAPI_V2_PROTOBUF),
    ]
