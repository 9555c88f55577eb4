"""Drills 02-app-wrong-path and 10-root-no-children with the sandbox's real Argo CD.

02: the drill's Application names a folder that moved in its
Git repository, and the application controller reports a ComparisonError (start() waits for it). Untouched, the
check says "not attempted"; pointing the Application at a folder without the guestbook is attempted and wrong; the
course's own fix (data/solutions/02.yaml, its kubectl lines run in a shell) makes Argo CD sync it; with the
application controller stopped, a right fix stays unsynced and the check fails (start() starts a stopped component
again, through session.gitops()).

10: the root Application of an app of apps reads only apps/, while its children live in sub-folders: it is Synced
and Healthy with no child (start() waits for that). Untouched, "not attempted"; the course's fix (recurse) makes the
root create both children in wave order and each child deploy its guestbook; with the application controller
stopped the same fix creates nothing and the check fails."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

import course_lib as cl
from course_lib import drills, solutions, tools
from course_lib.drills import _capstone as c
from course_lib.drills import _gitops as d
from course_lib.errors import ClusterError
from course_lib.sandbox import _argocd, _controlplane
from tests.conftest import shell_env_kept

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tools,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
    pytest.mark.skipif(not _argocd.available(), reason=f"Argo CD is not built: missing {', '.join(_argocd.missing())}"),
]


@pytest.fixture(scope="module")
def session() -> Iterator[cl.Session]:
    with shell_env_kept(), cl.start(target="sandbox", learner="drills-02") as s:
        s.use_in_shell()
        yield s


def _kubectl(*args: str) -> str:
    return tools.run("kubectl", list(args)).stdout


def _fix_commands(drill_id: str = d.AppWrongPath.id) -> list[str]:
    """The shell lines of the course's own fix (the notebook runs them as `!` lines)."""
    code = solutions.load(int(drill_id[:2]))[drill_id].code
    return [line.strip()[1:] for line in code.splitlines() if line.strip().startswith("!")]


def _run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)


def _path(path: str) -> str:
    return json.dumps({"spec": {"source": {"path": path}}})


def test_break_untouched_wrong_fix_right_fix_clean(session: cl.Session) -> None:
    run = drills.start(d.AppWrongPath.id, session)
    try:
        assert not run.unavailable, run.unavailable
        first = run.check()
        assert not first.passed and not first.attempted, first
        assert "sync Unknown" in first.message and "guestbook: app path does not exist" in first.message, first
        assert session.cluster.list("Deployment", namespace=d.NAMESPACE) == []

        # a wrong fix: a folder that exists but holds no manifest (only the sub-folder guestbook/)
        _kubectl("-n", "argocd", "patch", "application", d.APPLICATION, "--type", "merge", "-p", _path("apps"))
        state = session.gitops().wait(d.APPLICATION, sync="Synced", timeout=60)[1]
        assert state.sync == "Synced"
        second = run.check()
        assert second.attempted and not second.passed and "no Deployment guestbook-ui" in second.message, second

        for command in _fix_commands():
            done = _run(command)
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        third = run.check()
        assert third.passed and "guestbook-ui 2/2 ready" in third.message, third
        deployment = session.cluster.get("Deployment", "guestbook-ui", namespace=d.NAMESPACE)
        assert deployment["spec"]["replicas"] == d.REPLICAS  # what the repository holds, applied by Argo CD
    finally:
        assert "removed" in run.clean()
    with pytest.raises(ClusterError):
        session.cluster.get("Namespace", d.NAMESPACE)
    assert not d.workdir().exists()


def test_a_fix_in_git_passes_too(session: cl.Session) -> None:
    run = drills.start(d.AppWrongPath.id, session)
    try:
        repo = run.drill.state["repo"]
        git = ["git", "-C", repo, "-c", "user.name=learner", "-c", "user.email=learner@example.com"]
        subprocess.run([*git, "mv", d.NEW_PATH, d.OLD_PATH], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-q", "-m", "guestbook: back where its Application looks"], check=True)
        session.gitops().wait(d.APPLICATION, sync="Synced", health="Healthy", timeout=60)
        assert run.check().passed
    finally:
        run.clean()


def test_without_the_application_controller_a_right_fix_is_not_applied(session: cl.Session) -> None:
    run = drills.start(d.AppWrongPath.id, session)
    try:
        assert _argocd.stop_component("application-controller")
        for command in _fix_commands()[:1]:  # the patch; its waits would time out
            assert _run(command).returncode == 0
        assert _run(_fix_commands()[1].replace("60s", "8s")).returncode != 0  # never Synced
        assert not run.check().passed
    finally:
        session.gitops()  # starts the stopped component again, so clean() can wait for the deletion
        run.clean()


def test_root_no_children_untouched_fixed_in_wave_order_and_cleaned(session: cl.Session) -> None:
    run = drills.start(c.RootNoChildren.id, session)
    try:
        assert not run.unavailable, run.unavailable
        first = run.check()
        assert not first.passed and not first.attempted, first
        assert "sync Synced, health Healthy; 0 of 2 child Applications exist" in first.message, first

        for command in _fix_commands(c.RootNoChildren.id):
            done = _run(command)
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        fixed = run.check()
        assert fixed.passed and "drill-10-db, drill-10-web Synced and Healthy" in fixed.message, fixed
        db, web = (session.cluster.get("Application", n, namespace="argocd", api_version="argoproj.io/v1alpha1")
                   for n, _, _ in c.CHILDREN)  # fmt: skip
        # wave -1 before wave 0: the root created the shop only after the database was Healthy
        assert db["metadata"]["creationTimestamp"] <= web["metadata"]["creationTimestamp"]
        assert db["status"]["operationState"]["finishedAt"] <= web["metadata"]["creationTimestamp"]
    finally:
        assert "removed" in run.clean()
    for name, _, _ in c.CHILDREN:
        with pytest.raises(ClusterError):
            session.cluster.get("Namespace", name)
    assert not c.workdir().exists()


def test_root_no_children_without_the_application_controller_stays_broken(session: cl.Session) -> None:
    run = drills.start(c.RootNoChildren.id, session)
    try:
        assert _argocd.stop_component("application-controller")
        commands = _fix_commands(c.RootNoChildren.id)
        assert _run(commands[0]).returncode == 0  # the patch is stored ...
        assert _run(commands[1].replace("60s", "8s")).returncode != 0  # ... and no child is ever created
        result = run.check()
        assert not result.passed and result.attempted and "0 of 2 child Applications" in result.message, result
    finally:
        session.gitops()
        run.clean()
