"""How a cluster target shows that an add-on's controller acts on it: a ready workload its chart installed, or a
leader Lease it holds wherever it runs (:func:`acting`). Read by :func:`course_lib.session.cluster_capabilities`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from .errors import ClusterError

if TYPE_CHECKING:
    from .cluster import Cluster


#: Name parts of the workload that does an add-on's work, as its chart (or upstream's manifests) names it. CRDs
#: alone act on nothing (``helm uninstall`` leaves a chart's CRDs behind, and a learner may install only the
#: CRDs), so on a cluster an add-on runs when its API group is served *and* a Deployment, StatefulSet or
#: DaemonSet whose name holds one of these has a ready replica.
CONTROLLER_WORKLOADS: Mapping[str, tuple[str, ...]] = {
    "argocd": ("argocd-application-controller",),
    "sealed-secrets": ("sealed-secrets",),
    "kyverno": ("kyverno-admission-controller",),
    "traefik": ("traefik",),
    "istio": ("istiod",),
    "cloudnative-pg": ("cloudnative-pg", "cnpg-controller-manager"),
    "external-secrets": ("external-secrets",),
    "prometheus-operator": ("prometheus-operator", "kube-prometheus-operator"),
}


#: Leader-election Leases an add-on's controller holds while it runs, by upstream's names (in any namespace). A
#: controller counts when it holds one (renewed within its lease duration), wherever it runs: a Deployment its
#: chart installed, or a process outside the cluster's nodes (the course's own Kyverno run out of cluster, or a
#: controller in a management cluster), which no workload of this cluster stands for. Kyverno's admission
#: controller holds ``kyverno`` (its reports controller ``kyverno-reports-controller``, which admits nothing).
CONTROLLER_LEASES: Mapping[str, tuple[str, ...]] = {"kyverno": ("kyverno",)}
#: Seconds a Lease may be overdue and still count (clock skew between this machine and the API server).
LEASE_SLACK_SECONDS = 10.0


def _held_lease_names(cluster: Cluster, *, now: float | None = None) -> list[str]:
    """Names of the cluster's Leases (every namespace) held by someone who renewed within the lease duration
    (plus :data:`LEASE_SLACK_SECONDS`): a leader that stopped renewing, or a Lease without a holder, counts not.

    >>> class Cluster:
    ...     def list(self, kind, api_version):
    ...         spec = {"holderIdentity": "kyverno-7d9f", "leaseDurationSeconds": 15}
    ...         return [{"metadata": {"name": n}, "spec": {**spec, "renewTime": t}} for n, t in
    ...                 [("kyverno", "2026-12-07T08:49:30.791793Z"), ("stale", "2026-12-07T08:40:00Z")]]
    >>> from datetime import datetime
    >>> _held_lease_names(Cluster(), now=datetime.fromisoformat("2026-12-07T08:49:40+00:00").timestamp())
    ['kyverno']
    """
    import time
    from datetime import datetime

    now = time.time() if now is None else now
    try:
        leases = cluster.list("Lease", api_version="coordination.k8s.io/v1")
    except ClusterError:  # a user who may not list Leases: the workloads alone decide
        return []
    held = []
    for lease in leases:
        spec = lease.get("spec") or {}
        renewed, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
        if not (spec.get("holderIdentity") and renewed and duration):
            continue
        renewed_at = datetime.fromisoformat(str(renewed).replace("Z", "+00:00")).timestamp()
        if renewed_at + float(duration) + LEASE_SLACK_SECONDS >= now:
            held.append(lease["metadata"]["name"])
    return held


def _ready_workload_names(cluster: Cluster) -> list[str]:
    """Names of the cluster's Deployments, StatefulSets and DaemonSets (every namespace) with a ready replica, as
    :func:`~course_lib.cluster._rollout.rollout_progress` counts them (list items carry no ``kind``)."""
    from .cluster._rollout import rollout_progress

    return [
        obj["metadata"]["name"]
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
        for obj in cluster.list(kind, api_version="apps/v1")
        if rollout_progress({**obj, "kind": kind})[2] > 0
    ]


def acting(cluster: Cluster, served: Collection[str]) -> set[str]:
    """The add-ons of ``served`` (their API groups are served) whose controller acts on ``cluster``: a ready
    workload of :data:`CONTROLLER_WORKLOADS`, or a held Lease of :data:`CONTROLLER_LEASES`. An add-on with no
    workload names counts by its API group alone. Lists workloads (and Leases) only when a served add-on has names
    to look for."""
    workloads = _ready_workload_names(cluster) if CONTROLLER_WORKLOADS.keys() & served else []
    leases = set(_held_lease_names(cluster)) if CONTROLLER_LEASES.keys() & served else set()
    return {
        name
        for name in served
        if name not in CONTROLLER_WORKLOADS
        or any(p in w for p in CONTROLLER_WORKLOADS[name] for w in workloads)
        or leases & set(CONTROLLER_LEASES.get(name, ()))
    }
