"""Part 02's break-and-fix drills (notebook 02_gitops_argocd): see :mod:`course_lib.drills`.

``02-app-wrong-path``: a team moved its manifests in Git from ``guestbook/`` to ``apps/guestbook/`` and committed;
the Argo CD Application that deploys them still names the old folder. Nothing in the cluster fails: the namespace
stays empty and the Application reports sync ``Unknown`` with a ``ComparisonError`` condition (``app path does not
exist``), which only ``kubectl describe`` shows. The sandbox's real Argo CD (application controller, repo-server)
reads the drill's own Git repository (``file://``, in the course's state folder); the learner fixes the
Application (``kubectl patch``) or the repository (a commit), and the probe reads what the controller reports and
what it created.
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

NAMESPACE = "drill-02"
APPLICATION = "drill-02-guestbook"
ARGOCD_NAMESPACE = "argocd"
OLD_PATH = "guestbook"
NEW_PATH = "apps/guestbook"
REPLICAS = 2


def workdir() -> Path:
    """The drill's Git repository (in the course's state folder): the learner may commit to it."""
    return state_dir() / "drills" / "02-app-wrong-path" / "repo"


def app_verdict(app: dict[str, Any] | None, deployment: dict[str, Any] | None) -> Verdict:
    """What the application controller reports on the drill's Application, and whether its Deployment runs.

    Example:
        >>> app = {"status": {"sync": {"status": "Unknown"}, "health": {"status": "Healthy"},
        ...        "conditions": [{"type": "ComparisonError", "message": "guestbook: app path does not exist"}]}}
        >>> app_verdict(app, None).message
        'drill-02-guestbook: sync Unknown, health Healthy; ComparisonError: guestbook: app path does not exist'
    """
    if app is None:
        return Verdict(False, f"the Application {APPLICATION} is gone", "the drill's check needs it: start it again")
    sync, health = app_summary(app)
    errors = app_errors(app)
    found = f"{APPLICATION}: sync {sync}, health {health}" + (f"; {errors[0]}" if errors else "")
    if errors or sync != "Synced":
        return Verdict(
            False,
            found,
            "read the Application's conditions (`kubectl -n argocd describe application …`), then compare its "
            "`spec.source.path` with the folders at the repository's newest commit (`git ls-tree -r HEAD`)",
        )
    if deployment is None:
        return Verdict(
            False,
            f"{found}, but no Deployment guestbook-ui in {NAMESPACE}",
            "Synced to a folder that holds none of the guestbook's files: list the files the repository has at HEAD "
            "and point the Application at the folder that holds them",
        )
    ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
    if health != "Healthy" or ready < REPLICAS:
        return Verdict(
            False,
            f"{found}; guestbook-ui {ready}/{REPLICAS} ready",
            f"synced: wait for the rollout (`kubectl -n {NAMESPACE} rollout status deployment/guestbook-ui`)",
        )
    return Verdict(True, f"{found}; guestbook-ui {ready}/{REPLICAS} ready, created by Argo CD from Git")


@drill
class AppWrongPath(Drill):
    """An Application whose ``spec.source.path`` names a folder that moved in Git: nothing is deployed, nothing
    fails where one usually looks."""

    id = "02-app-wrong-path"
    title = "an Application that never deploys"
    symptom = (
        f"the guestbook's Application exists, yet `kubectl -n {NAMESPACE} get deploy` finds nothing: its SYNC STATUS "
        "stays Unknown"
    )
    first_look = f"kubectl -n {ARGOCD_NAMESPACE} describe application {APPLICATION}"
    needs = "argocd"
    sandbox_only = "this drill's Git repository is a folder on this machine, which only the sandbox's Argo CD reads"

    def application(self) -> dict[str, Any]:
        """The drill's Application: automated sync of the old folder into ``drill-02``."""
        from .. import gitops
        from .. import manifests as m

        repo = gitops.GitRepo(workdir())
        return m.argo_application(
            APPLICATION, repo_url=gitops.repo_url(repo, local=True), path=OLD_PATH, dest_namespace=NAMESPACE
        )

    def break_(self) -> None:
        from .. import gitops

        argo = self.session.gitops()  # the sandbox's Argo CD (started, or the running one)
        if argo is None:  # pragma: no cover - start() checked the capability
            raise RuntimeError("the sandbox's Argo CD does not run")
        repo = gitops.GitRepo.init(workdir())
        repo.write_objects(gitops.guestbook_manifests(replicas=REPLICAS, namespace=NAMESPACE), folder=OLD_PATH)
        repo.commit("guestbook: the first version")
        (repo.path / NEW_PATH).parent.mkdir(parents=True, exist_ok=True)
        repo.git("mv", OLD_PATH, NEW_PATH)
        repo.commit("move every app under apps/")
        self.state["repo"] = str(repo.path)
        app = self.application()
        self.session.cluster.apply(app)
        self.state["spec"] = app["spec"]
        self.state["head"] = repo.head().sha
        # hand over once the controller shows the symptom (a controller that never reports fails here, loudly)
        poll(
            lambda: app_errors(self._app()),
            timeout=60,
            what=f"Argo CD reporting the ComparisonError of {APPLICATION}",
            hint="is Argo CD's application controller running? (`course sandbox status`)",
        )

    def _app(self) -> dict[str, Any] | None:
        return application(self.session.cluster, APPLICATION, ARGOCD_NAMESPACE)

    def probe(self) -> Verdict:
        app = self._app()
        verdict = app_verdict(app, get_or_none(self.session.cluster, "Deployment", "guestbook-ui", NAMESPACE))
        untouched = app_untouched(app, self.state, Path(self.state.get("repo") or workdir()))
        return Verdict(verdict.fixed, verdict.message, verdict.hint, attempted=verdict.fixed or not untouched)

    def clean(self) -> None:
        cluster = self.session.cluster
        delete_application(cluster, self.application())  # first: with selfHeal it would recreate what goes next
        delete_namespace(cluster, NAMESPACE)
        shutil.rmtree(workdir().parent, ignore_errors=True)
