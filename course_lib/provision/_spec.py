"""``ClusterSpec``: one frozen description of a DOKS cluster, checked before anything is sent.

The same spec drives the API path (:func:`create_cluster`), the cost estimate and the generated Terraform.

Used in: notebook 01 (building and validating a spec), notebook 11 (what it costs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import COURSE_TAG, validate_name
from ..errors import ConfigError

if TYPE_CHECKING:
    from ._options import Options

#: A DOKS cluster needs at least one node; the API refuses a pool of zero when autoscaling is off.
MIN_NODES = 1
#: DigitalOcean's real ceiling is your account's Droplet limit (often 10–25 on new accounts). The course caps a
#: pool at 50 so that a typo (500 instead of 5) is caught before it reaches the bill.
MAX_NODES_PER_POOL = 50
#: ``latest``, a minor such as ``1.36`` (DO picks its newest patch) or a full slug such as ``1.36.6-do.0``.
VERSION_RE = re.compile(r"^(latest|\d+\.\d+|\d+\.\d+\.\d+-do\.\d+)$")
#: DigitalOcean tags: letters, digits, ':', '-', '_' (at most 255 characters).
TAG_RE = re.compile(r"^[A-Za-z0-9:_\-]{1,255}$")


@dataclass(frozen=True)
class NodePool:
    """One node pool: ``count`` Droplets of one ``size``.

    Args:
        name: DNS-1123 label, unique in the cluster.
        size: a node size slug such as ``s-2vcpu-4gb`` (see ``course provision options``).
        count: nodes to start with.
        auto_scale: let the cluster autoscaler move between ``min_nodes`` and ``max_nodes``.
        min_nodes: lower bound when autoscaling (DOKS's autoscaler goes down to 1).
        max_nodes: upper bound when autoscaling (the cost guard prices this worst case).
    """

    name: str = "worker-pool"
    size: str = "s-2vcpu-4gb"
    count: int = 2
    auto_scale: bool = False
    min_nodes: int | None = None
    max_nodes: int | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_name(self.name, what="node pool name")
        if not isinstance(self.size, str) or not self.size:
            raise ConfigError("node size must be a slug such as 's-2vcpu-4gb'", hint="see `course provision options`")
        _check_count(self.count, what=f"node pool {self.name!r} count")
        if self.auto_scale:
            if self.min_nodes is None or self.max_nodes is None:
                raise ConfigError(
                    f"node pool {self.name!r} autoscales but min_nodes/max_nodes are not set",
                    hint="give both, e.g. auto_scale=True, min_nodes=1, max_nodes=3",
                )
            _check_count(self.min_nodes, what=f"node pool {self.name!r} min_nodes")
            _check_count(self.max_nodes, what=f"node pool {self.name!r} max_nodes")
            if self.min_nodes > self.max_nodes:
                raise ConfigError(
                    f"node pool {self.name!r}: min_nodes ({self.min_nodes}) is greater than max_nodes ({self.max_nodes})",
                    hint="swap them: min_nodes must be ≤ max_nodes",
                )
            if not self.min_nodes <= self.count <= self.max_nodes:
                raise ConfigError(
                    f"node pool {self.name!r}: count {self.count} is outside min_nodes..max_nodes "
                    f"({self.min_nodes}..{self.max_nodes})",
                    hint="start with a count inside the autoscaling range",
                )
        elif self.min_nodes is not None or self.max_nodes is not None:
            raise ConfigError(
                f"node pool {self.name!r} sets min_nodes/max_nodes but auto_scale is False",
                hint="set auto_scale=True, or drop min_nodes and max_nodes",
            )
        object.__setattr__(self, "tags", _check_tags(self.tags))

    @property
    def worst_case_nodes(self) -> int:
        """Nodes this pool can reach: ``max_nodes`` when autoscaling, else ``count``."""
        return self.max_nodes if self.auto_scale and self.max_nodes is not None else self.count

    def to_body(self) -> dict[str, Any]:
        """The node-pool object of DigitalOcean's create-cluster request."""
        body: dict[str, Any] = {
            "name": self.name,
            "size": self.size,
            "count": self.count,
            "tags": sorted({*self.tags, COURSE_TAG}),
        }
        if self.auto_scale:
            body.update(auto_scale=True, min_nodes=self.min_nodes, max_nodes=self.max_nodes)
        return body


def _check_count(value: object, *, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{what} must be a whole number, got {value!r}", hint=f"use {MIN_NODES}..{MAX_NODES_PER_POOL}"
        )
    if not MIN_NODES <= value <= MAX_NODES_PER_POOL:
        raise ConfigError(
            f"{what} is {value}; it must be between {MIN_NODES} and {MAX_NODES_PER_POOL}",
            hint=(
                "a DOKS cluster needs at least one node; the course caps a pool at "
                f"{MAX_NODES_PER_POOL} (your account's Droplet limit is DigitalOcean's real ceiling)"
            ),
        )


def _check_tags(tags: object) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise ConfigError("tags must be a list of strings, not one string", hint="write tags=('team-a',)")
    if not isinstance(tags, list | tuple | set | frozenset):
        raise ConfigError(f"tags must be a list of strings, got {type(tags).__name__}", hint="write tags=('team-a',)")
    out: tuple[object, ...] = tuple(tags)
    for t in out:
        if not isinstance(t, str) or not TAG_RE.match(t):
            raise ConfigError(f"tag {t!r} is not a valid DigitalOcean tag", hint="use letters, digits, ':', '-', '_'")
    return tuple(str(t) for t in out)


@dataclass(frozen=True)
class ClusterSpec:
    """A DOKS cluster, validated on construction (name, counts, version format, tags).

    Whether the region, sizes and version exist is checked by :meth:`validate` against live options (with a token)
    or the dated snapshot; :func:`create_cluster` does that before it sends anything that creates resources.

    Args:
        name: DNS-1123 label, at most 63 characters; unique in your account.
        region: region slug, e.g. ``nyc1``.
        version: ``latest``, a minor (``1.36``) or a full DOKS slug (``1.36.6-do.0``).
        node_pools: one or more :class:`NodePool`.
        tags: extra DigitalOcean tags; ``k8s-course`` is always added so cleanup can find the cluster.
        ha: high-availability control plane (billed extra).

    Example:
        >>> spec = ClusterSpec(name="course-ada", region="nyc1", node_pools=(NodePool(size="s-2vcpu-4gb", count=2),))
        >>> spec.total_nodes
        2

    Used in: notebook 01.
    """

    name: str
    region: str = "nyc1"
    version: str = "latest"
    node_pools: tuple[NodePool, ...] = field(default_factory=lambda: (NodePool(),))
    tags: tuple[str, ...] = ()
    ha: bool = False
    auto_upgrade: bool = False
    surge_upgrade: bool = True

    def __post_init__(self) -> None:
        validate_name(self.name, what="cluster name", max_len=63)
        if not isinstance(self.region, str) or not re.match(r"^[a-z]{3}\d$", self.region):
            raise ConfigError(
                f"region {self.region!r} does not look like a DigitalOcean region slug",
                hint="use a slug such as 'nyc1', 'fra1' or 'sgp1' (see `course provision options`)",
            )
        if not isinstance(self.version, str) or not VERSION_RE.match(self.version):
            raise ConfigError(
                f"Kubernetes version {self.version!r} is not in a format DigitalOcean accepts",
                hint="use 'latest', a minor such as '1.36', or a full slug such as '1.36.6-do.0'",
            )
        pools = tuple(self.node_pools) if not isinstance(self.node_pools, NodePool) else (self.node_pools,)
        if not pools:
            raise ConfigError("a cluster needs at least one node pool", hint="pass node_pools=(NodePool(),)")
        names = [p.name for p in pools]
        if len(set(names)) != len(names):
            raise ConfigError(f"node pool names repeat: {names}", hint="give each pool its own name")
        object.__setattr__(self, "node_pools", pools)
        object.__setattr__(self, "tags", _check_tags(self.tags))

    @classmethod
    def single_pool(
        cls,
        name: str,
        *,
        region: str = "nyc1",
        size: str = "s-2vcpu-4gb",
        count: int = 2,
        version: str = "latest",
        ha: bool = False,
        auto_scale: bool = False,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        tags: tuple[str, ...] = (),
    ) -> ClusterSpec:
        """A spec with one node pool, built from notebook parameters.

        Example:
            >>> ClusterSpec.single_pool("course-ada", size="s-2vcpu-4gb", count=3).total_nodes
            3
        """
        pool = NodePool(size=size, count=count, auto_scale=auto_scale, min_nodes=min_nodes, max_nodes=max_nodes)
        return cls(name=name, region=region, version=version, node_pools=(pool,), ha=ha, tags=tags)

    @property
    def total_nodes(self) -> int:
        return sum(p.count for p in self.node_pools)

    @property
    def all_tags(self) -> list[str]:
        """The cluster's tags as sent to DigitalOcean (always including ``k8s-course``)."""
        return sorted({*self.tags, COURSE_TAG})

    def validate(self, options: Options) -> ClusterSpec:
        """Check region, sizes and version against ``options``; return ``self`` or raise :class:`ConfigError`.

        Example:
            >>> from course_lib.provision import snapshot_options
            >>> ClusterSpec(name="course-ada").validate(snapshot_options()).region
            'nyc1'
        """
        from ._options import _did_you_mean

        where = "the live list" if options.source == "live" else f"the snapshot of {options.snapshot_date}"
        if self.region not in options.region_slugs:
            raise ConfigError(
                f"region {self.region!r} does not offer Kubernetes (checked against {where})",
                hint=f"choose one of: {', '.join(options.region_slugs)}{_did_you_mean(self.region, options.region_slugs)}",
            )
        for pool in self.node_pools:
            if pool.size not in options.size_slugs:
                raise ConfigError(
                    f"node pool {pool.name!r}: size {pool.size!r} is not a DOKS node size (checked against {where})",
                    hint=f"choose one of: {', '.join(options.size_slugs)}{_did_you_mean(pool.size, options.size_slugs)}",
                )
        if self.version != "latest":
            slugs = options.version_slugs
            ok = (
                self.version in slugs
                if "-do." in self.version
                else any(s.startswith(self.version + ".") for s in slugs)
            )
            if not ok:
                raise ConfigError(
                    f"Kubernetes version {self.version!r} is not offered (checked against {where})",
                    hint=f"use 'latest' or one of: {', '.join(slugs)}",
                )
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body of ``POST /v2/kubernetes/clusters`` (no secrets in it).

        Example:
            >>> ClusterSpec(name="course-ada").to_body()["tags"]
            ['k8s-course']
        """
        return {
            "name": self.name,
            "region": self.region,
            "version": self.version,
            "tags": self.all_tags,
            "ha": self.ha,
            "auto_upgrade": self.auto_upgrade,
            "surge_upgrade": self.surge_upgrade,
            "node_pools": [p.to_body() for p in self.node_pools],
        }
