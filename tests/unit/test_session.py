"""``cl.start``: the first cell of every notebook sets plotly's renderer without loading it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import course_lib as cl


def test_start_defers_plotly_renderers_but_they_come_up_as_mimetype() -> None:
    code = (
        "import sys, course_lib as cl\n"
        "cl.start(target='sandbox')\n"
        "print('loaded' if 'plotly.io._renderers' in sys.modules else 'deferred')\n"
        "import plotly.io as pio\n"
        "print(pio.renderers.default)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["deferred", "plotly_mimetype"]


def test_start_sets_the_renderer_when_plotly_is_already_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", "json")
    cl.start(target="sandbox")
    assert pio.renderers.default == "plotly_mimetype"


def test_start_rejects_a_bad_target_before_touching_the_display() -> None:
    with pytest.raises(cl.CourseError, match="target"):
        cl.start(target="moon")


# ---------------------------------------------------------------------------------------------- the Session
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from course_lib import session as sm  # noqa: E402
from course_lib.sandbox import _controlplane  # noqa: E402


def test_start_returns_a_session_with_the_validated_settings() -> None:
    session = cl.start(target="sandbox", learner="ada")
    assert isinstance(session, sm.Session)
    assert session.settings.learner == "ada" and session.target == "sandbox"
    with pytest.raises(cl.ConfigError, match="learner"):
        cl.start(target="sandbox", learner="Ada Lovelace!")


def test_sandbox_without_a_built_control_plane_is_an_honest_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_controlplane, "available", lambda: False)
    monkeypatch.delenv("COURSE_SANDBOX_KUBECONFIG", raising=False)

    def no_start(**_: object) -> None:
        raise AssertionError("nothing may start without a built control plane")

    monkeypatch.setattr(_controlplane, "cluster_up", no_start)
    session = cl.start(target="sandbox")
    caps = session.capabilities
    assert (caps.live_api, caps.workloads, caps.cloud, caps.local_stack) == (False, False, False, True)
    assert session.cluster.dry_run and "make tools" in str(session.cluster.reason)
    assert session.kubeconfig is None and session.use_in_shell() is None
    assert session.close() == ()


class _Plane:
    def __init__(self, healthy_before: bool) -> None:
        self.healthy_before = healthy_before
        self.ups = 0
        self.downs = 0

    def install(self, monkeypatch: pytest.MonkeyPatch, kubeconfig: Path) -> None:
        monkeypatch.setattr(_controlplane, "available", lambda: True)
        monkeypatch.setattr(_controlplane, "cluster_status", lambda: {"healthy": self.healthy_before})

        def up(**_: object) -> SimpleNamespace:
            self.ups += 1
            return SimpleNamespace(kubeconfig=str(kubeconfig))

        def down() -> bool:
            self.downs += 1
            return True

        monkeypatch.setattr(_controlplane, "cluster_up", up)
        monkeypatch.setattr(_controlplane, "cluster_down", down)


@pytest.mark.parametrize(("running_before", "downs"), [(True, 0), (False, 1)])
def test_close_stops_the_control_plane_only_when_this_session_started_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, running_before: bool, downs: int
) -> None:
    monkeypatch.delenv("COURSE_SANDBOX_KUBECONFIG", raising=False)
    plane = _Plane(healthy_before=running_before)
    kubeconfig = tmp_path / "kubeconfig.yaml"
    plane.install(monkeypatch, kubeconfig)
    handed: list[object] = []
    monkeypatch.setattr(cl.cluster, "connect", lambda target, **kw: handed.append(kw["kubeconfig"]) or _FakeCluster())
    from course_lib.sandbox import crds

    installed: list[object] = []
    monkeypatch.setattr(crds, "install", lambda cluster, without=(): installed.append(cluster))
    with cl.start(target="sandbox") as session:
        assert session.capabilities.live_api and not session.capabilities.workloads
        session.cluster  # noqa: B018 - the first read starts (or reuses) the control plane
        session.cluster  # noqa: B018 - and the second reuses the connection
    assert plane.ups == 1 and handed == [str(kubeconfig)]
    assert len(installed) == 1 and isinstance(installed[0], _FakeCluster)  # upstream CRDs go in once, on connect
    assert plane.downs == downs


class _FakeCluster:
    dry_run = False
    reason = None
    kubeconfig = "/k"

    def __init__(
        self, groups: frozenset[str] = frozenset(), workloads: dict[str, list[dict[str, Any]]] | None = None
    ) -> None:
        self.groups = groups
        self.workloads = workloads or {}
        self.closed = False
        self.listed: list[str] = []

    def api_groups(self) -> frozenset[str]:
        return self.groups

    def list(self, kind: str, *, api_version: str | None = None) -> list[dict[str, Any]]:
        self.listed.append(kind)
        return self.workloads.get(kind, [])

    def close(self) -> None:
        self.closed = True


def _workload(name: str, ready: int, field: str = "availableReplicas") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "x"}, "status": {field: ready}}


def test_a_cluster_target_reports_the_add_ons_its_api_serves_and_whose_controller_is_ready() -> None:
    workloads = {
        "StatefulSet": [_workload("argocd-application-controller", 1)],
        "Deployment": [_workload("sealed-secrets", 1), _workload("cnpg-cloudnative-pg", 0)],
        "DaemonSet": [_workload("traefik", 2, "numberAvailable")],
    }
    groups = frozenset({"apps", "argoproj.io", "bitnami.com", "postgresql.cnpg.io", "traefik.io", "kyverno.io"})
    caps = sm.cluster_capabilities(_FakeCluster(groups, workloads), cloud=True)  # type: ignore[arg-type]
    assert caps.live_api and caps.workloads and caps.cloud and not caps.local_stack and not caps.disposable
    assert caps.runs("argocd") and caps.runs("sealed-secrets") and caps.runs("kube-controller-manager")
    assert caps.runs("traefik")  # a DaemonSet counts by numberAvailable
    # CRDs without a ready controller (none at all, or 0 ready): the notebooks must not wait for it to act
    assert not caps.runs("kyverno") and not caps.runs("cloudnative-pg")
    assert "not installed on this cluster: " in caps.reason and "istio" in caps.reason
    assert "CRDs served, but no ready controller: cloudnative-pg, kyverno" in caps.reason
    with pytest.raises(cl.ConfigError, match="argo-cd"):
        caps.runs("argo-cd")  # a typo is an error, not "not installed"
    assert caps.to_frame().loc["controllers", "available"]


def _lease(name: str, seconds_ago: float, holder: str | None) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    renewed = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    spec = {
        "holderIdentity": holder,
        "leaseDurationSeconds": 12,
        "renewTime": renewed.isoformat().replace("+00:00", "Z"),
    }
    return {"metadata": {"name": name, "namespace": "kyverno"}, "spec": spec}


@pytest.mark.parametrize(
    ("lease", "runs"),
    [
        (("kyverno", 2, "kyverno-sandbox"), True),  # held and renewed: a leader acts, wherever its process runs
        (("kyverno", 60, "kyverno-sandbox"), False),  # its leader stopped renewing a minute ago
        (("kyverno", 2, None), False),  # released: nobody holds it
        (("kyverno-reports-controller", 2, "kyverno-reports-sandbox"), False),  # the reports controller admits nothing
    ],
)
def test_a_controller_outside_the_clusters_workloads_counts_while_it_holds_its_leader_lease(
    lease: tuple[str, float, str | None], runs: bool
) -> None:
    cluster = _FakeCluster(frozenset({"kyverno.io"}), {"Lease": [_lease(*lease)]})  # renewed relative to now
    caps = sm.cluster_capabilities(cluster, cloud=False)  # type: ignore[arg-type]
    assert caps.runs("kyverno") is runs
    assert ("no ready controller: kyverno" in caps.reason) is not runs
    assert "Lease" in cluster.listed


def test_leases_are_not_listed_when_no_add_on_with_a_lease_is_served() -> None:
    cluster = _FakeCluster(frozenset({"argoproj.io"}))
    sm.cluster_capabilities(cluster, cloud=False)  # type: ignore[arg-type]
    assert "Lease" not in cluster.listed and "StatefulSet" in cluster.listed


def test_a_target_without_local_services_has_no_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    session = cl.start(target="kubeconfig")
    cluster = _FakeCluster()
    session._capabilities = sm.cluster_capabilities(cluster, cloud=False)  # type: ignore[arg-type]
    assert not cluster.listed  # no add-on's API group served: no workload list asked for
    assert session.stack() is None
    assert session.postgres() is None  # a cluster runs CloudNativePG, not the sandbox's PostgreSQL


@pytest.mark.parametrize(("reused", "downs"), [(False, 1), (True, 0)])
def test_close_stops_the_postgres_service_only_when_this_session_started_it(
    monkeypatch: pytest.MonkeyPatch, reused: bool, downs: int
) -> None:
    from course_lib.sandbox import _postgres

    calls: list[str] = []
    handle = type("Handle", (), {"reused": reused})()
    monkeypatch.setattr(_postgres, "up", lambda **kw: calls.append("up") or handle)
    monkeypatch.setattr(_postgres, "down", lambda: calls.append("down") or ("pgbouncer",))
    session = cl.start(target="sandbox")
    session._capabilities = sm.Capabilities(False, False, False, True, True)
    assert session.postgres() is handle
    session.close()
    assert calls == ["up"] + ["down"] * downs


def test_the_cluster_layer_never_imports_the_sandbox() -> None:
    layer = Path(cl.__file__).parent / "cluster"
    offenders = [
        p.name for p in layer.glob("*.py") if "sandbox import" in p.read_text() or "..sandbox" in p.read_text()
    ]
    assert offenders == []
