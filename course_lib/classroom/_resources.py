"""What one learner's pod asks for, and how many fit on a DOKS node.

Shared by the JupyterHub plan (``singleuser.cpu`` / ``singleuser.memory``) and the Kubernetes executor of
``course run`` (each Job's container ``resources``), so a class and its batch runs are sized by one rule.

Memory: the course's budget is 1.5 GiB per notebook for everything it runs (the sandbox's processes and the kernel;
``benchmarks/notebook_memory.py``, ``BUDGET_MIB``). A learner's pod also holds the JupyterLab server (and, in a
batch Job, papermill), so the guarantee is that budget plus 0.5 GiB: 2 GiB. The limit is 4 GiB because the
measured peaks of a whole-course session on one sandbox are still above the budget (README, "Memory": Part 8 about
3.2 GiB, Parts 3–7 about 2 GiB): below that the kernel of a learner who has reached Part 8 would be OOM-killed.
Nodes are packed by the guarantee, so a node whose learners all reach their peak at the same moment can run out of
memory; raise ``memory_guarantee_mib`` to the limit for a class that must never see that (fewer learners per node).

CPU: 0.5 guaranteed (a learner reads and types most of the time), 2 as the limit (starting the sandbox's control
plane and running a notebook's cells use two cores for a while, as on the 2-core machine the course is measured on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

#: The course's memory budget per notebook (sandbox + kernel), as in ``benchmarks/notebook_memory.py``.
NOTEBOOK_BUDGET_MIB = 1536
#: JupyterLab's server (or papermill) beside the kernel.
JUPYTERLAB_MIB = 512

# Node allocatable: what the kubelet leaves to pods. DigitalOcean does not publish a formula, and the course's size
# data (``/v2/sizes``) has only a node's total memory and vCPUs, so the plan models the reservation with the tiered
# kube-reserved rule several managed Kubernetes services document, plus the kubelet's 100 MiB eviction threshold and
# the DaemonSets DOKS runs on every node (Cilium, the CSI node plugin, konnectivity, the node agent). These are
# assumptions, printed with every plan; `kubectl describe node` (Allocatable) on the real cluster is the truth.
_MEMORY_TIERS_MIB = ((4096, 0.25), (4096, 0.20), (8192, 0.10), (114688, 0.06), (math.inf, 0.02))
_CPU_TIERS = ((1.0, 0.06), (1.0, 0.01), (2.0, 0.005), (math.inf, 0.0025))
EVICTION_MIB = 100
#: DOKS's own DaemonSet pods on each node (an assumption, see above).
DAEMONSETS_MIB = 300
DAEMONSETS_CPU = 0.15


@dataclass(frozen=True)
class LearnerResources:
    """Requests (guarantees) and limits of one learner's container."""

    memory_guarantee_mib: int = NOTEBOOK_BUDGET_MIB + JUPYTERLAB_MIB
    memory_limit_mib: int = 4096
    cpu_guarantee: float = 0.5
    cpu_limit: float = 2.0

    def __post_init__(self) -> None:
        for name in ("memory_guarantee_mib", "memory_limit_mib", "cpu_guarantee", "cpu_limit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r}", hint="e.g. 2048 MiB, 0.5 CPU")
        if self.memory_guarantee_mib > self.memory_limit_mib:
            raise ConfigError(
                f"memory guarantee {self.memory_guarantee_mib} MiB is above the limit {self.memory_limit_mib} MiB",
                hint="a guarantee (request) can be at most the limit",
            )
        if self.cpu_guarantee > self.cpu_limit:
            raise ConfigError(
                f"CPU guarantee {self.cpu_guarantee} is above the limit {self.cpu_limit}",
                hint="a guarantee (request) can be at most the limit",
            )

    def kubernetes(self) -> dict[str, dict[str, str]]:
        """The container's ``resources`` (requests and limits) in Kubernetes quantities."""
        return {
            "requests": {"cpu": _cpu(self.cpu_guarantee), "memory": f"{self.memory_guarantee_mib}Mi"},
            "limits": {"cpu": _cpu(self.cpu_limit), "memory": f"{self.memory_limit_mib}Mi"},
        }


def _cpu(value: float) -> str:
    return f"{round(value * 1000)}m"


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, left = 0.0, total
    for size, share in tiers:
        step = min(left, size)
        reserved += step * share
        left -= step
        if left <= 0:
            break
    return reserved


@dataclass(frozen=True)
class NodeCapacity:
    """What one node of a size leaves to learners' pods (modelled, see the module docstring)."""

    size: str
    memory_mib: int
    vcpus: int
    allocatable_memory_mib: float
    allocatable_cpu: float
    learners: int

    def explain(self, resources: LearnerResources) -> str:
        by_mem = int(self.allocatable_memory_mib // resources.memory_guarantee_mib)
        by_cpu = int(self.allocatable_cpu // resources.cpu_guarantee)
        return (
            f"{self.size}: {self.memory_mib} MiB, {self.vcpus} vCPU -> about {self.allocatable_memory_mib:.0f} MiB and "
            f"{self.allocatable_cpu:.2f} CPU for pods after the kubelet's reservation and DOKS's DaemonSets "
            f"(modelled); {resources.memory_guarantee_mib} MiB and {resources.cpu_guarantee} CPU per learner -> "
            f"{by_mem} by memory, {by_cpu} by CPU: {self.learners} learners per node"
        )


def node_capacity(size: str, *, memory_mib: int, vcpus: int, resources: LearnerResources) -> NodeCapacity:
    """How many learners' guarantees fit on one node of ``size`` (memory and CPU both)."""
    memory = memory_mib - _tiered(memory_mib, _MEMORY_TIERS_MIB) - EVICTION_MIB - DAEMONSETS_MIB
    cpu = vcpus - _tiered(vcpus, _CPU_TIERS) - DAEMONSETS_CPU
    fit = min(int(max(memory, 0) // resources.memory_guarantee_mib), int(max(cpu, 0) // resources.cpu_guarantee))
    return NodeCapacity(size, memory_mib, vcpus, max(memory, 0.0), max(cpu, 0.0), fit)


__all__ = ["LearnerResources", "NodeCapacity", "node_capacity"]
