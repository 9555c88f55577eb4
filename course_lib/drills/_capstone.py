"""Part 10's break-and-fix drills (notebook 10_capstone): see :mod:`course_lib.drills`.

``10-root-no-children``: an app of apps whose root Application syncs the folder ``apps/`` of the drill's Git
repository, where the platform team keeps one sub-folder per area (``apps/platform/``, ``apps/shop/``), each with a
child Application. The root reads only the folder itself (``directory.recurse`` is off), so it finds no manifest,
syncs nothing and reports **Synced** and **Healthy**: the platform is simply not there, and nothing is red. The
sandbox's real Argo CD runs it: once the learner makes the root read the sub-folders (``kubectl patch`` of the root,
or a commit that moves the files up), the root creates both children wave by wave and each child deploys its
guestbook. The probe reads the live Applications and what they created.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..config import state_dir
from . import Drill, Verdict, drill
from ._live import (
    app_errors,
    app_summary,
    app_untouched,
    application,
    delete_application,
    delete_namespace,
    get_or_none,
    poll,
)

ROOT = "drill-10-root"
ARGOCD_NAMESPACE = "argocd"
#: the child Applications: name, sub-folder of apps/, sync wave; each deploys a guestbook into the namespace named
#: like the child
CHILDREN = (("drill-10-db", "platform", -1), ("drill-10-web", "shop", 0))


def workdir() -> Path:
    """The drill's Git repository (in the course's state folder): the learner may commit to it."""
    return state_dir() / "drills" / "10-root-no-children" / "repo"


def root_verdict(
    root: dict[str, Any] | None, children: dict[str, dict[str, Any] | None], ready: dict[str, int]
) -> Verdict:
    """The root Application's state, its children's, and the ready replicas of each child's guestbook.

    Example:
        >>> root = {"status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}}
        >>> root_verdict(root, {"drill-10-db": None, "drill-10-web": None}, {}).message
        'drill-10-root: sync Synced, health Healthy; 0 of 2 child Applications exist'
    """
    if root is None:
        return Verdict(False, f"the root Application {ROOT} is gone", "the drill's check needs it: start it again")
    sync, health = app_summary(root)
    errors = app_errors(root)
    found = f"{ROOT}: sync {sync}, health {health}" + (f"; {errors[0]}" if errors else "")
    present = {name: app for name, app in children.items() if app is not None}
    if errors or sync != "Synced" or len(present) < len(children):
        return Verdict(
            False,
            f"{found}; {len(present)} of {len(children)} child Applications exist",
            "list the files the root's `spec.source.path` holds at the repository's newest commit, and read how "
            "the root reads a folder (`spec.source.directory`): which of them does it see?",
        )
    waiting = [] if health == "Healthy" else [f"{ROOT} {health}"]
    for name, app in present.items():
        child_sync, child_health = app_summary(app)
        if child_sync != "Synced" or child_health != "Healthy" or ready.get(name, 0) < 1:
            waiting.append(f"{name} {child_sync}/{child_health}, {ready.get(name, 0)} ready")
    if waiting:
        return Verdict(
            False,
            f"{found}; children: {'; '.join(waiting)}",
            "the root creates a wave once the wave before it is Healthy: "
            "`kubectl -n argocd get applications -w` shows them arrive",
        )
    return Verdict(True, f"{found}; {', '.join(present)} Synced and Healthy, each guestbook running, from Git")


@drill
class RootNoChildren(Drill):
    """An app of apps whose root reads only its own folder, while the child Applications live in sub-folders."""

    id = "10-root-no-children"
    title = "a root Application that deploys no platform"
    symptom = (
        f"the root Application {ROOT} is Synced and Healthy, yet `kubectl -n argocd get applications` lists none of "
        "its children, and the platform's namespaces do not exist"
    )
    first_look = f"kubectl -n {ARGOCD_NAMESPACE} get application {ROOT} -o yaml"
    needs = "argocd"
    sandbox_only = "this drill's Git repository is a folder on this machine, which only the sandbox's Argo CD reads"

    def root(self) -> dict[str, Any]:
        """The root Application: automated sync of ``apps/``, reading that folder only."""
        from .. import gitops
        from .. import manifests as m

        root = m.argo_app_of_apps(ROOT, repo_url=gitops.repo_url(gitops.GitRepo(workdir()), local=True))
        root["spec"]["source"].pop("directory")  # apps/ only: the break
        root["metadata"].pop("finalizers")  # clean() deletes the children itself, even with no controller running
        return root

    def break_(self) -> None:
        from .. import gitops
        from .. import manifests as m

        if self.session.gitops() is None:  # pragma: no cover - start() checked the capability
            raise RuntimeError("the sandbox's Argo CD does not run")
        repo = gitops.GitRepo.init(workdir())
        url = gitops.repo_url(repo, local=True)
        for name, area, wave in CHILDREN:
            repo.write_objects(gitops.guestbook_manifests(namespace=name), folder=f"workloads/{name}")
            child = m.argo_application(name, repo_url=url, path=f"workloads/{name}", dest_namespace=name)
            child["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
            repo.write_objects([child], folder=f"apps/{area}")
        repo.commit("platform: the database and the shop, one folder per area")
        root = self.root()
        self.session.cluster.apply(root)
        self.state.update(repo=str(repo.path), spec=root["spec"], head=repo.head().sha)
        poll(  # the symptom: the root has compared apps/ with the cluster, found nothing to do, and says so
            lambda: app_summary(self._root() or {}) == ("Synced", "Healthy"),
            timeout=60,
            what=f"Argo CD reporting {ROOT} Synced",
            hint="is Argo CD's application controller running? (`course sandbox status`)",
        )

    def _root(self) -> dict[str, Any] | None:
        return application(self.session.cluster, ROOT, ARGOCD_NAMESPACE)

    def probe(self) -> Verdict:
        cluster = self.session.cluster
        root = self._root()
        children = {name: application(cluster, name, ARGOCD_NAMESPACE) for name, _, _ in CHILDREN}
        ready = {
            name: int(((get_or_none(cluster, "Deployment", "guestbook-ui", name) or {}).get("status") or {}).get(
                "readyReplicas") or 0)
            for name, _, _ in CHILDREN
        }  # fmt: skip
        verdict = root_verdict(root, children, ready)
        untouched = app_untouched(root, self.state, Path(self.state.get("repo") or workdir()))
        return Verdict(verdict.fixed, verdict.message, verdict.hint, attempted=verdict.fixed or not untouched)

    def clean(self) -> None:
        from .. import manifests as m

        cluster = self.session.cluster
        # the root first (it would create its children again), then the children (they would heal their objects)
        apps = [self.root()] + [
            m.argo_application(name, repo_url="file:///nowhere", path=".", dest_namespace=name)
            for name, _, _ in CHILDREN
        ]
        for app in apps:
            delete_application(cluster, app)
        for name, _, _ in CHILDREN:
            delete_namespace(cluster, name)
        shutil.rmtree(workdir().parent, ignore_errors=True)
