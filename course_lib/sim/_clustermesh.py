"""The course's own check of a Cilium Cluster Mesh: the cluster names, IDs and pod CIDRs that would stop ``cilium
clustermesh connect`` (no pandas, no plotly, no I/O); Part 9's CLI plan over it is in :mod:`course_lib.regions`.

Example:
    >>> check_clustermesh([MeshCluster("a", 1, "10.1.0.0/16"), MeshCluster("b", 2, "10.2.0.0/16")])
    []
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MeshCluster:
    """One cluster as Cluster Mesh sees it: a unique name and ID (1-255) and a pod CIDR that overlaps no other."""

    name: str
    cluster_id: int
    pod_cidr: str
    context: str = ""


def check_clustermesh(clusters: Sequence[MeshCluster]) -> list[str]:
    """The problems that would stop ``cilium clustermesh connect`` (an empty list means none found).

    Example:
        >>> check_clustermesh([MeshCluster("a", 1, "10.1.0.0/16"), MeshCluster("b", 1, "10.1.128.0/17")])[0]
        'cluster ID 1 is used by a and b'

    Used in: notebook 09.
    """
    problems: list[str] = []
    seen_ids: dict[int, str] = {}
    seen_names: set[str] = set()
    nets: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for c in clusters:
        if c.name in seen_names:
            problems.append(f"cluster name {c.name!r} is used twice")
        seen_names.add(c.name)
        if not 1 <= c.cluster_id <= 255:
            problems.append(f"{c.name}: cluster ID {c.cluster_id} is outside 1-255")
        elif c.cluster_id in seen_ids:
            problems.append(f"cluster ID {c.cluster_id} is used by {seen_ids[c.cluster_id]} and {c.name}")
        seen_ids.setdefault(c.cluster_id, c.name)
        try:
            net = ipaddress.ip_network(c.pod_cidr)
        except ValueError:
            problems.append(f"{c.name}: pod CIDR {c.pod_cidr!r} is not a network")
            continue
        for other, onet in nets:
            if net.version == onet.version and net.overlaps(onet):  # type: ignore[arg-type]
                problems.append(f"pod CIDRs of {other} ({onet}) and {c.name} ({net}) overlap")
        nets.append((c.name, net))
    return problems
