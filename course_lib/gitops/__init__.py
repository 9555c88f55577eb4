"""GitOps in practice: a real local Git repository as the source of truth, and the diff Argo CD would sync.

Argo CD's controller cannot run offline, but the part that decides *what* it would do can: it compares the
manifests at a Git revision with what the cluster has, and creates, changes or prunes objects. This module

- builds the Guestbook manifests (the ``guestbook`` folder of ``argoproj/argocd-example-apps``);
- keeps them in a **real** Git repository driven by the ``git`` program (:class:`GitRepo`);
- computes the object-level difference between two commits, or between Git and a live copy
  (:func:`diff_objects`, :meth:`GitRepo.sync_plan`): which objects would be created, changed or pruned;
- reads and nudges Argo CD's Applications through the API server on every target (:class:`Applications`), and
  publishes the repository to a remote a cluster's Argo CD can read (:meth:`GitRepo.publish`);
- on cluster targets, reads the initial admin secret without showing it and runs the self-heal experiment.

Example:
    >>> import tempfile
    >>> repo = GitRepo.init(tempfile.mkdtemp())
    >>> repo.write_objects(guestbook_manifests(replicas=1), folder="guestbook")
    >>> first = repo.commit("guestbook: first version")
    >>> repo.write_objects(guestbook_manifests(replicas=3), folder="guestbook")
    >>> second = repo.commit("guestbook: three replicas")
    >>> repo.sync_plan(first, second, folder="guestbook").actions
    {'guestbook-ui (Deployment)': 'change', 'guestbook-ui (Service)': 'unchanged'}

Used in: notebook 02.
"""

from __future__ import annotations

from ..pins import SEALED_SECRETS_CHART, HelmChart
from ..sim._sync import ObjectChange
from . import _checks  # noqa: F401  (registers exercises 02-sync-policy, 02-pruned-objects and the 02/ manifests)
from ._applications import Applications, AppState
from ._argocd import (
    TRACKING_ANNOTATION,
    SecretStatus,
    argocd_terraform,
    charts,
    initial_admin_secret,
    repo_url,
    tracking,
)
from ._checks import check_pruned_objects, check_sync_policy, prune_exercise
from ._heal import HealRun, SelfHealRun, heal_after_delete, heal_after_scale, self_heal_experiment
from ._repo import (
    COMMIT_DATE,
    EXAMPLE_REPO,
    GUESTBOOK_IMAGE,
    Commit,
    GitRepo,
    SyncPlan,
    check_remote,
    diff_objects,
    file_name,
    guestbook_manifests,
)

__all__ = [
    "COMMIT_DATE",
    "EXAMPLE_REPO",
    "GUESTBOOK_IMAGE",
    "SEALED_SECRETS_CHART",
    "AppState",
    "Applications",
    "TRACKING_ANNOTATION",
    "Commit",
    "GitRepo",
    "HealRun",
    "HelmChart",
    "ObjectChange",
    "SecretStatus",
    "SelfHealRun",
    "SyncPlan",
    "argocd_terraform",
    "charts",
    "check_pruned_objects",
    "check_remote",
    "check_sync_policy",
    "diff_objects",
    "file_name",
    "guestbook_manifests",
    "heal_after_delete",
    "heal_after_scale",
    "initial_admin_secret",
    "prune_exercise",
    "repo_url",
    "self_heal_experiment",
    "tracking",
]
