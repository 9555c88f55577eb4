"""Find (and optionally delete) DigitalOcean resources the course left behind.

Kubernetes creates cloud resources that Terraform and ``create_cluster`` never asked for: a ``type: LoadBalancer``
Service makes a load balancer, a PersistentVolumeClaim makes a volume, a VolumeSnapshot makes a snapshot. A resource
is a *leftover* when the cluster it belongs to no longer exists, or when the course tagged it ``k8s-course`` and it
is part of no running cluster. Resources of a cluster that still runs are listed as *in use* and never deleted.

Which cluster a resource belongs to is read only from fields DigitalOcean's API reference defines in its responses:

* ``GET /v2/kubernetes/clusters/{id}/destroy_with_associated_resources`` of every listed cluster: the ``id`` of
  each entry in ``load_balancers``, ``volumes`` and ``volume_snapshots``;
* a cluster's ``node_pools[].nodes[].droplet_id`` (a string) against a load balancer's ``droplet_ids``
  (integers) and a Droplet's ``id``; a snapshot's ``resource_id`` when its ``resource_type`` is ``volume``;
* ``tags`` of volumes, snapshots and Droplets, and a load balancer's ``tag`` (its Droplet selector, a string), when
  one reads ``k8s:<cluster-id>``. Load balancers have **no** ``tags`` field in the API's responses (DOKS sends tags
  when it creates one, but the API does not return them), so that field is never read;
* DOKS naming, for resources whose cluster is gone and which nothing else ties to a cluster: a Service's load
  balancer is named ``a`` + the Service UID without dashes (cut to 32 characters), a PVC's volume ``pvc-<uuid>``,
  a CSI volume snapshot ``snapshot-<uuid>``.

Used in: notebook 11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..config import COURSE_TAG
from ..errors import ProvisionError

if TYPE_CHECKING:
    from ._client import DOApi

Kind = Literal["load_balancer", "volume", "snapshot", "droplet"]
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CLUSTER_TAG = re.compile(rf"^k8s:({_UUID})$")
# what DOKS names the resources it makes for a cluster (the CCM's default load balancer name; CSI volumes/snapshots)
_DOKS_NAME: dict[str, re.Pattern[str]] = {
    "load_balancer": re.compile(r"^a[0-9a-f]{31}$"),
    "volume": re.compile(rf"^pvc-{_UUID}$"),
    "snapshot": re.compile(rf"^snapshot-{_UUID}$"),
}
_DOKS_WHAT = {"load_balancer": "Service load balancer", "volume": "PVC volume", "snapshot": "CSI volume snapshot"}
# keys of the associated-resources reply, by our kind
_ASSOCIATED: dict[str, Kind] = {"load_balancers": "load_balancer", "volumes": "volume", "volume_snapshots": "snapshot"}


@dataclass(frozen=True)
class Leftover:
    """One resource that belongs to the course or to a (deleted) DOKS cluster.

    Attributes:
        status: ``leftover`` (its cluster is gone: safe to delete) or ``in use`` (its cluster still runs).
        monthly_usd: rough monthly price from the snapshot, to show what forgetting it would cost.
    """

    kind: Kind
    id: str
    name: str
    region: str
    tags: tuple[str, ...]
    cluster_id: str | None
    status: Literal["leftover", "in use"]
    reason: str
    monthly_usd: float


@dataclass(frozen=True)
class LeftoverReport:
    """What :func:`find_leftovers` found and, with ``delete=True``, what it deleted."""

    items: tuple[Leftover, ...]
    deleted: tuple[str, ...]
    errors: tuple[str, ...]
    dry_run: bool

    @property
    def leftovers(self) -> tuple[Leftover, ...]:
        return tuple(i for i in self.items if i.status == "leftover")

    @property
    def monthly_usd(self) -> float:
        """What the leftovers would cost per month if nobody deleted them."""
        return round(sum(i.monthly_usd for i in self.leftovers), 2)

    def table(self) -> Any:
        import pandas as pd

        cols = ["kind", "id", "name", "region", "status", "reason", "monthly_usd"]
        return pd.DataFrame([{c: getattr(i, c) for c in cols} for i in self.items], columns=cols)

    def __str__(self) -> str:
        mode = "dry run" if self.dry_run else f"deleted {len(self.deleted)}"
        return f"{len(self.leftovers)} leftover(s), {len(self.items) - len(self.leftovers)} in use ({mode})"


def _tags(raw: dict[str, Any]) -> tuple[str, ...]:
    tags = list(raw.get("tags") or [])
    if raw.get("tag"):  # a load balancer's droplet selector, e.g. 'k8s:<cluster-id>'
        tags.append(str(raw["tag"]))
    return tuple(dict.fromkeys(str(t) for t in tags))


def _region(raw: dict[str, Any]) -> str:
    region = raw.get("region")
    if isinstance(region, dict):
        return str(region.get("slug", ""))
    if region:
        return str(region)
    regions = raw.get("regions") or []
    return str(regions[0]) if regions else ""


def _price(kind: Kind, raw: dict[str, Any]) -> float:
    from ._options import snapshot_options

    opts = snapshot_options()
    if kind == "load_balancer":
        return opts.load_balancer.price_monthly * int(raw.get("size_unit") or 1)
    if kind == "volume":
        return opts.volume_gib.price_monthly * float(raw.get("size_gigabytes") or 0)
    if kind == "snapshot":
        return 0.06 * float(raw.get("size_gigabytes") or 0)  # snapshots: USD 0.06 per GiB-month
    size = raw.get("size_slug") or (raw.get("size") or {}).get("slug", "")
    return next((s.price_monthly for s in opts.sizes if s.slug == size), 0.0)


@dataclass(frozen=True)
class _Owners:
    """Which running cluster each resource belongs to, from the clusters' own replies."""

    clusters: dict[str, dict[str, Any]]
    associated: dict[tuple[Kind, str], str]  # (kind, id) -> cluster id
    nodes: dict[str, str]  # Droplet id (as a string) -> cluster id

    @classmethod
    def read(cls, api: DOApi, clusters: dict[str, dict[str, Any]]) -> _Owners:
        associated: dict[tuple[Kind, str], str] = {}
        nodes: dict[str, str] = {}
        for cid, cluster in clusters.items():
            for pool in cluster.get("node_pools") or []:
                for node in pool.get("nodes") or []:
                    if node.get("droplet_id"):
                        nodes[str(node["droplet_id"])] = cid
            try:
                listed = api.call(
                    f"list resources associated with cluster {cid}",
                    api.client.kubernetes.list_associated_resources,
                    cid,
                )
            except ProvisionError as exc:
                if exc.context.get("status") == 404:  # deleted between the two requests: its resources are orphans
                    continue
                raise
            for key, kind in _ASSOCIATED.items():
                for entry in (listed or {}).get(key) or []:
                    associated[(kind, str(entry.get("id")))] = cid
        return cls(clusters, associated, nodes)

    def owner(self, kind: Kind, raw: dict[str, Any], tags: tuple[str, ...]) -> tuple[str | None, str]:
        """The cluster id ``raw`` belongs to (or ``None``) and how we know."""
        rid = str(raw.get("id"))
        if (kind, rid) in self.associated:
            return self.associated[(kind, rid)], "listed among its associated resources"
        if kind == "load_balancer":
            for droplet in raw.get("droplet_ids") or []:
                if str(droplet) in self.nodes:
                    return self.nodes[str(droplet)], "it balances the cluster's nodes"
        if kind == "droplet" and rid in self.nodes:
            return self.nodes[rid], "one of its nodes"
        if kind == "snapshot" and raw.get("resource_type") == "volume":
            source = self.associated.get(("volume", str(raw.get("resource_id"))))
            if source is not None:
                return source, "a snapshot of one of its volumes"
        tagged = [m.group(1) for t in tags if (m := _CLUSTER_TAG.match(t))]
        if tagged:
            return tagged[0], f"tagged k8s:{tagged[0]}"
        return None, ""


def _classify(kind: Kind, raw: dict[str, Any], owners: _Owners) -> Leftover | None:
    tags = _tags(raw)
    course = COURSE_TAG in tags
    cid, how = owners.owner(kind, raw, tags)
    name = str(raw.get("name", ""))
    pattern = _DOKS_NAME.get(kind)
    doks_named = bool(pattern and pattern.match(name))
    if cid is None and not course and not doks_named:
        return None
    status: Literal["leftover", "in use"]
    if cid is not None and cid in owners.clusters:
        owner = owners.clusters[cid]
        status, reason = "in use", f"belongs to running cluster {owner.get('name')!r} ({how})"
        if COURSE_TAG not in (owner.get("tags") or []) and not course:
            return None  # someone else's live cluster: not ours to report
    elif cid is not None:
        status, reason = "leftover", f"its cluster {cid} no longer exists ({how})"
    elif kind == "droplet" and "k8s" in tags:
        status, reason = "in use", "a DOKS node"
    elif course:
        status, reason = "leftover", f"tagged {COURSE_TAG!r} and not part of a running cluster"
    else:
        status, reason = "leftover", f"named like a DOKS {_DOKS_WHAT[kind]} and part of no running cluster"
    return Leftover(
        kind=kind,
        id=str(raw.get("id")),
        name=name,
        region=_region(raw),
        tags=tags,
        cluster_id=cid,
        status=status,
        reason=reason,
        monthly_usd=round(_price(kind, raw), 2),
    )


def find_leftovers(*, delete: bool = False, api: DOApi | None = None) -> LeftoverReport:
    """List the course's and DOKS clusters' load balancers, volumes, snapshots and Droplets (see the module doc).

    Args:
        delete: ``False`` (default) is a dry run that only lists. ``True`` deletes the items whose status is
            ``leftover`` (their cluster is gone); items of running clusters are never touched.

    Example:
        >>> report = find_leftovers()  # doctest: +SKIP
        >>> report.table()  # doctest: +SKIP

    Used in: notebook 11, ``course provision leftovers``.
    """
    from ._client import DOApi

    api = api if api is not None else DOApi()
    c = api.client
    clusters = {str(x["id"]): x for x in api.list_clusters()}
    owners = _Owners.read(api, clusters)
    listings: list[tuple[Kind, list[dict[str, Any]]]] = [
        ("load_balancer", api.paged("list load balancers", c.load_balancers.list, "load_balancers")),
        ("volume", api.paged("list volumes", c.volumes.list, "volumes")),
        ("snapshot", api.paged("list snapshots", c.snapshots.list, "snapshots")),
        ("droplet", api.paged("list Droplets", c.droplets.list, "droplets")),
    ]
    items = tuple(x for kind, raws in listings for raw in raws if (x := _classify(kind, raw, owners)))
    deleted: list[str] = []
    errors: list[str] = []
    if delete:
        # load balancers first (they point at Droplets), then Droplets (which frees attached volumes), then volumes
        order: dict[Kind, tuple[str, Any]] = {
            "load_balancer": ("delete load balancer", c.load_balancers.delete),
            "droplet": ("delete Droplet", c.droplets.destroy),
            "volume": ("delete volume", c.volumes.delete),
            "snapshot": ("delete snapshot", c.snapshots.delete),
        }
        for kind in order:
            what, op = order[kind]
            for item in (i for i in items if i.kind == kind and i.status == "leftover"):
                try:
                    api.call(f"{what} {item.id}", op, int(item.id) if kind == "droplet" else item.id)
                    deleted.append(f"{kind}:{item.id}")
                except ProvisionError as exc:  # e.g. a volume still attached: report and go on
                    errors.append(f"{kind}:{item.id}: {exc.message}")
    return LeftoverReport(items, tuple(deleted), tuple(errors), dry_run=not delete)


@dataclass(frozen=True)
class OfflineLeftoverCheck:
    """What the leftover scan would look at, for when there is no token (the sandbox)."""

    requests: tuple[tuple[str, str], ...]
    rule: str

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"method": m, "path": p} for m, p in self.requests])


def leftover_plan() -> OfflineLeftoverCheck:
    """The read-only requests :func:`find_leftovers` sends, and its rule, without a token.

    Used in: notebook 11 (sandbox).
    """
    return OfflineLeftoverCheck(
        requests=(
            ("GET", "/v2/kubernetes/clusters"),
            ("GET", "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources"),
            ("GET", "/v2/load_balancers"),
            ("GET", "/v2/volumes"),
            ("GET", "/v2/snapshots"),
            ("GET", "/v2/droplets"),
        ),
        rule=(
            "a resource of a cluster that no longer exists (by tag 'k8s:<cluster-id>', or named like a DOKS load "
            f"balancer, PVC volume or volume snapshot), or tagged {COURSE_TAG!r} outside a running cluster, is a "
            "leftover; resources a running cluster lists as its own, or whose load balancer points at its nodes, are "
            "only listed"
        ),
    )
