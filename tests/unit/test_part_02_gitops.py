"""Part 2: the real Git repository, the object-level sync diff, the charts and the exercises."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import course_lib as cl
from course_lib import gitops as g
from course_lib import manifests as m
from course_lib.errors import ClusterError, ConfigError, ToolError


@pytest.fixture()
def repo(tmp_path: Path) -> g.GitRepo:
    return g.GitRepo.init(tmp_path / "repo")


def test_repo_commits_are_real_and_reproducible(tmp_path: Path) -> None:
    shas = []
    for name in ("a", "b"):
        r = g.GitRepo.init(tmp_path / name)
        r.write_objects(g.guestbook_manifests(replicas=1), folder="guestbook")
        shas.append(r.commit("first").sha)
        assert (tmp_path / name / ".git").is_dir()
        assert r.files(folder="guestbook") == ["guestbook-ui-deployment.yaml", "guestbook-ui-service.yaml"]
    assert shas[0] == shas[1] and len(shas[0]) == 40


def test_second_commit_diff_and_sync_plan(repo: g.GitRepo) -> None:
    repo.write_objects(g.guestbook_manifests(replicas=1), folder="guestbook")
    first = repo.commit("v1")
    repo.write_objects(g.guestbook_manifests(replicas=3), folder="guestbook")
    second = repo.commit("v2")
    assert [c.subject for c in repo.log()] == ["v2", "v1"]
    text = repo.diff(first, second, folder="guestbook")
    assert "-  replicas: 1" in text and "+  replicas: 3" in text
    plan = repo.sync_plan(first, second, folder="guestbook")
    assert plan.actions == {"guestbook-ui (Deployment)": "change", "guestbook-ui (Service)": "unchanged"}
    assert plan.changes[0].fields == ("spec.replicas: 1 → 3",)
    assert not plan.in_sync and repo.sync_plan(second, second, folder="guestbook").in_sync


def test_removing_a_file_prunes_or_orphans(repo: g.GitRepo) -> None:
    repo.write_objects(g.guestbook_manifests(), folder="guestbook")
    first = repo.commit("both")
    repo.write_objects(g.guestbook_manifests()[:1], folder="guestbook")
    second = repo.commit("drop service")
    assert repo.files(second.sha, folder="guestbook") == ["guestbook-ui-deployment.yaml"]
    assert repo.sync_plan(first, second, folder="guestbook").of("prune") == ["Service/guestbook-ui"]
    assert repo.sync_plan(first, second, folder="guestbook", prune=False).of("orphan") == ["Service/guestbook-ui"]


def test_commit_without_change_and_bad_revision_are_refused(repo: g.GitRepo) -> None:
    repo.write_objects(g.guestbook_manifests(), folder="guestbook")
    repo.commit("one")
    with pytest.raises(ConfigError, match="nothing to commit"):
        repo.commit("again")
    with pytest.raises(ConfigError, match="not a revision"):
        repo.objects_at("HEAD; rm -rf /")
    with pytest.raises(ConfigError, match="outside"):
        repo.write_objects([], folder="../elsewhere")


def test_diff_objects_ignores_server_fields_and_detects_creation() -> None:
    desired = g.guestbook_manifests(replicas=2)
    live = [dict(o) for o in g.guestbook_manifests(replicas=2)]
    live[0] = {**live[0], "status": {"readyReplicas": 2}}
    live[0]["metadata"] = {**live[0]["metadata"], "uid": "x", "resourceVersion": "7", "managedFields": []}
    assert g.diff_objects(live, desired).in_sync
    assert g.diff_objects([], desired).of("create") == ["Deployment/guestbook-ui", "Service/guestbook-ui"]
    drift = g.diff_objects(g.guestbook_manifests(replicas=5), desired)
    assert drift.changes[0].fields == ("spec.replicas: 5 → 2",)
    assert list(drift.to_frame().columns) == ["kind", "namespace", "name", "action", "fields"]


def test_guestbook_manifests_validate_and_reject_bad_replicas() -> None:
    assert m.validate(g.guestbook_manifests(replicas=4)).ok
    with pytest.raises(ConfigError):
        g.guestbook_manifests(replicas=-1)
    assert "02/guestbook-manifests" in m.registered()
    assert m.validate(m.render("02/prune-exercise")).ok


def test_charts_pinned_and_terraform_reuses_provision() -> None:
    charts = g.charts()
    from course_lib.pins import ARGOCD_CHART_VERSION

    assert charts["argocd"].version == ARGOCD_CHART_VERSION
    assert f"--version {ARGOCD_CHART_VERSION}" in charts["argocd"].commands
    assert "server.service.type=LoadBalancer" in charts["argocd"].commands
    hcl = charts["sealed-secrets"].terraform()
    assert 'chart            = "sealed-secrets"' in hcl and 'version          = "2.19.3"' in hcl
    assert 'resource "kubernetes_manifest" "guestbook_app"' in g.argocd_terraform()


class _FakeCluster:
    dry_run = False

    def __init__(self, secret: dict[str, Any] | None = None, replicas: list[int] | None = None) -> None:
        self.secret = secret
        self.replicas = replicas or []
        self.patched: list[dict[str, Any]] = []
        self.dynamic = self

    # kubeconfig-like surface used by gitops
    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        if kind == "Secret":
            if self.secret is None:
                raise ClusterError(f"Secret {name} not found", reason="NotFound")
            return self.secret
        value = self.replicas.pop(0) if len(self.replicas) > 1 else self.replicas[0]
        return {"spec": {"replicas": value}}

    class resources:  # noqa: N801 - mimics DynamicClient.resources
        @staticmethod
        def get(**kwargs: Any) -> str:
            return f"{kwargs['api_version']}/{kwargs['kind']}"

    def patch(self, resource: Any, **kwargs: Any) -> None:
        self.patched.append(kwargs["body"])


def test_initial_admin_secret_never_returns_the_password() -> None:
    secret = {"data": {"password": base64.b64encode(b"s3cr3t-pass").decode()}}
    status = g.initial_admin_secret(_FakeCluster(secret))
    assert status.found and status.length == 11
    assert "s3cr3t" not in str(status) and "argocd-initial-admin-secret" in str(status)
    assert not g.initial_admin_secret(_FakeCluster(None)).found


def test_self_heal_experiment_sees_the_revert() -> None:
    clock_values = iter(float(i) for i in range(100))
    fake = _FakeCluster(replicas=[1, 5, 5, 1])
    run = g.self_heal_experiment(fake, clock=lambda: next(clock_values), sleep=lambda s: None, timeout=50)
    assert run.reverted and run.desired == 1 and fake.patched == [{"spec": {"replicas": 5}}]
    assert [r for _, r in run.samples] == [5, 5, 5, 1]
    with pytest.raises(ClusterError):
        g.self_heal_experiment(cl.cluster.connect("sandbox", dry_run=True))


def test_self_heal_experiment_times_out() -> None:
    clock_values = iter(float(i) for i in range(100))
    run = g.self_heal_experiment(
        _FakeCluster(replicas=[1, 5]), clock=lambda: next(clock_values), sleep=lambda s: None, timeout=5
    )
    assert not run.reverted


@pytest.mark.parametrize(
    ("answer", "passed", "fragment"),
    [
        ({"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}, True, "creates"),
        ({"syncOptions": ["CreateNamespace=true"]}, False, "manual-sync"),
        ({"automated": {"prune": True, "selfheal": True}, "syncOptions": ["CreateNamespace=true"]}, False, "case"),
        ({"automated": {"prune": False, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}, False, "prune"),
        (
            {"automated": {"prune": True, "selfHeal": "true"}, "syncOptions": ["CreateNamespace=true"]},
            False,
            "selfHeal",
        ),
        ({"automated": {"prune": True, "selfHeal": True}}, False, "namespace"),
        ("automated", False, "dict"),
    ],
)
def test_check_sync_policy(answer: Any, passed: bool, fragment: str) -> None:
    result = cl.check("02-sync-policy", answer)
    assert result.passed is passed
    assert fragment in result.message
    assert passed or result.hint


@pytest.mark.parametrize(
    ("answer", "passed", "fragment"),
    [
        (["ConfigMap/old-banner"], True, "old-banner"),
        (["ConfigMap/old-banner", "PodDisruptionBudget/guestbook-ui"], False, "creates"),
        (["Service/guestbook-ui"], False, "updated"),
        ([], False, "missing"),
        (["ConfigMap/old-banner", "ConfigMap/guestbook-config"], False, "unchanged"),
        (["old-banner"], False, "Kind/name"),
        ("ConfigMap/old-banner", False, "list"),
    ],
)
def test_check_pruned_objects(answer: Any, passed: bool, fragment: str) -> None:
    result = cl.check("02-pruned-objects", answer)
    assert result.passed is passed
    assert fragment in result.message


class _AppCluster:
    """The two calls :class:`gitops.Applications` makes of a Cluster: a GET of the Application, a merge patch."""

    dry_run = False
    target = "kubeconfig"

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses
        self.patches: list[tuple[str, str, dict[str, Any], str]] = []
        self.dynamic = self

    def get_raw(self, path: str, *, timeout: float) -> Any:
        assert path == "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/guestbook"
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return type("Response", (), {"text": json.dumps({"metadata": {"name": "guestbook"}, "status": status})})

    def get(self, kind: str, name: str, *, namespace: str, api_version: str) -> dict[str, Any]:
        assert (kind, api_version, namespace) == ("Application", "argoproj.io/v1alpha1", "argocd")
        return {"spec": {"syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}}

    class resources:  # noqa: N801 - the dynamic client's attribute
        @staticmethod
        def get(*, api_version: str, kind: str) -> str:
            return f"{api_version}/{kind}"

    def patch(self, resource: Any, *, name: str, namespace: str, body: dict[str, Any], content_type: str) -> None:
        assert resource == "argoproj.io/v1alpha1/Application"
        self.patches.append((name, namespace, body, content_type))


def test_applications_wait_until_the_controller_reports_and_say_what_was_last_seen() -> None:
    ticks = iter(float(i) for i in range(100))
    synced = {"sync": {"status": "Synced", "revision": "abcdef1234"}, "health": {"status": "Healthy"}}
    apps = g.Applications(_AppCluster([{}, {"sync": {"status": "OutOfSync"}}, synced]))
    seconds, state = apps.wait("guestbook", health="Healthy", clock=lambda: next(ticks), sleep=lambda s: None)
    assert (state.sync, state.health, state.revision, seconds) == ("Synced", "Healthy", "abcdef1234", 3.0)
    assert str(state) == "guestbook: Synced, Healthy at abcdef1"
    ticks = iter(float(i) for i in range(100))
    late = g.Applications(_AppCluster([{}]), diagnose=lambda: "controller log: nothing")
    with pytest.raises(
        ClusterError, match=r"did not reach sync=Synced .*\(last: guestbook: Unknown, Unknown\)"
    ) as info:
        late.wait("guestbook", timeout=3, clock=lambda: next(ticks), sleep=lambda s: None)
    assert "controller log: nothing" in info.value.message and "kubectl -n argocd" in info.value.hint
    with pytest.raises(ClusterError, match="dry run"):
        g.Applications(cl.cluster.connect("sandbox", dry_run=True))


def test_applications_refresh_and_sync_are_merge_patches_of_the_application() -> None:
    fake = _AppCluster([{}])
    apps = g.Applications(fake)
    apps.refresh("guestbook")
    apps.sync("guestbook", prune=True, revision="abc1234")
    (_, _, refresh, kind), (_, _, sync, _) = fake.patches
    assert kind == "application/merge-patch+json"
    assert refresh == {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}}
    assert sync["operation"]["sync"] == {"prune": True, "syncOptions": ["CreateNamespace=true"], "revision": "abc1234"}


def test_publish_pushes_each_commit_to_a_remote_and_refuses_a_bad_one(repo: g.GitRepo, tmp_path: Path) -> None:
    remote = g.GitRepo(tmp_path / "remote.git")
    remote.path.mkdir()
    remote.git("init", "--quiet", "--bare")
    repo.write_objects(g.guestbook_manifests(replicas=1), folder="guestbook")
    first = repo.commit("v1")
    assert not repo.published
    report = repo.publish(remote.path.as_uri())
    assert "refs/heads/main" in report and repo.published
    assert remote.git("rev-parse", "main").strip() == first.sha
    repo.write_objects(g.guestbook_manifests(replicas=3), folder="guestbook")
    second = repo.commit("v2")  # pushed as part of the commit
    assert remote.git("rev-parse", "main").strip() == second.sha
    assert g.repo_url(repo, local=False, remote=remote.path.as_uri()) == remote.path.as_uri()
    assert g.repo_url(repo, local=False) == g.EXAMPLE_REPO
    with pytest.raises(ConfigError, match="user name or password"):
        repo.publish("https://you:secret@example.com/gitops.git")
    # the part again, from a new folder: the same first commit; the remote is set back to it, then moves on again
    again = g.GitRepo.init(tmp_path / "again")
    again.write_objects(g.guestbook_manifests(replicas=1), folder="guestbook")
    assert again.commit("v1") == first
    again.publish(remote.path.as_uri())
    assert remote.git("rev-parse", "main").strip() == first.sha
    again.write_objects(g.guestbook_manifests(replicas=3), folder="guestbook")
    assert again.commit("v2") == second and remote.git("rev-parse", "main").strip() == second.sha
    # a remote holding a commit that is not the course's is never pushed over
    theirs = g.GitRepo.init(tmp_path / "theirs")
    someone = {"GIT_AUTHOR_NAME": "Someone", "GIT_AUTHOR_EMAIL": "s@example.com", "GIT_COMMITTER_NAME": "Someone",
               "GIT_COMMITTER_EMAIL": "s@example.com", "HOME": str(tmp_path)}  # fmt: skip
    for argv in (["commit", "--allow-empty", "-m", "x"], ["push", "--quiet", remote.path.as_uri(), "+main:main"]):
        subprocess.run(["git", "-C", str(theirs.path), *argv], env={**os.environ, **someone}, check=True)
    with pytest.raises(ConfigError, match="already holds commits that are not this part's"):
        again.publish(remote.path.as_uri())
    assert remote.git("log", "-1", "--format=%s", "main").strip() == "x"
    with pytest.raises(ToolError, match="git ls-remote"):  # nothing there at all
        again.publish((tmp_path / "missing.git").as_uri())
