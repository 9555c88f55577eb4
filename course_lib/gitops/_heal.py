"""Part 2's self-heal on a live cluster: scale or delete an object Argo CD manages by hand and watch (and time)
selfHeal put Git's version back. Dry runs raise: there is no controller to heal anything. See
:mod:`course_lib.gitops`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ClusterError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class SelfHealRun:
    """What happened after scaling a Deployment by hand: replicas observed over time.

    Attributes:
        desired: the replica count in Git.
        forced: the count set by hand.
        samples: ``(seconds since the change, spec.replicas)`` pairs.
        reverted: whether the count went back to ``desired`` before the deadline.
    """

    desired: int
    forced: int
    samples: tuple[tuple[float, int], ...]
    reverted: bool

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.samples, columns=["seconds", "replicas"])


def self_heal_experiment(
    cluster: Any,
    *,
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    replicas: int = 5,
    timeout: float = 120.0,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SelfHealRun:
    """Scale a Deployment that Argo CD manages by hand and watch selfHeal put it back (cluster targets only).

    The same as ``kubectl scale deploy guestbook-ui --replicas=5 -n guestbook`` in one terminal and
    ``kubectl get pods -n guestbook -w`` in another.

    Raises:
        ClusterError: the cluster is a dry run (there is no controller to heal anything).

    Used in: notebook 02 (cluster targets).
    """
    if getattr(cluster, "dry_run", True):
        raise ClusterError(
            "the self-heal experiment needs a real cluster with Argo CD running",
            hint="run it with target='kubeconfig' or 'doks' after installing Argo CD and the guestbook Application",
        )
    if replicas < 0:
        raise ConfigError("replicas must be >= 0", hint="e.g. replicas=5")
    live = cluster.get("Deployment", name, namespace=namespace)
    desired = int(live["spec"]["replicas"])
    resource = cluster.dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    cluster.dynamic.patch(
        resource,
        name=name,
        namespace=namespace,
        body={"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
    )
    start = clock()
    samples: list[tuple[float, int]] = [(0.0, replicas)]
    while clock() - start < timeout:
        sleep(interval)
        now = int(cluster.get("Deployment", name, namespace=namespace)["spec"]["replicas"])
        samples.append((round(clock() - start, 1), now))
        if now == desired:
            return SelfHealRun(desired, replicas, tuple(samples), True)
    return SelfHealRun(desired, replicas, tuple(samples), False)


# ----------------------------------------------------------------------------------------------- the sandbox's Argo CD


@dataclass(frozen=True)
class HealRun:
    """How long self-heal took to undo one change made by hand.

    Attributes:
        change: what was done (``kubectl scale ...`` or ``kubectl delete ...``).
        seconds: from the change until the object was back as Git has it.
        healed: whether that happened before the deadline.
        detail: what was observed at the end (replica count, or the object's new uid).
    """

    change: str
    seconds: float
    healed: bool
    detail: str

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([vars(self)]).set_index("change")


def heal_after_delete(
    cluster: Any,
    *,
    kind: str = "Deployment",
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    timeout: float = 30.0,
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> HealRun:
    """Delete an object Argo CD manages (``kubectl delete deployment guestbook-ui -n guestbook``) and time how long
    selfHeal takes to create it again (a new object: a new uid).

    Raises:
        ClusterError: the cluster is a dry run (nothing would heal).

    Used in: notebook 02, the self-heal benchmark.
    """
    if getattr(cluster, "dry_run", True):
        raise ClusterError("heal_after_delete needs a live API server with Argo CD acting on it",
                           hint="run it on the sandbox with `make tools` built, or on a cluster with Argo CD")  # fmt: skip
    old = cluster.get(kind, name, namespace=namespace)["metadata"]["uid"]
    cluster.delete([{"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind,
                     "metadata": {"name": name, "namespace": namespace}}])  # fmt: skip
    start = clock()
    change = f"kubectl delete {kind.lower()} {name} -n {namespace}"
    while clock() - start < timeout:
        try:
            uid = cluster.get(kind, name, namespace=namespace)["metadata"]["uid"]
        except ClusterError:
            uid = None
        if uid and uid != old:
            return HealRun(change, round(clock() - start, 2), True, "created again by Argo CD (new uid)")
        sleep(interval)
    return HealRun(change, round(clock() - start, 2), False, "still missing")


def heal_after_scale(
    cluster: Any,
    *,
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    replicas: int = 5,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> HealRun:
    """``kubectl scale deploy NAME --replicas=N`` by hand, then time until selfHeal has put Git's count back.

    Used in: notebook 02, the self-heal benchmark.
    """
    run = self_heal_experiment(cluster, name=name, namespace=namespace, replicas=replicas, timeout=timeout,
                               interval=interval)  # fmt: skip
    seconds = run.samples[-1][0] if run.samples else 0.0
    detail = f"spec.replicas {run.forced} -> {run.samples[-1][1]} (Git: {run.desired})"
    return HealRun(f"kubectl scale deploy {name} -n {namespace} --replicas={replicas}", seconds, run.reverted, detail)
