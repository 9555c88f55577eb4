"""Argo CD on the sandbox without running it: settings objects, the argv of each component, status lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_lib import gitops
from course_lib import manifests as m
from course_lib.errors import ConfigError
from course_lib.sandbox import _argocd, _stack


def test_settings_objects_are_what_argocd_reads() -> None:
    objs = {(o["kind"], o["metadata"]["name"]): o for o in _argocd.settings_objects()}
    cm = objs[("ConfigMap", "argocd-cm")]
    # without the part-of label Argo CD's settings informer does not see the ConfigMap
    assert cm["metadata"]["labels"] == {"app.kubernetes.io/part-of": "argocd"}
    lua = cm["data"]["resource.customizations.health.argoproj.io_Application"]
    assert "obj.status.health.status" in lua and lua.rstrip().endswith("return hs")
    assert objs[("Secret", "argocd-secret")]["stringData"]["server.secretkey"]
    assert ("ConfigMap", "argocd-rbac-cm") in objs
    project = objs[("AppProject", "default")]
    # loopback only: no repository or API server on another machine is permitted
    assert project["spec"]["sourceRepos"] == ["file:///**"]
    assert {d["server"] for d in project["spec"]["destinations"]} == {
        "https://kubernetes.default.svc",
        "https://127.0.0.1:*",
    }
    assert all(o["metadata"].get("namespace") in (None, "argocd") for o in objs.values())


def test_argocd_cm_carries_argo_cd_3s_default_resource_exclusions() -> None:
    import yaml

    cm = next(o for o in _argocd.settings_objects() if o["metadata"]["name"] == "argocd-cm")
    exclusions = yaml.safe_load(cm["data"]["resource.exclusions"])
    kinds = {k for e in exclusions for k in e["kinds"]}
    assert {"Endpoints", "EndpointSlice", "Lease", "PolicyReport", "EphemeralReport"} <= kinds
    assert not kinds & {"Deployment", "Service", "ConfigMap", "Secret", "Application"}  # what the course syncs
    # the same list as the install manifest of the Argo CD the sandbox runs, when its Go module is at hand
    from course_lib import tools

    version = tools.read_pins()["ARGOCD_VERSION"]
    gomodcache = Path(os.environ.get("GOMODCACHE") or Path.home() / "go" / "pkg" / "mod")
    upstream = gomodcache / f"github.com/argoproj/argo-cd/v3@{version}" / "manifests/base/config/argocd-cm.yaml"
    if not upstream.is_file():
        pytest.skip(f"Argo CD {version}'s module is not in the Go module cache (make tools downloads it)")
    theirs = yaml.safe_load(yaml.safe_load(upstream.read_text())["data"]["resource.exclusions"])
    assert exclusions[: len(theirs)] == theirs
    assert exclusions[len(theirs) :] == [dict(e) for e in _argocd._base.SANDBOX_EXCLUSIONS]  # and the sandbox's own


def test_the_sandbox_excludes_the_groups_of_every_crd_project_but_argo_cd_and_sealed_secrets() -> None:
    """Kept in step with ``pins.UPSTREAM_CRDS``: a new project's kinds are left out too, the synced ones never."""
    from fnmatch import fnmatch

    from course_lib.sandbox import crds

    if not crds.available():
        pytest.skip("upstream's CRDs are not fetched: run `make tools`")
    groups = [g for e in _argocd._base.SANDBOX_EXCLUSIONS for g in e["apiGroups"]]
    assert all(e["kinds"] == ["*"] for e in _argocd._base.SANDBOX_EXCLUSIONS)
    for fetched in crds.manifest():
        excluded = any(fnmatch(fetched.group, g) for g in groups)
        assert excluded == (fetched.project not in {"Argo CD", "Sealed Secrets"}), fetched


def test_every_component_binds_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_argocd._base, "binary", lambda: "/bin/argocd")
    monkeypatch.setattr(_argocd.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(_argocd._base, "_shims", lambda workdir: workdir / "bin")
    ports = {name: 40000 + i for i, name in enumerate(_argocd.PORT_NAMES)}
    comps = {c.name: c for c in _argocd._components(tmp_path, "/k.yaml", "argocd", ports)}
    assert list(comps) == list(_argocd.COMPONENTS)
    redis = comps["redis"].argv
    assert redis[redis.index("--bind") + 1] == "127.0.0.1" and redis[redis.index("--save") + 1] == ""
    repo = comps["repo-server"].argv
    assert repo[repo.index("--address") + 1] == "127.0.0.1" and repo[repo.index("--metrics-address") + 1] == "127.0.0.1"
    appset = comps["applicationset-controller"].argv
    for flag in ("--metrics-addr", "--probe-addr", "--webhook-addr"):
        assert appset[appset.index(flag) + 1].startswith("127.0.0.1:")
    for c in comps.values():
        assert c.env[_stack.MARKER_ENV] == str(_argocd.state_file())  # found by `course sandbox down`
        assert c.env["HTTPS_PROXY"] == c.env["HTTP_PROXY"] == "http://127.0.0.1:9"  # nothing leaves the machine
        if c.name != "redis":
            assert c.env["ARGOCD_BINARY_NAME"] == f"argocd-{c.name}" and c.env["ARGOCD_FAKE_IN_CLUSTER"] == "true"
    ctrl = comps["application-controller"].argv
    assert ctrl[ctrl.index("--redis") + 1] == f"127.0.0.1:{ports['redis']}"
    assert ctrl[ctrl.index("--repo-server") + 1] == f"127.0.0.1:{ports['repo-server']}"


def test_status_when_nothing_runs_and_the_overview_line() -> None:
    info = _argocd.status()
    assert info["recorded"] is False and info["components"] == []
    assert "on demand" in "\n".join(_argocd.status_lines(info))
    assert not _stack.SandboxOverview(_stack.status(), {"recorded": False}, info).running


def test_up_without_the_programs_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib.errors import ToolMissingError

    monkeypatch.setattr(_argocd._base, "binary", lambda: None)
    with pytest.raises(ToolMissingError, match="argocd"):
        _argocd.up("/nonexistent/kubeconfig")


def test_repo_url_is_the_local_repository_on_the_sandbox(tmp_path: Path) -> None:
    repo = gitops.GitRepo.init(tmp_path / "r")
    url = gitops.repo_url(repo, local=True)
    assert url == f"file://{repo.path}"
    assert gitops.repo_url(repo, local=False) == gitops.EXAMPLE_REPO
    app = m.argo_application("g", repo_url=url, path="g", dest_namespace="g")
    assert app["spec"]["source"]["repoURL"] == url
    with pytest.raises(ConfigError):
        m.argo_application("g", repo_url="file://relative", path="g", dest_namespace="g")


def test_relabel_waits_for_the_applicationset_controller() -> None:
    from course_lib import regions as rg

    class FakeArgo:  # the controller removes fra1's Application on the second look
        def __init__(self) -> None:
            self.looks = 0
            self.registered: list[tuple[str, dict]] = []

        def register_cluster(self, name: str, *, labels: dict, kubeconfig: str | None = None) -> dict:
            self.registered.append((name, labels))
            return {"stringData": {"name": name}, "metadata": {"labels": {"argocd.argoproj.io/secret-type": "cluster",
                                                                          **labels}}}  # fmt: skip

        def kubectl(self, *args: str) -> str:
            self.looks += 1
            names = ["application.argoproj.io/g-nyc1"]
            return "\n".join(names + (["application.argoproj.io/g-fra1"] if self.looks < 2 else []))

    argo = FakeArgo()
    fleet = rg.LocalFleet(
        {"nyc1": "/k1", "fra1": "/k2"},
        tuple(argo.register_cluster(r, labels={"env": "production", "region": r}) for r in ("nyc1", "fra1")),
    )
    appset = m.argo_application_set(
        "g", repo_url="file:///r", path="g", app_namespace="g", cluster_labels={"env": "production"}
    )
    new, seconds = rg.relabel(argo, fleet, "fra1", appset=appset, env="staging")
    assert new.labels()["fra1"] == {"env": "staging", "region": "fra1"}
    assert argo.looks == 2 and seconds >= 0


def test_fingerprint_changes_with_the_control_planes_certificates(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("first CA")
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(
        f"clusters:\n- cluster:\n    certificate-authority: {ca}\n    server: https://127.0.0.1:1\n  name: c\n"
    )
    before = _argocd.fingerprint(str(kubeconfig))
    ca.write_text("second CA")  # the control plane was started again at the same path
    assert before and _argocd.fingerprint(str(kubeconfig)) != before
