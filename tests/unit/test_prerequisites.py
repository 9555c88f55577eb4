"""Prerequisites checked and offered (#16): the pinned command text, and that nothing is installed without the
explicit parameter. The cluster here is an in-test fake (it records the API groups and serves list calls); the
install path against a real API server and the real ``helm`` is in tests/integration/test_existing_cluster.py."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from course_lib import _prerequisites as pq
from course_lib import pins
from course_lib.config import Settings
from course_lib.errors import ClusterError, ConfigError
from course_lib.session import CONTROLLERS, Capabilities, Session


class _Cluster:
    """Serves ``groups``; after a ``helm upgrade --install`` its workloads come up ready and the group is served."""

    def __init__(self, groups: set[str], *, dry_run: bool = False, ready: bool = True) -> None:
        self.groups = set(groups)
        self.dry_run = dry_run
        self.kubeconfig = "/tmp/k.yaml"
        self.context = None
        self.ready = ready
        self.installed: list[str] = []

    def api_groups(self) -> frozenset[str]:
        return frozenset(self.groups)

    def list(self, kind: str, *, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        if kind != "Deployment" or not self.installed:
            return []
        status = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
        return [
            {
                "kind": "Deployment",
                "metadata": {"name": "controller", "namespace": namespace, "generation": 1},
                "spec": {"replicas": 1},
                "status": status if self.ready else {},
            }
        ]

    def run(self, name: str, argv: list[str], **_: Any) -> None:
        assert name == "helm"
        if argv[:2] == ["upgrade", "--install"]:
            self.installed.append(argv[2])
            if self.ready:
                self.groups |= {a.group for a in pq.ADD_ONS.values() if a.chart.release == argv[2]}


def test_every_add_on_is_a_controller_the_session_knows_with_the_same_group() -> None:
    for name, a in pq.ADD_ONS.items():
        assert CONTROLLERS[name] == a.group


@pytest.mark.parametrize("name", sorted(pq.ADD_ONS))
def test_the_command_is_the_pinned_chart_and_the_same_argv_that_runs(name: str) -> None:
    a = pq.ADD_ONS[name]
    text = pq.install_commands(name)
    install = text.splitlines()[-1]
    assert install.startswith(f"helm upgrade --install {a.chart.release} {a.chart.repo_name}/{a.chart.chart} ")
    assert f"--version {a.chart.version}" in install and f"--namespace {a.chart.namespace}" in install
    assert text.splitlines()[0] == f"helm repo add {a.chart.repo_name} {a.chart.repo_url}"
    cluster = _Cluster(set())
    ran = pq.helm_argv(cluster, a)  # type: ignore[arg-type]
    assert ran[-1] == [*shlex.split(install)[1:], "--kubeconfig", "/tmp/k.yaml"]


def test_commands_use_the_versions_of_pins() -> None:
    assert "--version 9.5.4" in pq.install_commands("argocd") == pq.install_commands("argocd")
    assert f"--version {pins.CNPG_CHART_VERSION} " in pq.install_commands("cloudnative-pg") + " "
    assert f"--version {pins.TRAEFIK_CHART_VERSION}" in pq.install_commands("traefik")
    assert "--set server.service.type=LoadBalancer" in pq.install_commands("argocd")


def test_nothing_is_installed_without_the_parameter() -> None:
    cluster = _Cluster({"apps"})
    report = pq.check(cluster, ["argocd", "kyverno"], run=cluster.run)  # type: ignore[arg-type]
    assert cluster.installed == []
    assert [c.status for c in report.checks] == ["missing", "missing"] and not report.ok
    assert report.missing == ("argocd", "kyverno")
    assert "install_prerequisites = True" in str(report) and "helm upgrade --install kyverno" in str(report)


def test_the_parameter_installs_only_what_is_missing_and_waits_for_it() -> None:
    cluster = _Cluster({"apps", "kyverno.io"})
    report = pq.check(cluster, ["argocd", "kyverno"], install=True, progress=False, run=cluster.run)  # type: ignore[arg-type]
    assert cluster.installed == ["argocd"]
    assert [c.status for c in report.checks] == ["installed", "served"] and report.ok


def test_an_install_that_never_gets_ready_fails_naming_what_is_not() -> None:
    cluster = _Cluster(set(), ready=False)
    with pytest.raises(ClusterError, match=r"Argo CD is not ready: Deployment/controller"):
        pq.check(cluster, ["argocd"], install=True, timeout=0.0, progress=False, run=cluster.run)  # type: ignore[arg-type]


def test_the_course_s_own_control_plane_is_never_installed_into() -> None:
    cluster = _Cluster(set())
    report = pq.check(cluster, ["argocd"], install=True, disposable=True, run=cluster.run)  # type: ignore[arg-type]
    assert cluster.installed == [] and report.missing == ("argocd",)
    assert "install_prerequisites" not in str(report).splitlines()[0]  # the parameter does nothing there


def test_bad_names_and_values_fail_before_anything_is_asked() -> None:
    cluster = _Cluster(set())
    cluster.api_groups = None  # type: ignore[assignment, method-assign]  # asking would fail
    with pytest.raises(ConfigError, match="unknown add-on 'argo'.*"):
        pq.check(cluster, ["argocd", "argo"], install=True, run=cluster.run)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="install_prerequisites must be True or False"):
        pq.check(cluster, ["argocd"], install="yes", run=cluster.run)  # type: ignore[arg-type]
    assert cluster.installed == []


def test_a_dry_run_asks_nothing_and_installs_nothing() -> None:
    cluster = _Cluster(set(), dry_run=True)
    report = pq.check(cluster, ["traefik"], install=True, run=cluster.run)  # type: ignore[arg-type]
    assert cluster.installed == [] and report.checks[0].status == "no API server"
    assert pq.check(None, ["traefik"], install=True).checks[0].status == "no API server"


def test_course_run_checks_the_parameter_up_front() -> None:
    from course_lib.params import check_parameters

    check_parameters({"install_prerequisites": True})
    with pytest.raises(ConfigError, match=r"install_prerequisites='yes': install_prerequisites must be True or False"):
        check_parameters({"install_prerequisites": "yes"})


def test_the_session_refuses_unserved_kinds_naming_the_add_on_and_its_command() -> None:
    session = Session(Settings(target="kubeconfig"))
    session._capabilities = Capabilities(True, True, False, False, False, frozenset())

    class _Served(_Cluster):
        def serves(self, api_version: str, kind: str) -> bool:
            return False

    session._cluster = _Served(set())  # type: ignore[assignment]
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "x"}}
    with pytest.raises(ClusterError) as err:
        session.prepare([app])
    text = str(err.value)
    assert "does not serve the custom kinds" in text and "Argo CD: ApplicationSet" in text
    assert "install_prerequisites = True" in text and "helm upgrade --install argocd argo/argo-cd" in text
