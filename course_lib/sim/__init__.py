"""Pure evaluators of Kubernetes semantics, kept as explanations and test oracles beside the real thing.

Nothing here imports pandas or plotly, talks to a server or starts a process; each function answers one question
the way the Kubernetes component that owns it would: label selectors as the API machinery evaluates them,
NetworkPolicy connections as a CNI enforces them, Kyverno ``validate.pattern`` rules as Kyverno admits them,
``runAsNonRoot`` as the kubelet resolves it, an ApplicationSet's cluster generator as Argo CD expands it, a
Cluster Mesh's requirements as Cilium checks them, a GitOps sync's object changes as Argo CD's diff decides them,
and a weighted canary split as the binomial model describes it. It also holds the records Part 8's point-in-time
recovery reasons with: a base backup and the verdict on a recovery target.
"""

from __future__ import annotations

from ._appset import match_clusters
from ._canary import binomial_band, count_band, weighted_draws
from ._clustermesh import MeshCluster, check_clustermesh
from ._kyverno import Admission, evaluate_policy
from ._netpol import PodRef, Verdict, connection
from ._pitr import BaseBackup, Recoverability
from ._security_context import effective_non_root
from ._selectors import check_selector, selector_matches
from ._sync import ObjectChange, SyncAction, object_changes

__all__ = [
    "Admission",
    "BaseBackup",
    "MeshCluster",
    "ObjectChange",
    "PodRef",
    "Recoverability",
    "SyncAction",
    "Verdict",
    "binomial_band",
    "check_clustermesh",
    "check_selector",
    "connection",
    "count_band",
    "effective_non_root",
    "evaluate_policy",
    "match_clusters",
    "object_changes",
    "selector_matches",
    "weighted_draws",
]
