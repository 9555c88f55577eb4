"""Drills 05-psa-blocks-app, 06-failed-upgrade and 07-patch-misses on the real sandbox control plane: each breaks
for real, its check says "untouched" on the broken state and refuses a wrong fix, the course's own fix (from
data/solutions, run here as the notebook would: Python lines, then `!` shell lines) makes it pass, and clean()
removes everything.

Each one needs kube-controller-manager: without it there is no ReplicaSet, so no FailedCreate (05, whose start()
waits for that event and fails), no ready replicas for `helm install --wait` (06) nor for the probe (07)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import course_lib as cl
from course_lib import drills, solutions, tools
from course_lib.drills import _helm, _kustomize, _live, _policy
from course_lib.sandbox import _controlplane
from tests.conftest import shell_env_kept

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
]


@pytest.fixture(scope="module")
def session() -> Iterator[cl.Session]:
    with shell_env_kept(), cl.start(target="sandbox", learner="drills") as s:
        s.use_in_shell()  # kubectl and helm in the fix's shell lines talk to this control plane
        yield s


def _kubectl(*args: str) -> str:
    return tools.run("kubectl", list(args)).stdout


def run_fix(drill_id: str, cwd: Path, **names: Any) -> None:
    """Run a drill's fix from data/solutions the way its notebook cell runs it: Python lines with ``exec``, each
    ``!command`` line in a shell with ``{name}`` filled in (IPython's expansion)."""
    code = solutions.load(int(drill_id[:2]))[drill_id].code
    scope: dict[str, Any] = {"Path": Path, **names}
    python: list[str] = []
    for line in code.splitlines():
        if not line.startswith("!"):
            python.append(line)
            continue
        exec("\n".join(python), scope)  # noqa: S102 - the course's own solution file
        python = []
        command = line[1:].format(**names) if names else line[1:]
        done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    exec("\n".join(python), scope)  # noqa: S102


def test_psa_blocks_app(session: cl.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = session.cluster
    run = drills.start("05-psa-blocks-app", session)
    try:
        assert not run.unavailable
        first = run.check()
        assert not first.attempted and not first.passed
        assert "0/2 replicas ready" in first.message and 'violates PodSecurity "restricted:latest"' in first.message
        rs = cluster.list("ReplicaSet", namespace=_policy.NAMESPACE)
        assert len(rs) == 1 and not rs[0]["status"].get("replicas")  # the controller's ReplicaSet, refused its pods
        assert cluster.list("Pod", namespace=_policy.NAMESPACE) == []

        ns_label = f"{_policy.ENFORCE}=privileged"
        _kubectl("label", "namespace", _policy.NAMESPACE, ns_label, "--overwrite")
        weakened = run.check()
        assert weakened.attempted and not weakened.passed and "weakening the namespace" in weakened.message
        _kubectl("label", "namespace", _policy.NAMESPACE, f"{_policy.ENFORCE}=restricted", "--overwrite")

        monkeypatch.chdir(tmp_path)
        run_fix("05-psa-blocks-app", tmp_path)
        fixed = run.check()
        assert fixed.passed, fixed.message
        assert "2/2 replicas ready" in fixed.message
        pods = _live.poll(
            lambda: len(cluster.list("Pod", namespace=_policy.NAMESPACE)) == 2,
            timeout=60,
            what="the old ReplicaSet's pods going",
            hint="kube-controller-manager scales the old ReplicaSet down",
        )
        assert pods
    finally:
        run.clean()
    assert _live.get_or_none(cluster, "Namespace", _policy.NAMESPACE) is None


@pytest.mark.skipif(not tools.available("helm"), reason="needs helm: run `make tools`")
def test_failed_upgrade(session: cl.Session, tmp_path: Path) -> None:
    cluster = session.cluster
    run = drills.start("06-failed-upgrade", session)
    try:
        assert not run.unavailable
        history = _helm.revisions(cluster.list("Secret", namespace=_helm.NAMESPACE, selector="owner=helm"))
        assert history == [(1, "deployed"), (2, "failed")]  # helm 4 keeps the last good one deployed
        assert (
            "quantities must match" in run.drill.state["upgrade_error"]
        )  # the API server's refusal, as the pipeline saw it
        half = cluster.get("ConfigMap", _helm.RELEASE, namespace=_helm.NAMESPACE)["data"]
        assert half["ENVIRONMENT"] == "drill-v2"  # applied before the Deployment was refused: a half upgrade runs
        first = run.check()
        assert not first.attempted and not first.passed and "revision 2 is failed" in first.message

        chart = run.drill.state["chart"]
        wrong = ["upgrade", _helm.RELEASE, chart, "-n", _helm.NAMESPACE, "--set", "replicaCount=3"]
        tools.run("helm", [*wrong, "--set", "environment=drill-v2"])  # a new revision, with the bad upgrade's values
        other = run.check()
        assert other.attempted and not other.passed and "not the good release's" in other.message

        run_fix("06-failed-upgrade", tmp_path)
        fixed = run.check()
        assert fixed.passed, fixed.message
        assert cluster.get("Deployment", _helm.RELEASE, namespace=_helm.NAMESPACE)["status"]["readyReplicas"] == 2
        assert _helm.revisions(cluster.list("Secret", namespace=_helm.NAMESPACE, selector="owner=helm"))[-1] == (
            4,
            "deployed",
        )
    finally:
        run.clean()
    assert _live.get_or_none(cluster, "Namespace", _helm.NAMESPACE) is None
    assert not _helm.workdir().exists()


def test_patch_misses(session: cl.Session, tmp_path: Path) -> None:
    cluster = session.cluster
    run = drills.start("07-patch-misses", session)
    try:
        overlay = run.drill.state["overlay"]
        assert Path(overlay) == _kustomize.overlay_dir() and Path(overlay, "staging_scale.yaml").is_file()
        live = cluster.get("Deployment", _kustomize.DEPLOYMENT, namespace=_kustomize.NAMESPACE)
        assert live["spec"]["replicas"] == 2  # applied, without the patch
        first = run.check()
        assert not first.attempted and not first.passed and "2 replicas (want 3)" in first.message

        _kubectl("-n", _kustomize.NAMESPACE, "scale", "deployment", _kustomize.DEPLOYMENT, "--replicas=3")
        _kubectl("-n", _kustomize.NAMESPACE, "label", "deployment", _kustomize.DEPLOYMENT, "team=payments")
        by_hand = run.check()
        assert by_hand.attempted and not by_hand.passed and "made by hand" in by_hand.message

        run_fix("07-patch-misses", tmp_path, overlay=overlay)
        fixed = run.check()
        assert fixed.passed, fixed.message
        assert "3/3 ready" in fixed.message
    finally:
        run.clean()
    assert _live.get_or_none(cluster, "Namespace", _kustomize.NAMESPACE) is None
    assert not _kustomize.workdir().exists()
