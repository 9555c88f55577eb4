"""Automatic checks for the "Your turn" exercises of notebooks 01 and 11.

Each check returns a short success message or raises :class:`~course_lib.errors.ExerciseError` that says exactly
what is not right yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError, ExerciseError
from ._cost import COURSE_LOAD_BALANCERS, COURSE_VOLUMES_GB, estimate_cost
from ._options import snapshot_options
from ._spec import ClusterSpec

#: Notebook 01's exercise: the course needs at least this much per node (Argo CD + monitoring, as the seed advises).
MIN_NODE_MEMORY_MB = 4096
MIN_TOTAL_NODES = 2


def check_budget_spec(spec: object, *, budget_monthly: float = 80.0) -> str:
    """Notebook 01 "Your turn": a spec with ≥ 2 nodes of ≥ 4 GiB whose month (with the course's load balancers and
    volumes, snapshot prices) fits ``budget_monthly``.

    Example:
        >>> check_budget_spec(ClusterSpec.single_pool("course-ada", size="s-2vcpu-4gb", count=2))
        '✅ course-ada: 2 × s-2vcpu-4gb costs $75.00/month with the course add-ons, within $80.00.'

    Used in: notebook 01.
    """
    if not isinstance(spec, ClusterSpec):
        raise ExerciseError(
            f"expected a ClusterSpec, got {type(spec).__name__}",
            hint="build one with ClusterSpec.single_pool('course-<you>', size=..., count=...)",
        )
    opts = snapshot_options()
    try:
        spec.validate(opts)
    except ConfigError as exc:
        raise ExerciseError(f"the spec is not valid yet: {exc.message}", hint=exc.hint) from None
    for pool in spec.node_pools:
        size = opts.size(pool.size)
        if size.memory_mb < MIN_NODE_MEMORY_MB:
            raise ExerciseError(
                f"pool {pool.name!r} uses {pool.size} with {size.memory_mb // 1024} GiB per node; Argo CD plus the "
                f"monitoring stack need at least {MIN_NODE_MEMORY_MB // 1024} GiB per node",
                hint="pick a size with 4 GiB or more, e.g. s-2vcpu-4gb",
            )
    if spec.total_nodes < MIN_TOTAL_NODES:
        raise ExerciseError(
            f"the spec has {spec.total_nodes} node; with one node every node upgrade or failure stops everything",
            hint=f"use at least {MIN_TOTAL_NODES} nodes",
        )
    est = estimate_cost(spec, load_balancers=COURSE_LOAD_BALANCERS, volumes_gb=COURSE_VOLUMES_GB, options=opts)
    if est.monthly > budget_monthly + 1e-9:
        biggest = max(est.rows, key=lambda r: r.monthly)
        raise ExerciseError(
            f"the spec costs ${est.monthly:.2f}/month with the course add-ons, over the ${budget_monthly:.2f} budget; "
            f"the largest item is {biggest.item} at ${biggest.monthly:.2f}",
            hint="use a smaller size or fewer nodes, and leave ha=False (the HA control plane adds $40/month)",
        )
    pools = ", ".join(f"{p.count} × {p.size}" for p in spec.node_pools)
    return (
        f"✅ {spec.name}: {pools} costs ${est.monthly:.2f}/month with the course add-ons, within ${budget_monthly:.2f}."
    )


_KIND_FEEDBACK = {
    "droplet": "worker nodes are Droplets, but DOKS deletes them together with the cluster",
    "load_balancer": "a Service of type LoadBalancer (Argo CD's server in part 2) makes a load balancer Terraform never saw",
    "volume": "a PersistentVolumeClaim (PostgreSQL in part 8) makes a block-storage volume Terraform never saw",
    "snapshot": "a VolumeSnapshot makes a volume snapshot, billed per GiB until deleted",
}
SURVIVORS = frozenset({"load_balancer", "volume", "snapshot"})


def check_leftover_kinds(answer: Iterable[str]) -> str:
    """Notebook 11 "Your turn": which resource kinds can outlive ``terraform destroy`` of the cluster?

    Choose from ``droplet``, ``load_balancer``, ``volume``, ``snapshot``.

    Example:
        >>> check_leftover_kinds({"load_balancer", "volume", "snapshot"})
        '✅ right: load_balancer, snapshot, volume are made by Kubernetes, not by Terraform.'

    Used in: notebook 11.
    """
    if isinstance(answer, str):
        answer = [answer]
    given = {str(a).strip().lower().replace("-", "_").replace(" ", "_") for a in answer}
    unknown = given - set(_KIND_FEEDBACK)
    if unknown:
        raise ExerciseError(
            f"unknown kind(s): {', '.join(sorted(unknown))}", hint=f"choose from: {', '.join(sorted(_KIND_FEEDBACK))}"
        )
    wrong = given - SURVIVORS
    if wrong:
        kind = sorted(wrong)[0]
        raise ExerciseError(f"not {kind}: {_KIND_FEEDBACK[kind]}", hint="remove it from your answer")
    missing = SURVIVORS - given
    if missing:
        kind = sorted(missing)[0]
        raise ExerciseError(f"one more can outlive the cluster: {_KIND_FEEDBACK[kind]}", hint=f"add {kind!r}")
    return f"✅ right: {', '.join(sorted(SURVIVORS))} are made by Kubernetes, not by Terraform."
