"""Part 2's Argo CD: its charts and the ``argocd.tf`` that installs it, the ``repoURL`` an Application names, and,
on cluster targets, the initial admin secret (never shown); what its controller reports on an Application is
:class:`course_lib.gitops.Applications`. See :mod:`course_lib.gitops`."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path  # noqa: F401  (the repo_url example uses it)
from typing import Any

from ..errors import ClusterError
from ..pins import ARGOCD_CHART, SEALED_SECRETS_CHART, HelmChart
from ._repo import EXAMPLE_REPO, GitRepo, check_remote

# ----------------------------------------------------------------------------------------------- charts


def charts() -> dict[str, HelmChart]:
    """The charts of part 2: Argo CD (the pin ``provision`` writes into ``argocd.tf``) and Sealed Secrets.

    Example:
        >>> charts()["sealed-secrets"].namespace
        'kube-system'

    Used in: notebook 02.
    """
    return {"argocd": ARGOCD_CHART, "sealed-secrets": SEALED_SECRETS_CHART}


def argocd_terraform() -> str:
    """The ``argocd.tf`` that :mod:`course_lib.provision` generates (Argo CD release + guestbook Application).

    Used in: notebook 02.
    """
    from ..provision._terraform import _argocd

    return _argocd()


# ----------------------------------------------------------------------------------------------- cluster targets


@dataclass(frozen=True)
class SecretStatus:
    """Whether a Secret holds a key — without ever showing the value."""

    namespace: str
    name: str
    key: str
    found: bool
    length: int = 0

    def __str__(self) -> str:
        if not self.found:
            return f"{self.namespace}/{self.name}: not found (Argo CD deletes it once you change the admin password)"
        return (
            f"{self.namespace}/{self.name}: key {self.key!r} present ({self.length} characters). Read it in a terminal: "
            f"kubectl -n {self.namespace} get secret {self.name} -o jsonpath='{{.data.{self.key}}}' | base64 -d; echo"
        )

    __repr__ = __str__


def initial_admin_secret(cluster: Any, *, namespace: str = "argocd") -> SecretStatus:
    """Check the ``argocd-initial-admin-secret`` on a real cluster; the password itself is never returned.

    Log in as ``admin`` with it, change the password, then delete the Secret.

    Used in: notebook 02 (cluster targets).
    """
    name, key = "argocd-initial-admin-secret", "password"
    try:
        obj = cluster.get("Secret", name, namespace=namespace)
    except ClusterError as exc:
        if "NotFound" in str(exc) or exc.context.get("reason") == "NotFound" or "404" in str(exc):
            return SecretStatus(namespace, name, key, False)
        raise
    data = (obj.get("data") or {}).get(key, "")
    length = len(base64.b64decode(data)) if data else 0
    return SecretStatus(namespace, name, key, bool(data), length)


# ----------------------------------------------------------------------------------------------- the sandbox's Argo CD


def repo_url(repo: GitRepo, *, local: bool, remote: str = "") -> str:
    """The ``repoURL`` an Application should name: the local repository itself (``file:///...``) where Argo CD runs
    on this machine (the sandbox); on a cluster the remote you publish the repository to (``repo_remote``), else
    Argo CD's public example repository, which holds the first commit's guestbook (and none of your later commits).

    Example:
        >>> repo_url(GitRepo(Path("/tmp/gitops-repo")), local=True)
        'file:///tmp/gitops-repo'
        >>> repo_url(GitRepo(Path("/tmp/gitops-repo")), local=False, remote="git@github.com:you/gitops.git")
        'git@github.com:you/gitops.git'

    Used in: notebook 02.
    """
    if local:
        return repo.path.resolve().as_uri()
    return check_remote(remote) or EXAMPLE_REPO


# ------------------------------------------------------------------------------------------ tracking

#: How Argo CD 3 marks a live object as managed by an Application (the default ``application.resourceTrackingMethod``,
#: ``annotation``): ``<app>:<group>/<kind>:<namespace>/<name>``.
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
#: What Argo CD 2.x used by default (``label`` tracking), and what other tools (Helm, kustomize) also set.
INSTANCE_LABEL = "app.kubernetes.io/instance"


def tracking(obj: dict[str, Any]) -> dict[str, str | None]:
    """Which Application a live object says it belongs to: Argo CD 3's tracking annotation and the 2.x instance
    label (``None`` where absent).

    Example:
        >>> meta = {"annotations": {TRACKING_ANNOTATION: "guestbook:apps/Deployment:guestbook/guestbook-ui"}}
        >>> tracking({"metadata": meta})
        {'tracking-id': 'guestbook:apps/Deployment:guestbook/guestbook-ui', 'instance label': None}

    Used in: notebook 02.
    """
    meta = obj.get("metadata") or {}
    return {
        "tracking-id": (meta.get("annotations") or {}).get(TRACKING_ANNOTATION),
        "instance label": (meta.get("labels") or {}).get(INSTANCE_LABEL),
    }
