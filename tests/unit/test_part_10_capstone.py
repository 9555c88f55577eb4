"""Part 10: the GitOps repository (real git), child Applications, the canary commit, the checklist, the exercise."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from course_lib import ConfigError, check
from course_lib import capstone as cap
from course_lib import manifests as m

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> cap.GitopsRepo:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return cap.write_gitops_repo(tmp_path_factory.mktemp("platform") / "repo", chart=False)


def test_child_app_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError):
        cap.ChildApp("x", "ns", "policy")
    with pytest.raises(ConfigError):
        cap.ChildApp("x", "ns", "policy", chart="kyverno", path="platform/x")
    with pytest.raises(ConfigError, match="pinned"):
        cap.ChildApp("x", "ns", "policy", chart="kyverno", repo=cap.KYVERNO_REPO)
    with pytest.raises(ConfigError):
        cap.ChildApp("Bad_Name", "ns", "policy", path="platform/x")


def test_child_applications_carry_waves_and_sources() -> None:
    apps = {c.name: cap.child_application(c, repo_url="https://github.com/o/r.git") for c in cap.DEFAULT_CHILDREN}
    assert apps["istio-base"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-2"
    assert apps["kyverno"]["spec"]["source"] == {
        "repoURL": cap.KYVERNO_REPO,
        "chart": "kyverno",
        "targetRevision": cap.KYVERNO_CHART_VERSION,
    }
    assert "ServerSideApply=true" in apps["kube-prometheus-stack"]["spec"]["syncPolicy"]["syncOptions"]
    assert apps["policy"]["spec"]["source"]["path"] == "platform/policy"
    assert m.validate(list(apps.values())).ok


@needs_git
def test_repo_is_a_real_committed_git_repository(repo: cap.GitopsRepo) -> None:
    assert (repo.path / ".git").is_dir()
    assert repo.git("status", "--porcelain").strip() == ""
    assert repo.git("rev-parse", "HEAD").strip() == repo.commit
    assert "bootstrap/root-app.yaml" in repo.files
    assert {f"apps/{c.name}.yaml" for c in cap.DEFAULT_CHILDREN} <= set(repo.files)
    assert "platform/policy/kustomization.yaml" in repo.files
    assert "README.md" in repo.tree()


@needs_git
def test_repo_content_is_deterministic(tmp_path: Path, repo: cap.GitopsRepo) -> None:
    again = cap.write_gitops_repo(tmp_path / "again", chart=False)
    assert again.commit == repo.commit  # fixed author, date and content give the same commit


@needs_git
def test_repo_objects_validate_and_kustomize_builds(repo: cap.GitopsRepo) -> None:
    objs = repo.objects()
    assert sum(o["kind"] == "Application" for o in objs) == len(cap.DEFAULT_CHILDREN) + 1
    assert m.validate(objs).ok
    if shutil.which("kubectl"):
        from course_lib.cluster import kustomize_build

        built = kustomize_build(repo.path / "platform" / "policy")
        assert sorted(o["kind"] for o in built) == ["ClusterPolicy", "NetworkPolicy", "NetworkPolicy"]


def test_write_refuses_a_non_empty_folder_and_duplicate_children(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        cap.write_gitops_repo(tmp_path)
    dup = [cap.DEFAULT_CHILDREN[0], cap.DEFAULT_CHILDREN[0]]
    with pytest.raises(ConfigError, match="repeat"):
        cap.write_gitops_repo(tmp_path / "new", children=dup)
    assert not (tmp_path / "new").exists()  # refused before anything was written


@needs_git
def test_canary_step_commits_new_weights(tmp_path: Path) -> None:
    repo = cap.write_gitops_repo(tmp_path / "r", chart=False)
    diff = cap.canary_step(repo, weights={"v1": 70, "v2": 30})
    assert diff.startswith("canary: v1=70%, v2=30%")
    assert "-      weight: 90" in diff and "+      weight: 70" in diff
    assert repo.git("status", "--porcelain").strip() == ""
    assert len(repo.git("log", "--format=%H").split()) == 2
    with pytest.raises(ConfigError):
        cap.canary_step(repo, weights={"v1": 60, "v2": 30})
    with pytest.raises(ConfigError, match="subset"):
        cap.canary_step(repo, weights={"v1": 100})


@needs_git
def test_checklist_passes_and_flags_cost_and_dirty_tree(tmp_path: Path) -> None:
    repo = cap.write_gitops_repo(tmp_path / "r", chart=False)
    spec = cap.platform_spec("course-platform")
    result = cap.checklist(repo, spec=spec, max_hourly_cost=0.5)
    status = {r.check: r.status for r in result.rows}
    assert status["cost under the limit"] == "pass"
    assert status["helm lint charts/checkout"] == "skip"  # written without a chart
    assert status["GitOps repo manifests validate"] == "pass"
    (repo.path / "platform" / "stray.yaml").write_text("kind: Nope\n")
    worse = cap.checklist(repo, spec=spec, max_hourly_cost=0.1)
    status = {r.check: r.status for r in worse.rows}
    assert status["cost under the limit"] == "fail"
    assert status["Git: everything committed"] == "fail"
    assert not worse.ok
    assert set(worse.table().columns) == {"check", "result", "detail"}


def test_deploy_platform_is_guarded(tmp_path: Path) -> None:
    from course_lib.config import Settings

    fake_repo = cap.GitopsRepo(tmp_path, "https://github.com/o/r.git", (), "0" * 40)
    with pytest.raises(ConfigError, match="confirm"):
        cap.deploy_platform(fake_repo, settings=Settings(target="kubeconfig"))
    with pytest.raises(ConfigError, match="Argo CD"):
        cap.deploy_platform(fake_repo, settings=Settings(target="sandbox"), confirm=True)
    with pytest.raises(ConfigError, match="spec"):
        cap.deploy_platform(fake_repo, settings=Settings(target="doks"), confirm=True)


@needs_git
def test_deploy_platform_applies_only_the_root_application(repo: cap.GitopsRepo) -> None:
    from course_lib.config import Settings

    class RecordingCluster:  # a stand-in for a connected cluster: records what would be applied
        target = "kubeconfig"
        applied: list[dict[str, object]] = []

        def apply(self, objs: list[dict[str, object]]) -> list[dict[str, object]]:
            self.applied.extend(objs)
            return objs

    fake = RecordingCluster()
    cap.deploy_platform(repo, settings=Settings(target="kubeconfig"), confirm=True, install_argocd=False, cluster=fake)
    assert [(o["kind"], o["metadata"]["name"]) for o in fake.applied] == [("Application", "root")]  # type: ignore[index]


def test_platform_spec_is_the_seed_cluster() -> None:
    spec = cap.platform_spec("course-platform")
    assert spec.total_nodes == 3 and spec.node_pools[0].size == "s-4vcpu-8gb"


# --- the exercise ---------------------------------------------------------------------------------


def test_exercise_accepts_the_full_list_and_dicts() -> None:
    assert check("10-app-of-apps", list(cap.DEFAULT_CHILDREN)).passed
    as_dicts = [c.__dict__ for c in cap.DEFAULT_CHILDREN]
    assert check("10-app-of-apps", as_dicts).passed


def _children_with(name: str, **changes: object) -> list[cap.ChildApp]:
    return [replace(c, **changes) if c.name == name else c for c in cap.DEFAULT_CHILDREN]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (cap.starter_children(), "policy, demo app"),
        ([c for c in cap.DEFAULT_CHILDREN if c.name != "kyverno"], "no operator chart"),
        (_children_with("policy", wave=-1), "policy (wave -1) does not come after kyverno"),
        (_children_with("istiod", wave=-2), "istiod (wave -2) does not come after istio-base"),
        (_children_with("checkout", wave=0), "demo app syncs no later than"),
        ([*cap.DEFAULT_CHILDREN, cap.DEFAULT_CHILDREN[0]], "same name"),
        ("kyverno, policy", "list of ChildApp"),
        ([{"name": "x"}], "not a valid child"),
    ],
)
def test_exercise_explains_wrong_lists(answer: object, fragment: str) -> None:
    result = check("10-app-of-apps", answer)
    assert not result.passed
    assert fragment in result.message
    assert result.hint


def test_platform_apps_are_registered() -> None:
    objs = m.render("10/platform-apps")
    assert [o["metadata"]["name"] for o in objs] == [c.name for c in cap.DEFAULT_CHILDREN]
    assert m.validate(objs).ok


def test_deploy_platform_installs_argocd_with_the_application_health_check(
    repo: cap.GitopsRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without argocd-cm's health check for Applications the children's sync waves would not gate on a cluster."""
    import yaml

    from course_lib import tools
    from course_lib.config import Settings

    calls: list[list[str]] = []
    values: list[dict] = []

    def fake_run(program: str, args: list[str], **kwargs: object) -> None:
        calls.append([program, *args])
        if "--values" in args:
            values.append(yaml.safe_load(Path(args[args.index("--values") + 1]).read_text()))

    monkeypatch.setattr(tools, "run", fake_run)

    class Fake:
        target = "kubeconfig"

        def apply(self, objs: object) -> object:
            return objs

    cap.deploy_platform(repo, settings=Settings(target="kubeconfig"), confirm=True, cluster=Fake())
    assert any("upgrade" in c for c in calls)
    lua = values[0]["configs"]["cm"]["resource.customizations.health.argoproj.io_Application"]
    assert "obj.status.health.status" in lua
