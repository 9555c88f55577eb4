"""Following a rollout: how far a Deployment, StatefulSet, DaemonSet or Job has got, a progress bar that shows
it, and the API server's service-proxy path. Used by :meth:`course_lib.cluster.Cluster.rollout_status`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def service_proxy_path(service: str, path: str, *, namespace: str, port: int | str) -> str:
    """The API server path that proxies to ``service:port/path`` in ``namespace``.

    >>> service_proxy_path("grafana", "/api/health", namespace="monitoring", port=80)
    '/api/v1/namespaces/monitoring/services/grafana:80/proxy/api/health'
    """
    return f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{path.lstrip('/')}"


def rollout_progress(obj: Mapping[str, Any]) -> tuple[bool, int, int, str | None]:
    """``(done, desired, ready, failure)`` for a Deployment, StatefulSet or DaemonSet.

    >>> rollout_progress({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
    ...   "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}})
    (True, 2, 2, None)
    """
    kind = obj.get("kind", "Deployment")
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        ready = int(status.get("numberAvailable") or 0)
        return observed and updated == ready == desired, desired, ready, None
    desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    if kind == "StatefulSet":
        ready = int(status.get("availableReplicas", status.get("readyReplicas")) or 0)
        same_rev = status.get("currentRevision") == status.get("updateRevision") or not status.get("updateRevision")
        return observed and updated == ready == desired and same_rev, desired, ready, None
    ready = int(status.get("availableReplicas") or 0)
    failure = None
    for c in status.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            failure = f"ProgressDeadlineExceeded: {c.get('message', '')}"
    done = observed and updated == ready == total == desired
    return done, desired, ready, failure


class _Bar:
    """A tqdm bar (or nothing) that follows ready/desired replicas."""

    def __init__(self, desc: str, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=1, desc=desc, leave=False, unit="replica", bar_format="{desc}: {n}/{total} {bar}")

    def update_from(self, obj: Mapping[str, Any], counts: bool) -> None:
        if self._bar is None or not counts:
            return
        _, desired, ready, _ = rollout_progress(obj)
        self._bar.total = max(desired, 1)
        self._bar.n = min(ready, self._bar.total)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress_bar(desc: str, *, enabled: bool) -> _Bar:
    return _Bar(desc, enabled)
