"""Argo CD's CRDs come and go with Argo CD: a part that does not run it gets a control plane without them.

Real programs: the sandbox's own control plane (kwokctl, kube-apiserver, etcd) in a state folder of this test, and
upstream's CRDs as ``make tools`` fetched them. The restart is real (the kube-apiserver process stops and starts
again): the test checks the API server is a new process while etcd is the same one, that what etcd held survives
it, that Argo CD's kinds are not served until a part that runs Argo CD connects again, and that ``sandbox down``
stops the restarted server too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import course_lib as cl
from course_lib import sandbox
from course_lib.sandbox import _controlplane as cp
from course_lib.sandbox import crds

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tools,
    pytest.mark.skipif(not cp.available(), reason="the control plane is not built: run `make tools`"),
    pytest.mark.skipif(not crds.available(), reason="upstream's CRDs are not fetched: run `make tools`"),
]

APP = ("argoproj.io/v1alpha1", "Application")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COURSE_KEEP_SERVICES", raising=False)
    yield tmp_path / "state"
    cp.cluster_down()


def _pids(state: Path, program: str = "") -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["cmdline", "status"])
        if p.info["cmdline"]
        and p.info["status"] != psutil.STATUS_ZOMBIE
        and p.info["cmdline"][0].endswith(program)
        and str(state) in " ".join(p.info["cmdline"])
    ]


def _apiserver_pid(state: Path) -> int:
    pids = _pids(state, "kube-apiserver")
    assert len(pids) == 1, pids
    return pids[0]


def test_a_part_without_argo_cd_gets_a_control_plane_without_its_crds(state: Path) -> None:
    cluster = cl.start(part=2, target="sandbox").cluster  # Part 2 runs Argo CD: every upstream CRD is there
    assert cluster.serves(*APP)
    ns = f"t-{uuid.uuid4().hex[:6]}"
    cluster.apply([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept", "namespace": ns}, "data": {"a": "1"}},
        {"apiVersion": APP[0], "kind": APP[1],
         "metadata": {"name": "left-over", "namespace": ns, "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
         "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                  "source": {"repoURL": "https://example.org/r.git", "path": ".", "targetRevision": "HEAD"}}},
    ])  # fmt: skip
    before = _apiserver_pid(state)
    etcd = _pids(state, "etcd")

    session = cl.start(part=3, target="sandbox")  # Part 3 runs no Argo CD

    assert session.released == ("Argo CD CRDs",)
    assert _apiserver_pid(state) != before  # a new server, which never built Argo CD's CRDs
    assert _pids(state, "etcd") == etcd and len(etcd) == 1  # on the same etcd
    part3 = session.cluster
    assert not part3.serves(*APP)
    assert not crds.project_crds(["Argo CD"]) & crds.installed_names(part3)
    assert part3.serves("monitoring.coreos.com/v1", "ServiceMonitor")  # the other projects' CRDs stay
    assert part3.get("ConfigMap", "kept", namespace=ns)["data"] == {"a": "1"}  # etcd kept the rest
    assert cl.start(part=4, target="sandbox").released == ()  # nothing more to give back: no second restart

    before = _apiserver_pid(state)
    session9 = cl.start(part=9, target="sandbox")  # Argo CD's CRDs again, and only those of the projects it uses
    assert set(session9.released) == {f"{p} CRDs" for p in session9._idle_crd_projects()}
    assert "Kyverno CRDs" in session9.released and _apiserver_pid(state) != before
    part9 = session9.cluster
    part9.wait("CustomResourceDefinition", "applications.argoproj.io", namespace=None,
               api_version="apiextensions.k8s.io/v1", for_conditions=["Established"], timeout=60)  # fmt: skip
    assert part9.serves(*APP)
    assert part9.list(APP[1], api_version=APP[0], namespace=ns) == []  # the left-over went with its CRD
    assert not part9.serves("monitoring.coreos.com/v1", "ServiceMonitor")
    before = _apiserver_pid(state)
    part10 = cl.start(part=10, target="sandbox")  # the capstone holds every project's CRDs: a new server with them
    assert part10.released == () and _apiserver_pid(state) != before
    assert part10.cluster.serves("monitoring.coreos.com/v1", "ServiceMonitor") and part10.cluster.serves(*APP)

    sandbox.down()  # what `course sandbox down` does: the server started again stops with the rest
    assert _pids(state) == []
