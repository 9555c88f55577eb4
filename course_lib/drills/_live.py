"""Small live-state helpers the drills share: poll until something holds, delete a namespace and wait until it is
gone (its namespace controller runs in kube-controller-manager), the live ``metadata.generation`` of objects, what
Argo CD reports on an Application, the newest commit of a drill's Git repository.

A drill waits for its own symptom before it hands over (a learner must see the ``FailedCreate``, not race it), so
a controller that does not run makes the drill fail loudly instead of showing a symptom that is not there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ClusterError, CourseError

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import Cluster

T = TypeVar("T")


def poll(read: Callable[[], T | None], *, timeout: float, what: str, hint: str, interval: float = 0.5) -> T:
    """Call ``read`` until it returns something truthy (that value is returned) or ``timeout`` seconds pass.

    Raises:
        ClusterError: it did not happen in time; the message says what was awaited, ``hint`` what to check.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} did not happen within {timeout:g}s", hint=hint, timeout=timeout)
        time.sleep(interval)


def get_or_none(cluster: Cluster, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    """The live object, or ``None`` when there is none."""
    try:
        return cluster.get(kind, name, namespace=namespace)
    except CourseError:
        return None


def delete_namespace(cluster: Cluster, name: str, *, timeout: float = 90.0) -> None:
    """Delete a namespace (if it exists) and wait until the API server no longer has it."""
    if get_or_none(cluster, "Namespace", name) is None:
        return
    cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    poll(
        lambda: get_or_none(cluster, "Namespace", name) is None,
        timeout=timeout,
        what=f"deleting namespace {name}",
        hint="the namespace controller runs in kube-controller-manager: is it running? (`course sandbox status`)",
    )


def application(cluster: Cluster, name: str, namespace: str = "argocd") -> dict[str, Any] | None:
    """The live Argo CD Application, or ``None`` when there is none."""
    try:
        return cluster.get("Application", name, namespace=namespace, api_version="argoproj.io/v1alpha1")
    except CourseError:
        return None


def app_errors(app: Mapping[str, Any] | None) -> list[str]:
    """An Application's error conditions (``ComparisonError``, ``SyncError`` …) as ``type: message``, without the
    gRPC prefix the repo-server's answers carry."""
    conditions = ((app or {}).get("status") or {}).get("conditions") or []
    return [
        f"{c.get('type')}: {str(c.get('message', '')).split('desc = ')[-1].strip()[-160:]}"
        for c in conditions
        if str(c.get("type", "")).endswith("Error")
    ]


def app_summary(app: Mapping[str, Any]) -> tuple[str, str]:
    """An Application's ``(sync status, health status)``, ``Unknown`` where the controller has not said yet."""
    status = app.get("status") or {}
    return (
        str((status.get("sync") or {}).get("status") or "Unknown"),
        str((status.get("health") or {}).get("status") or "Unknown"),
    )


def delete_application(cluster: Cluster, app: Mapping[str, Any], *, timeout: float = 60.0) -> None:
    """Delete an Argo CD Application (if it exists) and wait until the API server no longer has it."""
    name, namespace = str(app["metadata"]["name"]), str(app["metadata"].get("namespace") or "argocd")
    if application(cluster, name, namespace) is None:
        return
    cluster.delete([dict(app)])
    poll(
        lambda: application(cluster, name, namespace) is None,
        timeout=timeout,
        what=f"deleting {name}",
        hint="is Argo CD's application controller running? (`course sandbox status`)",
    )


def app_untouched(app: Mapping[str, Any] | None, state: Mapping[str, Any], repo: Path) -> bool:
    """The Application still has the ``spec`` the drill recorded in ``state`` and the repository the ``head`` commit
    it recorded: the learner has changed neither."""
    return app is not None and app.get("spec") == state.get("spec") and repo_head(repo) == state.get("head")


def repo_head(path: Path) -> str:
    """The newest commit of the Git repository at ``path`` ("" when there is none, "broken" when git cannot tell)."""
    from ..gitops import GitRepo

    if not (path / ".git").exists():
        return ""
    try:
        return GitRepo(path).head().sha
    except CourseError:  # a repository the learner broke reads as "changed"
        return "broken"


def generations(cluster: Cluster, refs: Sequence[tuple[str, str, str | None]]) -> dict[str, Any]:
    """``metadata.generation`` (spec changes only; status updates by controllers leave it) and labels of objects."""
    found: dict[str, Any] = {}
    for kind, name, namespace in refs:
        live = get_or_none(cluster, kind, name, namespace)
        meta = (live or {}).get("metadata") or {}
        found[f"{kind}/{namespace}/{name}"] = (meta.get("generation"), meta.get("labels") or {}) if live else None
    return found
