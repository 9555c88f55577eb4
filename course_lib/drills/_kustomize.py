"""Part 07's break-and-fix drills (notebook 07_kustomize): see :mod:`course_lib.drills`.

``07-patch-misses``: a ``staging`` overlay of the course's kustomize base is meant to run the checkout with 3
replicas and a ``team: payments`` label, through a patch with a ``target`` selector. The target names the
Deployment ``checkout-api``, which does not exist: Kustomize applies a targeted patch to every object that matches,
and zero is a valid number of matches, so the build succeeds without the change, ``kubectl apply -k`` reports
success, and staging runs 2 replicas. The learner fixes the target in the files and applies the overlay again; the
probe reads the live Deployment and builds the overlay (a ``kubectl scale`` by hand would be undone by the next
``apply -k``).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import tools
from ..config import state_dir
from ..errors import CourseError
from ..manifests import namespace
from . import Drill, Verdict, drill
from ._live import delete_namespace, generations, get_or_none

NAMESPACE = "drill-07"
DEPLOYMENT = "staging-checkout"
REPLICAS = 3
LABEL = ("team", "payments")

OVERLAY = f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - ../../base

namePrefix: staging-
namespace: {NAMESPACE}

patches:
  - path: staging_scale.yaml
    target:
      kind: Deployment
      name: checkout-api
"""

PATCH = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  labels:
    {LABEL[0]}: {LABEL[1]}
spec:
  replicas: {REPLICAS}
"""


def workdir() -> Path:
    """Where the drill writes the kustomize tree the learner edits (in the course's state folder)."""
    return state_dir() / "drills" / "07-patch-misses"


def overlay_dir() -> Path:
    """The drill's ``staging`` overlay (``kubectl apply -k`` this folder)."""
    return workdir() / "kustomize" / "overlays" / "staging"


def _deployment(objects: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((o for o in objects if o.get("kind") == "Deployment" and o["metadata"].get("name") == DEPLOYMENT), None)


def patch_verdict(live: Mapping[str, Any] | None, built: Mapping[str, Any] | None, build_error: str = "") -> Verdict:
    """The live Deployment runs 3 ready replicas with the ``team`` label, and the overlay itself builds to that.

    Example:
        >>> live = {"metadata": {"labels": {}}, "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
        >>> patch_verdict(live, live).message
        'staging-checkout runs 2 replicas (want 3), label team=None'
    """
    if live is None:
        return Verdict(
            False, f"deployment {DEPLOYMENT} is gone", f"apply the overlay: `kubectl apply -k {overlay_dir()}`"
        )
    replicas = (live.get("spec") or {}).get("replicas")
    ready = int((live.get("status") or {}).get("readyReplicas") or 0)
    label = ((live.get("metadata") or {}).get("labels") or {}).get(LABEL[0])
    if replicas != REPLICAS or label != LABEL[1]:
        return Verdict(
            False,
            f"{DEPLOYMENT} runs {replicas} replicas (want {REPLICAS}), label {LABEL[0]}={label}",
            "build the overlay (`kubectl kustomize …`) and look for the patch's change in the output: "
            "does the patch's target match any object?",
        )
    if build_error:
        return Verdict(False, f"the overlay does not build: {build_error}", "`kubectl kustomize` names the file")
    built_replicas = ((built or {}).get("spec") or {}).get("replicas")
    built_label = (((built or {}).get("metadata") or {}).get("labels") or {}).get(LABEL[0])
    if built_replicas != REPLICAS or built_label != LABEL[1]:
        return Verdict(
            False,
            f"the live Deployment is right, but the overlay still builds {built_replicas} replicas, "
            f"label {LABEL[0]}={built_label}: the next `kubectl apply -k` undoes a change made by hand",
            "fix the patch in the overlay's files, then apply the overlay",
        )
    if ready < REPLICAS:
        return Verdict(
            False,
            f"{DEPLOYMENT}: {ready}/{REPLICAS} replicas ready so far",
            f"wait for the rollout: `kubectl -n {NAMESPACE} rollout status deployment/{DEPLOYMENT}`",
        )
    return Verdict(True, f"{DEPLOYMENT}: {ready}/{REPLICAS} ready, label {LABEL[0]}={LABEL[1]}, from the overlay")


@drill
class PatchMisses(Drill):
    """A kustomize patch whose target matches nothing: the overlay builds and applies, without the change."""

    id = "07-patch-misses"
    title = "staging ignores its overlay's patch"
    symptom = (
        f"`kubectl apply -k` of the staging overlay succeeds, yet `kubectl -n {NAMESPACE} get deploy {DEPLOYMENT}` "
        f"shows 2 replicas, not the {REPLICAS} the overlay's patch asks for"
    )
    first_look = "kubectl kustomize {overlay}   (overlay: the staging overlay's folder, printed below)"
    needs = "kube-controller-manager"

    def _kubectl(self, *args: str) -> tools.ToolResult:
        return tools.run(
            "kubectl", list(args), env={"KUBECONFIG": str(self.session.kubeconfig)}, what=f"kubectl {args[0]}"
        )

    def break_(self) -> None:
        from ..charts import write_kustomize_tree

        tree = write_kustomize_tree(workdir())
        staging = tree.root / "overlays" / "staging"
        staging.mkdir()
        (staging / "kustomization.yaml").write_text(OVERLAY)
        (staging / "staging_scale.yaml").write_text(PATCH)
        self.state["overlay"] = str(staging)
        cluster = self.session.cluster
        cluster.apply(namespace(NAMESPACE))
        self._kubectl("apply", "-k", str(staging))
        self.state["generations"] = self._seen()

    def _seen(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The Deployment's generation and labels, and the overlay's files: what a learner's fix changes."""
        files = {str(p): p.read_text() for p in sorted(overlay_dir().glob("*")) if p.is_file()}
        return generations(self.session.cluster, [("Deployment", DEPLOYMENT, NAMESPACE)]), files

    def probe(self) -> Verdict:
        from ..cluster import kustomize_build

        cluster = self.session.cluster
        live = get_or_none(cluster, "Deployment", DEPLOYMENT, NAMESPACE)
        built: Mapping[str, Any] | None = None
        error = ""
        try:
            built = _deployment(kustomize_build(overlay_dir()))
        except CourseError as exc:
            error = exc.message.splitlines()[0]
        verdict = patch_verdict(live, built, error)
        untouched = self._seen() == self.state.get("generations")
        return Verdict(verdict.fixed, verdict.message, verdict.hint, attempted=verdict.fixed or not untouched)

    def clean(self) -> None:
        delete_namespace(self.session.cluster, NAMESPACE)
        shutil.rmtree(workdir(), ignore_errors=True)
