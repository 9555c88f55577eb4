"""Everything the sandbox runs in one view: stack, control planes, PostgreSQL, Argo CD and on-demand services (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._procs import (
    status,
)
from ._records import (
    StackStatus,
)


@dataclass(frozen=True)
class SandboxOverview:
    """Everything of the sandbox on this machine: the stack's services and the Kubernetes control plane."""

    stack: StackStatus
    control_plane: Mapping[str, Any]
    #: Part 8's PostgreSQL service (:func:`course_lib.sandbox._postgres.status`); empty when not asked.
    postgres: Mapping[str, Any] = field(default_factory=dict)
    #: ``(group, process, pid, running, ready)`` of what was started on demand (e.g. Traefik).
    on_demand: tuple[tuple[str, str, int, bool, bool], ...] = ()
    #: Argo CD's processes (started on demand by ``session.gitops()``): :func:`course_lib.sandbox._argocd.status`.
    argocd: Mapping[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """True while anything of the sandbox is recorded as started (``down()`` clears it)."""
        return (
            self.stack.recorded
            or bool(self.control_plane.get("recorded"))
            or bool(self.postgres.get("recorded"))
            or bool(self.argocd.get("recorded"))
            or bool(self.on_demand)
        )

    @property
    def healthy(self) -> bool:
        """The stack is healthy and the control plane, PostgreSQL and Argo CD, if started, answer."""
        plane, db, argocd = self.control_plane, self.postgres, self.argocd
        return (
            self.stack.healthy
            and (not plane.get("recorded") or bool(plane.get("healthy")))
            and (not db.get("recorded") or bool(db.get("healthy")))
            and (not argocd.get("recorded") or bool(argocd.get("healthy")))
        )

    def __str__(self) -> str:
        plane = self.control_plane
        lines = [self.stack.table()]
        if plane.get("recorded"):
            health = "healthy" if plane.get("healthy") else "NOT HEALTHY"
            lines.append(f"kubernetes     {plane['server']}  {plane['nodes']} nodes  {health}")
            lines.append(f"kubeconfig     {plane['kubeconfig']}")
        else:
            built = "" if plane.get("available", True) else " (not built: `make tools`)"
            lines.append("kubernetes     not running" + built)
        if self.postgres.get("recorded"):
            roles = ", ".join(
                f"{i['name']} {i['role']}" + ("" if i["running"] else " (stopped)") for i in self.postgres["instances"]
            )
            lines.append(f"postgresql     {roles}; pgbouncer 127.0.0.1:{self.postgres['pgbouncer_port']}")
        for group, name, pid, running, ready in self.on_demand:
            health = "healthy" if ready else ("not answering" if running else "not running")
            lines.append(f"{group}/{name}  pid {pid}  {health}")
        if self.argocd:
            from .._argocd import status_lines

            lines.extend(status_lines(self.argocd))
        return "\n".join(lines)


def overview() -> SandboxOverview:
    """:func:`status` plus the control plane's and the PostgreSQL service's: what ``course sandbox status`` prints
    (changes nothing).

    Used in: notebook 11 and ``course sandbox status``.
    """
    from .._argocd import status as argocd_status
    from .._controlplane import cluster_status
    from .._ondemand import statuses
    from .._postgres import status as postgres_status

    return SandboxOverview(status(), cluster_status(), postgres_status(), tuple(statuses()), argocd_status())
