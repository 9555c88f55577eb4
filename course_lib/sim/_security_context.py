"""What Kubernetes enforces of ``runAsNonRoot`` at run time: a container's own ``securityContext.runAsNonRoot``
overrides the pod's (no pandas, no plotly, no I/O). Part 5's admission table sets it next to a policy's verdict to
show the pattern's blind spots.

Example:
    >>> pod = {"kind": "Pod", "spec": {"securityContext": {"runAsNonRoot": True},
    ...     "containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsNonRoot": False}}]}}
    >>> effective_non_root(pod)
    'only some containers'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._kyverno import pod_target


def effective_non_root(obj: Mapping[str, Any]) -> str:
    """Whether every container of a Pod (or of a pod controller's template) runs with ``runAsNonRoot`` in effect:
    ``"yes"``, ``"no"`` or ``"only some containers"``."""
    target = pod_target(obj, {"Pod"}) or {}
    spec = target.get("spec") or {}
    pod_level = (spec.get("securityContext") or {}).get("runAsNonRoot")
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    values = [(c.get("securityContext") or {}).get("runAsNonRoot", pod_level) for c in containers]
    if values and all(v is True for v in values):
        return "yes"
    return "no" if not any(v is True for v in values) else "only some containers"


__all__ = ["effective_non_root"]
