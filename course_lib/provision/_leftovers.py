"""Find (and optionally delete) DigitalOcean resources the course left behind.

Kubernetes creates cloud resources that Terraform and ``create_cluster`` never asked for: a ``type: LoadBalancer``
Service makes a load balancer, a PersistentVolumeClaim makes a volume, a VolumeSnapshot makes a snapshot. DOKS
tags them ``k8s:<cluster-id>``; the course tags its own things ``k8s-course``. A resource is a *leftover* when
its cluster no longer exists. Resources of a cluster that still runs are listed as *in use* and never deleted.

Used in: notebook 11.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..config import COURSE_TAG
from ..errors import ProvisionError

if TYPE_CHECKING:
    from ._api import DOApi

Kind = Literal["load_balancer", "volume", "snapshot", "droplet"]
_CLUSTER_TAG = re.compile(r"^k8s:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


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


def _classify(kind: Kind, raw: dict[str, Any], clusters: dict[str, dict[str, Any]]) -> Leftover | None:
    tags = _tags(raw)
    cluster_ids = [m.group(1) for t in tags if (m := _CLUSTER_TAG.match(t))]
    course = COURSE_TAG in tags
    if not cluster_ids and not course:
        return None
    cid = cluster_ids[0] if cluster_ids else None
    if cid is not None and cid in clusters:
        owner = clusters[cid]
        status: Literal["leftover", "in use"] = "in use"
        reason = f"belongs to running cluster {owner.get('name')!r}"
        if COURSE_TAG not in (owner.get("tags") or []) and not course:
            return None  # someone else's live cluster: not ours to report
    elif cid is not None:
        status, reason = "leftover", f"its cluster {cid} no longer exists"
    elif kind == "droplet" and "k8s" in tags:
        status, reason = "in use", "a DOKS node"
    else:
        status, reason = "leftover", f"tagged {COURSE_TAG!r} and not part of a running cluster"
    return Leftover(
        kind=kind,
        id=str(raw.get("id")),
        name=str(raw.get("name", "")),
        region=_region(raw),
        tags=tags,
        cluster_id=cid,
        status=status,
        reason=reason,
        monthly_usd=round(_price(kind, raw), 2),
    )


def find_leftovers(*, delete: bool = False, api: DOApi | None = None) -> LeftoverReport:
    """List course-tagged and cluster-tagged load balancers, volumes, snapshots and Droplets.

    Args:
        delete: ``False`` (default) is a dry run that only lists. ``True`` deletes the items whose status is
            ``leftover`` (their cluster is gone); items of running clusters are never touched.

    Example:
        >>> report = find_leftovers()  # doctest: +SKIP
        >>> report.table()  # doctest: +SKIP

    Used in: notebook 11, ``course provision leftovers``.
    """
    from ._api import DOApi

    api = api if api is not None else DOApi()
    c = api.client
    clusters = {str(x["id"]): x for x in api.list_clusters()}
    listings: list[tuple[Kind, list[dict[str, Any]]]] = [
        ("load_balancer", api.paged("list load balancers", c.load_balancers.list, "load_balancers")),
        ("volume", api.paged("list volumes", c.volumes.list, "volumes")),
        ("snapshot", api.paged("list snapshots", c.snapshots.list, "snapshots")),
        ("droplet", api.paged("list Droplets", c.droplets.list, "droplets")),
    ]
    items = tuple(x for kind, raws in listings for raw in raws if (x := _classify(kind, raw, clusters)))
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
            ("GET", "/v2/load_balancers"),
            ("GET", "/v2/volumes"),
            ("GET", "/v2/snapshots"),
            ("GET", "/v2/droplets"),
        ),
        rule=(
            f"a resource tagged 'k8s:<cluster-id>' whose cluster no longer exists, or tagged {COURSE_TAG!r} "
            "outside a running cluster, is a leftover; resources of running clusters are only listed"
        ),
    )
