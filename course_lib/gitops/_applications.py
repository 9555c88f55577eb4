"""Argo CD's Applications as its controller reports them, read and nudged through the API server.

What an Application says (``status.sync``, ``status.health``, the revision it synced) and the two requests a learner
makes of Argo CD without its CLI — *refresh* (compare with Git now) and *sync* (apply now) — are fields of the
Application object, so they work the same on every target: the sandbox's own Argo CD and a cluster's, installed by
Helm. :class:`course_lib.sandbox.ArgoCD` (the sandbox's processes) hands these to :class:`Applications`.

Used in: notebook 02 (``apps``), and through ``session.gitops()`` notebooks 09 and 10.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ClusterError, CourseError

#: Where Argo CD keeps its Applications (the install manifest's and the Helm chart's namespace).
NAMESPACE = "argocd"
API_VERSION = "argoproj.io/v1alpha1"
#: The annotation that asks the application controller for a comparison with Git now (the UI's *Refresh*).
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"


@dataclass(frozen=True)
class AppState:
    """What the application controller reports on an Application (``status.sync``, ``status.health``)."""

    name: str
    sync: str
    health: str
    revision: str
    operation: str  # phase of the last sync operation (Succeeded, Running, Failed ...), "" before the first

    def __str__(self) -> str:
        rev = f" at {self.revision[:7]}" if self.revision else ""
        return f"{self.name}: {self.sync}, {self.health}{rev}"

    @classmethod
    def of(cls, obj: dict[str, Any]) -> AppState:
        """The state of an Application object as the API server returned it.

        Example:
            >>> AppState.of({"metadata": {"name": "guestbook"}, "status": {"sync": {"status": "Synced",
            ...     "revision": "0123456789abcdef"}, "health": {"status": "Healthy"}}})
            AppState(name='guestbook', sync='Synced', health='Healthy', revision='0123456789abcdef', operation='')
        """
        status = obj.get("status") or {}
        sync = status.get("sync") or {}
        return cls(
            str((obj.get("metadata") or {}).get("name", "")),
            str(sync.get("status") or "Unknown"),
            str((status.get("health") or {}).get("status") or "Unknown"),
            str(sync.get("revision") or ""),
            str((status.get("operationState") or {}).get("phase") or ""),
        )


class Applications:
    """The Applications in ``namespace`` of ``cluster`` and what Argo CD's controller says about them.

    Args:
        cluster: a connected :class:`course_lib.cluster.Cluster` (not a dry run: nothing reports on one).
        namespace: Argo CD's namespace.
        diagnose: text to add to a :meth:`wait` that timed out (the sandbox passes its controller's last log lines).
        hint: what to check when a :meth:`wait` timed out (default: the Argo CD pods and the Application's events).
    """

    def __init__(
        self,
        cluster: Any,
        *,
        namespace: str = NAMESPACE,
        diagnose: Callable[[], str] | None = None,
        hint: str | None = None,
    ) -> None:
        if getattr(cluster, "dry_run", True):
            raise ClusterError(
                "Argo CD's Applications need a real API server, and this Cluster is a dry run",
                hint="connect to the sandbox's control plane (`make tools`) or a cluster (target='kubeconfig')",
            )
        self.cluster = cluster
        self.namespace = namespace
        self._diagnose = diagnose
        self._hint = hint or (
            f"is Argo CD's application controller running? `kubectl -n {namespace} get pods`; what it says about "
            f"the Application: `kubectl -n {namespace} describe application NAME`"
        )

    def application(self, name: str) -> AppState:
        """The controller's view of Application ``name`` right now (``Unknown`` before its first comparison).

        One GET of the object: :meth:`wait` asks four times a second, which a ``kubectl get`` each time would make
        cost ~0.13 s of CPU and ~100 MiB."""
        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications/{name}"
        try:
            raw = self.cluster.get_raw(path, timeout=30).text
        except CourseError as exc:
            raise ClusterError(
                f"reading Application {name} failed: {exc.message}",
                hint=f"does it exist? `kubectl -n {self.namespace} get applications`",
            ) from None
        obj = json.loads(raw)
        obj.setdefault("metadata", {}).setdefault("name", name)
        return AppState.of(obj)

    def wait(
        self,
        name: str,
        *,
        sync: str | None = "Synced",
        health: str | None = None,
        revision: str | None = None,
        timeout: float = 60.0,
        interval: float = 0.25,
        refresh: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> tuple[float, AppState]:
        """Wait until Application ``name`` reports ``sync`` (and ``health``, and a revision starting with
        ``revision``); returns the seconds it took and the state. ``refresh=True`` first asks for a comparison with
        Git now (:meth:`refresh`): a cluster's Argo CD polls Git every 3 minutes, unless a webhook tells it sooner.

        Raises:
            ClusterError: not reached within ``timeout`` (with the last state, and what ``diagnose`` adds).
        """
        if refresh:
            self.refresh(name)
        start = clock()
        last: AppState | None = None
        while True:
            with contextlib.suppress(ClusterError):
                last = self.application(name)
                if (
                    (sync is None or last.sync == sync)
                    and (health is None or last.health == health)
                    and (revision is None or last.revision.startswith(revision))
                ):
                    return clock() - start, last
            if clock() - start >= timeout:
                extra = f"\n{self._diagnose()}" if self._diagnose else ""
                raise ClusterError(
                    f"Application {name} did not reach sync={sync} health={health} revision={revision} within "
                    f"{timeout:.0f} s (last: {last}).{extra}",
                    hint=self._hint.replace("NAME", name),
                )
            sleep(interval)

    def _patch(self, name: str, body: dict[str, Any]) -> None:
        dyn = self.cluster.dynamic
        try:
            dyn.patch(
                dyn.resources.get(api_version=API_VERSION, kind="Application"),
                name=name,
                namespace=self.namespace,
                body=body,
                content_type="application/merge-patch+json",
            )
        except Exception as exc:
            from ..cluster._errors import from_api_exception

            raise from_api_exception(exc, action="patch", obj=f"Application {self.namespace}/{name}") from None

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Ask for an immediate comparison with Git, as the UI's Refresh button or a Git webhook does
        (``kubectl -n argocd annotate application NAME argocd.argoproj.io/refresh=normal``); the controller removes
        the annotation when it has compared."""
        self._patch(name, {"metadata": {"annotations": {REFRESH_ANNOTATION: "hard" if hard else "normal"}}})

    def sync(self, name: str, *, prune: bool = False, revision: str = "") -> None:
        """Start a sync of Application ``name`` the way ``argocd app sync`` does: by setting its ``operation``.

        Like the CLI, it copies the Application's ``syncPolicy.syncOptions`` into the operation: the controller
        reads the options of a requested sync from the operation only (without ``CreateNamespace=true`` there, a
        manual sync into a missing namespace fails with ``namespaces "…" not found``).
        """
        spec = self.cluster.get("Application", name, namespace=self.namespace, api_version=API_VERSION).get("spec")
        options = ((spec or {}).get("syncPolicy") or {}).get("syncOptions") or []
        op: dict[str, Any] = {"initiatedBy": {"username": "course-learner"}, "sync": {"prune": prune}}
        if options:
            op["sync"]["syncOptions"] = list(options)
        if revision:
            op["sync"]["revision"] = revision
        self._patch(name, {"operation": op})

    def __repr__(self) -> str:
        return f"Applications(namespace {self.namespace!r} of {self.cluster.target})"
