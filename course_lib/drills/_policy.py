"""Part 05's break-and-fix drills (notebook 05_security_policy): see :mod:`course_lib.drills`.

``05-psa-blocks-app``: a namespace enforces the ``restricted`` Pod Security Standard and a Deployment whose pod
template sets no ``securityContext`` is rolled out into it. kube-controller-manager creates the ReplicaSet, the
ReplicaSet asks for Pods, and Pod Security admission in kube-apiserver rejects every one of them: the Deployment
exists, 0 pods, and the only trace is a ``FailedCreate`` event on the ReplicaSet. The fix is the pod template's
``securityContext`` — not relabelling the namespace to ``privileged``, which the probe refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..manifests import pod_security_namespace
from . import Drill, Verdict, drill
from ._live import delete_namespace, generations, get_or_none, poll

NAMESPACE = "drill-05"
APP = "shop"
REPLICAS = 2
ENFORCE = "pod-security.kubernetes.io/enforce"


def shop_deployment(namespace: str = NAMESPACE) -> dict[str, Any]:
    """The drill's Deployment: 2 replicas of a container with no ``securityContext`` at all (it runs as root).

    Example:
        >>> "securityContext" in shop_deployment()["spec"]["template"]["spec"]
        False
    """
    labels = {"app": APP}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": APP, "image": "ghcr.io/k8s-course/checkout:0.1.0"}]},
            },
        },
    }


def failed_creates(events: Any) -> list[str]:
    """The messages of the ``FailedCreate`` events on ReplicaSets in an events frame (``Cluster.events``), from the
    refusal on (without the pod's generated name, so a notebook's output stays the same from run to run)."""
    if events is None or len(events) == 0:
        return []
    rows = events[(events["reason"] == "FailedCreate") & events["object"].str.startswith("ReplicaSet/")]
    # "Error creating: pods "shop-7d9f-x2x" is forbidden: violates …": the part after the (random) pod name
    return [str(m).split(" is forbidden: ", 1)[-1] for m in rows["message"]]


def psa_verdict(
    deployment: Mapping[str, Any] | None, namespace: Mapping[str, Any] | None, last_failure: str = ""
) -> Verdict:
    """Judge the live Deployment and Namespace: the namespace still enforces ``restricted`` and every replica is
    ready (``attempted`` is filled in by the drill).

    Example:
        >>> ns = {"metadata": {"labels": {ENFORCE: "privileged"}}}
        >>> psa_verdict({"spec": {"replicas": 2}, "status": {"readyReplicas": 2}}, ns).fixed
        False
    """
    if namespace is None:
        return Verdict(False, f"namespace {NAMESPACE} is gone", "start the drill again: `cl.drills.start(...)`")
    level = ((namespace.get("metadata") or {}).get("labels") or {}).get(ENFORCE)
    if level != "restricted":
        return Verdict(
            False,
            f"namespace {NAMESPACE} enforces {level or 'nothing'} now: weakening the namespace is not the fix",
            f"put `{ENFORCE}=restricted` back (`kubectl label ns {NAMESPACE} {ENFORCE}=restricted --overwrite`) and "
            "make the pod template meet it",
        )
    if deployment is None:
        return Verdict(False, f"deployment {APP} is gone", "the app has to run: fix its pod template, do not delete it")
    want = int((deployment.get("spec") or {}).get("replicas") or 0)
    ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
    if want < 1:
        return Verdict(False, f"deployment {APP} is scaled to 0", "the app has to run: keep its replicas")
    if ready >= want:
        return Verdict(True, f"{ready}/{want} replicas ready in a namespace that still enforces restricted")
    why = f"; the ReplicaSet says: {last_failure}" if last_failure else ""
    return Verdict(
        False,
        f"{ready}/{want} replicas ready{why}",
        "read the ReplicaSet's FailedCreate event: it lists each field the pod template lacks",
    )


@drill
class PsaBlocksApp(Drill):
    """A restricted namespace silently keeps a Deployment at 0 pods."""

    id = "05-psa-blocks-app"
    title = "the new shop deployment never gets a pod"
    symptom = (
        f"`kubectl -n {NAMESPACE} get deploy {APP}` shows 0/{REPLICAS} ready and stays there; no pod, no crash, "
        "no error from `kubectl apply`"
    )
    first_look = f"kubectl -n {NAMESPACE} describe replicaset -l app={APP}"
    needs = "kube-controller-manager"

    def _refs(self) -> list[tuple[str, str, str | None]]:
        return [("Deployment", APP, NAMESPACE), ("Namespace", NAMESPACE, None)]

    def break_(self) -> None:
        cluster = self.session.cluster
        cluster.apply(pod_security_namespace(NAMESPACE, enforce="restricted"))
        cluster.apply(shop_deployment())
        # the symptom is real only once the controller's ReplicaSet was refused by Pod Security admission
        poll(
            lambda: failed_creates(cluster.events(NAMESPACE)),
            timeout=60,
            what="a FailedCreate event on the shop's ReplicaSet",
            hint="kube-controller-manager creates the ReplicaSet: is it running? (`course sandbox status`)",
        )
        self.state["generations"] = generations(cluster, self._refs())

    def probe(self) -> Verdict:
        cluster = self.session.cluster
        failures = failed_creates(cluster.events(NAMESPACE)) if get_or_none(cluster, "Namespace", NAMESPACE) else []
        verdict = psa_verdict(
            get_or_none(cluster, "Deployment", APP, NAMESPACE),
            get_or_none(cluster, "Namespace", NAMESPACE),
            failures[-1] if failures else "",
        )
        untouched = generations(cluster, self._refs()) == self.state.get("generations")
        return Verdict(verdict.fixed, verdict.message, verdict.hint, attempted=verdict.fixed or not untouched)

    def clean(self) -> None:
        delete_namespace(self.session.cluster, NAMESPACE)
