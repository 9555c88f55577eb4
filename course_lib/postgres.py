"""PostgreSQL on Kubernetes with CloudNativePG: install pins, services and failover, connection settings,
point-in-time recovery windows, costs, and the Part 8 exercise.

The manifests themselves come from :mod:`course_lib.manifests` (``cnpg_cluster``, ``cnpg_pooler`` ...); this
module adds what a notebook needs around them. No PostgreSQL runs on the sandbox (no containers): the PITR
functions reason over a backup catalogue (base backups + the archived WAL window), exactly the facts
CloudNativePG uses to decide whether a ``recoveryTarget`` can be reached.

Example:
    >>> from course_lib import postgres as pg
    >>> catalog = pg.example_catalog()
    >>> pg.check_recovery_target("2026-11-25T16:30:00Z", catalog).recoverable
    True

Used in: notebook 08.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .errors import ConfigError
from .exercises import CheckResult, exercise
from .pins import CNPG_CHART_VERSION, CNPG_HELM_REPO, CNPG_VERSION

CNPG_MANIFEST_URL = (
    "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-{minor}/releases/cnpg-{version}.yaml"
)

#: DigitalOcean Spaces pricing (USD, public pricing page, same date as ``data/digitalocean``): a subscription
#: includes 250 GiB of storage and 1 TiB of outbound transfer; storage beyond that is billed per GiB.
SPACES_MONTHLY = 5.0
SPACES_INCLUDED_GB = 250.0
SPACES_EXTRA_PER_GB = 0.02

ServiceKind = Literal["rw", "ro", "r", "pooler"]


# --- managed vs operator -------------------------------------------------------------------------


def managed_vs_operator() -> Any:
    """The trade-offs between a managed database (DigitalOcean Managed PostgreSQL) and an operator in the cluster.

    Returns:
        A pandas DataFrame, one row per concern.

    Used in: notebook 08.
    """
    import pandas as pd

    rows = [
        ("set-up", "a few clicks or one API call", "install the operator, write a Cluster manifest"),
        ("backups & PITR", "built in (daily backups, 7-day PITR)", "you configure object storage and schedules"),
        ("upgrades", "provider applies minor versions in a window", "you bump the operator and image, it rolls"),
        ("failover", "standby nodes (billed per node)", "replicas on your nodes, operator promotes one"),
        ("cost", "pay per database node, above raw compute", "node share + volumes + object storage"),
        ("control", "limited parameters, no superuser", "every postgresql.conf parameter, extensions"),
        ("lock-in", "provider's API and tooling", "same manifests on any Kubernetes"),
        ("who is paged", "the provider, for the platform", "you, for everything"),
    ]
    return pd.DataFrame(rows, columns=["concern", "managed (DO Managed Databases)", "operator (CloudNativePG)"])


# --- install -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CnpgInstall:
    """How to install the pinned operator, two ways (run one of them on a cluster target)."""

    version: str
    chart_version: str
    helm: tuple[str, ...]
    manifest: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(
            [f"# Helm (chart {self.chart_version} = operator {self.version})", *self.helm, "", "# or the manifest"]
            + list(self.manifest)
        )

    __repr__ = __str__


def install_commands(*, version: str = CNPG_VERSION, chart_version: str = CNPG_CHART_VERSION) -> CnpgInstall:
    """The commands that install CloudNativePG ``version`` (Helm chart or the release manifest).

    Example:
        >>> "--version 0.29.0" in str(install_commands())
        True

    Used in: notebook 08.
    """
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"version {version!r} is not X.Y.Z", hint=f"e.g. {CNPG_VERSION!r}")
    minor = ".".join(parts[:2])
    helm = (
        f"helm repo add cnpg {CNPG_HELM_REPO}",
        "helm repo update",
        f"helm upgrade --install cnpg cnpg/cloudnative-pg --version {chart_version} \\",
        "  --namespace cnpg-system --create-namespace --wait",
    )
    manifest = (
        f"kubectl apply --server-side -f {CNPG_MANIFEST_URL.format(minor=minor, version=version)}",
        "kubectl rollout status deployment -n cnpg-system cnpg-controller-manager",
    )
    return CnpgInstall(version, chart_version, helm, manifest)


def install_operator(settings: Any, *, confirm: bool = False, timeout: float = 600.0) -> str:
    """Install (or upgrade) the pinned operator with Helm on a cluster target and wait for it.

    Raises:
        ConfigError: on the sandbox (no containers run there), or without ``confirm=True`` (checked first).
        ToolMissingError: ``helm`` is not installed (``make tools``).

    Used in: notebook 08 (cluster targets only).
    """
    from .tools import run

    if settings.target == "sandbox":
        raise ConfigError("the sandbox runs no containers, so no operator", hint="use target='doks' or 'kubeconfig'")
    if not confirm:
        raise ConfigError("installing the operator changes your cluster", hint="pass confirm=True when you mean it")
    conn = [*(["--kubeconfig", settings.kubeconfig] if settings.kubeconfig else [])]
    conn += ["--kube-context", settings.context] if settings.context else []
    run("helm", ["repo", "add", "cnpg", CNPG_HELM_REPO, "--force-update"], what="helm repo add cnpg")
    args = ["upgrade", "--install", "cnpg", "cnpg/cloudnative-pg", "--version", CNPG_CHART_VERSION]
    args += ["--namespace", "cnpg-system", "--create-namespace", "--wait", "--timeout", f"{int(timeout)}s", *conn]
    return run("helm", args, timeout=timeout + 30, what="helm upgrade --install cnpg").stdout


# --- services, failover, connections -------------------------------------------------------------


def cluster_services(cluster: str = "production-db", *, pooler: str | None = "pooler-rw") -> Any:
    """The Services CloudNativePG creates for ``cluster`` (and the Pooler's), with what each one reaches.

    Used in: notebook 08.
    """
    import pandas as pd

    rows = [
        (f"{cluster}-rw", "the primary only", "writes, and reads that must see them"),
        (f"{cluster}-ro", "hot-standby replicas only", "read-only queries, reports"),
        (f"{cluster}-r", "any instance, primary included", "reads that tolerate a little lag"),
    ]
    if pooler:
        rows.append((pooler, "PgBouncer pods → the primary", "many short-lived app connections"))
    return pd.DataFrame(rows, columns=["service", "points to", "use for"])


@dataclass(frozen=True)
class FailoverResult:
    """Roles and service endpoints before and after the primary is lost."""

    cluster: str
    failed: str
    promoted: str
    rows: tuple[tuple[str, str, str], ...]  # instance, before, after
    endpoints: tuple[tuple[str, str, str], ...]  # service, before, after

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=["instance", "before", "after"])

    def services(self) -> Any:
        import pandas as pd

        return pd.DataFrame(list(self.endpoints), columns=["service", "before", "after"])

    def __str__(self) -> str:
        return f"{self.failed} lost → {self.promoted} promoted; {self.cluster}-rw now points to {self.promoted}"


def simulate_failover(
    cluster: str = "production-db",
    *,
    instances: int = 3,
    replica_lag_bytes: Sequence[int] | None = None,
) -> FailoverResult:
    """What CloudNativePG does when the primary (instance 1) disappears: promote the replica that has received
    the most WAL (least lag), point ``-rw`` at it, and rebuild the lost instance as a replica.

    Args:
        instances: instances in the cluster (at least 2 for a failover).
        replica_lag_bytes: replication lag of instances 2..n (default: instance 2 is the most advanced).

    Example:
        >>> simulate_failover(replica_lag_bytes=[4096, 0]).promoted
        'production-db-3'

    Used in: notebook 08.
    """
    if instances < 2:
        raise ConfigError(
            f"a cluster of {instances} instance has no replica to promote", hint="use instances=3 (1 primary + 2)"
        )
    lags = list(replica_lag_bytes) if replica_lag_bytes is not None else [i * 1024 for i in range(instances - 1)]
    if len(lags) != instances - 1:
        raise ConfigError(f"expected {instances - 1} lag values, got {len(lags)}", hint="one per replica")
    names = [f"{cluster}-{i}" for i in range(1, instances + 1)]
    promoted = names[1 + min(range(len(lags)), key=lambda i: (lags[i], i))]
    rows = []
    for n in names:
        before = "primary" if n == names[0] else "replica"
        after = "replica (rebuilt)" if n == names[0] else ("primary (promoted)" if n == promoted else "replica")
        rows.append((n, before, after))
    replicas_after = [n for n in names if n != promoted]
    endpoints = (
        (f"{cluster}-rw", names[0], promoted),
        (f"{cluster}-ro", ", ".join(names[1:]), ", ".join(replicas_after)),
        (f"{cluster}-r", ", ".join(names), ", ".join(names)),
    )
    return FailoverResult(cluster, names[0], promoted, tuple(rows), endpoints)


def connection_string(
    cluster: str = "production-db",
    *,
    via: ServiceKind = "rw",
    pooler: str = "pooler-rw",
    namespace: str = "database",
    database: str = "app",
    user: str = "app",
) -> str:
    """A libpq URI (without password: that stays in the ``<cluster>-app`` Secret) for one way in.

    Example:
        >>> connection_string(via="pooler")
        'postgresql://app@pooler-rw.database.svc:5432/app'

    Used in: notebook 08.
    """
    if via not in ("rw", "ro", "r", "pooler"):
        raise ConfigError(f"via={via!r} is not a way in", hint="use 'rw', 'ro', 'r' or 'pooler'")
    host = pooler if via == "pooler" else f"{cluster}-{via}"
    return f"postgresql://{user}@{host}.{namespace}.svc:5432/{database}"


def app_deployment(
    name: str = "orders",
    *,
    namespace: str = "database",
    cluster: str = "production-db",
    pooler: str = "pooler-rw",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment whose container reaches PostgreSQL through the Pooler, with the password from the
    ``<cluster>-app`` Secret that CloudNativePG writes (keys ``username``, ``password``, ``dbname``, ``uri``).

    Used in: notebook 08.
    """
    from .manifests import CHECKOUT_IMAGE, object_meta

    secret = f"{cluster}-app"
    env = [
        {"name": "DB_HOST", "value": pooler},
        {"name": "DB_PORT", "value": "5432"},
        {"name": "DB_NAME", "valueFrom": {"secretKeyRef": {"name": secret, "key": "dbname"}}},
        {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}},
    ]
    container = {
        "name": name,
        "image": CHECKOUT_IMAGE,
        "env": env,
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(name, namespace=namespace, labels=labels),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [container]},
            },
        },
    }


# --- sandbox CRDs --------------------------------------------------------------------------------


def sandbox_crds(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Open placeholder CustomResourceDefinitions for the custom kinds in ``objects``, for the **sandbox** only
    (:func:`course_lib.sandbox.crds.placeholders`; the session installs upstream's real CRDs where it can and adds
    placeholders only for the rest). Never apply them to a real cluster.

    Example:
        >>> [c["metadata"]["name"] for c in sandbox_crds([{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Pooler"}])]
        ['poolers.postgresql.cnpg.io']
    """
    from .sandbox._crds import placeholders

    return placeholders(objects)


def sandbox_prerequisites(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the sandbox's API server needs before ``objects``: :func:`sandbox_crds` plus a Namespace for every
    namespace the objects use but do not create (on a real cluster the operators' charts bring both).

    Example:
        >>> [o["kind"] for o in sandbox_prerequisites([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        ...                                             "metadata": {"name": "root", "namespace": "argocd"}}])]
        ['CustomResourceDefinition', 'Namespace']

    Used in: notebooks 08, 09, 10.
    """
    from .manifests import namespace

    created = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
    used = {str(o.get("metadata", {}).get("namespace")) for o in objects if o.get("metadata", {}).get("namespace")}
    return [*sandbox_crds(objects), *(namespace(n) for n in sorted(used - created))]


# --- point-in-time recovery ----------------------------------------------------------------------


def _utc(value: datetime | str, *, what: str = "time") -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{what} {value!r} is not a timestamp", hint="use RFC 3339, e.g. '2026-11-25T16:30:00Z'"
            ) from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{what} {value!r} is not a timestamp", hint="pass a string like '2026-11-25T16:30:00Z'")
    if value.tzinfo is None:
        raise ConfigError(f"{what} {value.isoformat()!r} has no time zone", hint="add one, e.g. a trailing 'Z' for UTC")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class BaseBackup:
    """One base backup (a copy of the data directory); WAL from ``started`` on makes it consistent."""

    name: str
    started: datetime
    completed: datetime


@dataclass(frozen=True)
class BackupCatalog:
    """What is in the object store: base backups and the continuous WAL archive (with any gaps).

    Attributes:
        backups: base backups, oldest first.
        wal_start: oldest WAL segment kept.
        wal_end: newest archived WAL (recent changes not yet archived are lost in a recovery).
        gaps: periods where WAL archiving failed (nothing in them can be replayed).
    """

    backups: tuple[BaseBackup, ...]
    wal_start: datetime
    wal_end: datetime
    gaps: tuple[tuple[datetime, datetime], ...] = ()

    def windows(self) -> list[tuple[datetime, datetime]]:
        """The recoverable periods: from each backup's completion until the next WAL gap (merged)."""
        spans: list[tuple[datetime, datetime]] = []
        for b in self.backups:
            if b.started < self.wal_start:
                continue
            end = self.wal_end
            for g0, g1 in self.gaps:
                if g1 > b.started:
                    end = min(end, g0)
            if end > b.completed:
                spans.append((b.completed, end))
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    def table(self) -> Any:
        """Base backups as a DataFrame (name, started, completed)."""
        import pandas as pd

        return pd.DataFrame([b.__dict__ for b in self.backups])


@dataclass(frozen=True)
class Recoverability:
    """Whether a recovery target can be reached, from which backup, and how much WAL is replayed."""

    target: datetime
    recoverable: bool
    reason: str
    backup: str | None = None
    replay: timedelta | None = None

    def __str__(self) -> str:
        mark = "recoverable" if self.recoverable else "NOT recoverable"
        return f"{self.target.isoformat()}: {mark} — {self.reason}"

    __repr__ = __str__


def check_recovery_target(target: datetime | str, catalog: BackupCatalog) -> Recoverability:
    """Can ``bootstrap.recovery`` with ``recoveryTarget.targetTime = target`` succeed with this catalogue?

    CloudNativePG restores the newest base backup that *completed* before the target, then replays WAL up
    to the target: the target must lie after that backup's end, and WAL must be unbroken from the backup's
    start to the target, and archived up to it.

    Example:
        >>> c = example_catalog()
        >>> check_recovery_target("2026-11-19T01:00:00Z", c).recoverable
        False

    Used in: notebook 08.
    """
    t = _utc(target, what="target")
    done = [b for b in catalog.backups if b.completed <= t and b.started >= catalog.wal_start]
    if not done:
        first = min((b.completed for b in catalog.backups), default=None)
        why = f"it is before the first usable base backup completed ({first.isoformat()})" if first else "no backups"
        return Recoverability(t, False, why)
    if t > catalog.wal_end:
        return Recoverability(
            t, False, f"WAL is archived only up to {catalog.wal_end.isoformat()}; later changes are not in the store"
        )
    for b in sorted(done, key=lambda b: b.completed, reverse=True):
        broken = [g for g in catalog.gaps if g[1] > b.started and g[0] < t]
        if not broken:
            return Recoverability(
                t, True, f"restore {b.name}, then replay WAL up to the target", backup=b.name, replay=t - b.started
            )
    g0, g1 = next(g for g in catalog.gaps if g[0] < t)
    return Recoverability(
        t,
        False,
        f"WAL between {g0.isoformat()} and {g1.isoformat()} is missing and no base backup completed after the gap "
        "and before the target",
    )


#: The fixed story of the notebook: "now" and the moment someone ran a bad DROP TABLE.
EXAMPLE_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXAMPLE_ACCIDENT = datetime(2026, 11, 25, 16, 42, tzinfo=UTC)


def example_catalog(
    *,
    now: datetime = EXAMPLE_NOW,
    days: int = 7,
    backup_hour: int = 3,
    backup_minutes: int = 20,
    archive_lag: timedelta = timedelta(minutes=5),
    gap: tuple[datetime, datetime] | None = (
        datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 13, 30, tzinfo=UTC),
    ),
) -> BackupCatalog:
    """A catalogue like a ``ScheduledBackup`` at ``backup_hour`` would build: one base backup a day for ``days``
    days, WAL archived continuously up to ``now - archive_lag`` (``archive_timeout`` is 5 minutes by default),
    and optionally one period where archiving failed (e.g. expired Spaces keys).

    Used in: notebook 08.
    """
    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}", hint="keep at least one base backup")
    first = (now - timedelta(days=days)).replace(hour=backup_hour, minute=0, second=0, microsecond=0)
    backups = []
    for i in range(days + 1):
        start = first + timedelta(days=i)
        if start + timedelta(minutes=backup_minutes) > now:
            break
        backups.append(BaseBackup(f"backup-{start:%Y%m%d}", start, start + timedelta(minutes=backup_minutes)))
    return BackupCatalog(tuple(backups), backups[0].started, now - archive_lag, (gap,) if gap else ())


def pitr_figure(catalog: BackupCatalog, *, target: datetime | str | None = None) -> Any:
    """A timeline: base backups (bars), the archived WAL (a band, gaps in red), recoverable windows and the target.

    Used in: notebook 08.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    y_wal, y_win, y_bk = "WAL archive", "recoverable", "base backups"
    fig.add_trace(
        go.Scatter(
            x=[catalog.wal_start, catalog.wal_end], y=[y_wal] * 2, mode="lines", line={"width": 14}, name="archived WAL"
        )
    )
    for g0, g1 in catalog.gaps:
        fig.add_trace(
            go.Scatter(x=[g0, g1], y=[y_wal] * 2, mode="lines", line={"width": 14, "color": "#cf222e"}, name="WAL gap")
        )
    for i, (s, e) in enumerate(catalog.windows()):
        fig.add_trace(
            go.Scatter(
                x=[s, e],
                y=[y_win] * 2,
                mode="lines",
                line={"width": 14, "color": "#1a7f37"},
                name="recoverable",
                showlegend=i == 0,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[b.started for b in catalog.backups],
            y=[y_bk] * len(catalog.backups),
            mode="markers",
            marker={"symbol": "square", "size": 12},
            name="base backup",
            text=[b.name for b in catalog.backups],
        )
    )
    if target is not None:
        t = _utc(target, what="target")
        ok = check_recovery_target(t, catalog).recoverable
        fig.add_vline(x=t, line_dash="dash", line_color="#1a7f37" if ok else "#cf222e")
        fig.add_annotation(x=t, y=1.08, yref="paper", text="recovery target", showarrow=False)
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Point-in-time recovery")
    return fig


# --- costs ---------------------------------------------------------------------------------------


def setup_costs(
    *,
    instances: int = 3,
    storage_gb: float = 10,
    db_size_gb: float = 5,
    wal_gb_per_day: float = 1,
    retention_days: int = 30,
    backups_per_day: float = 1,
    compression: float = 0.35,
    options: Any | None = None,
) -> Any:
    """Monthly cost of Part 8's setup on DigitalOcean: block-storage volumes and the Spaces bucket.

    The instances and poolers run on the cluster's existing nodes (no extra line unless you need bigger nodes).

    Args:
        db_size_gb: data size; each base backup stores about ``db_size_gb * compression``.
        wal_gb_per_day: WAL written per day (gzip-compressed by the same ratio).
        retention_days: ``retentionPolicy`` (backups and WAL older than that are deleted).

    Returns:
        A DataFrame (item, quantity, unit, usd_per_month) with a ``total`` row.

    Used in: notebook 08.
    """
    import pandas as pd

    from .provision import get_options

    if min(instances, storage_gb, db_size_gb, wal_gb_per_day, retention_days, backups_per_day) < 0:
        raise ConfigError("sizes and counts must not be negative", hint="use 0 for 'none'")
    opts = options or get_options(live=False)
    stored = (db_size_gb * backups_per_day * retention_days + wal_gb_per_day * retention_days) * compression
    extra = max(0.0, stored - SPACES_INCLUDED_GB)
    rows = [
        (
            "volumes (one PVC per instance)",
            instances * storage_gb,
            "GiB",
            instances * storage_gb * opts.volume_gib.price_monthly,
        ),
        ("Spaces subscription (250 GiB included)", 1, "bucket set", SPACES_MONTHLY),
        ("backups + WAL kept in Spaces", round(stored, 1), "GiB", extra * SPACES_EXTRA_PER_GB),
    ]
    frame = pd.DataFrame(rows, columns=["item", "quantity", "unit", "usd_per_month"])
    total = pd.DataFrame([("total", float("nan"), "", frame.usd_per_month.sum())], columns=frame.columns)
    out = pd.concat([frame, total], ignore_index=True)
    out["usd_per_month"] = out["usd_per_month"].round(2)
    return out


# --- exercise ------------------------------------------------------------------------------------


@exercise("08-recovery-target")
def _check_recovery_target(answer: Any) -> CheckResult:
    """Part 8: a ``targetTime`` that undoes the 16:42 accident and loses at most 15 minutes of data."""
    name = "08-recovery-target"
    try:
        t = _utc(answer, what="targetTime")
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    catalog = example_catalog()
    if t >= EXAMPLE_ACCIDENT:
        return CheckResult(
            name,
            False,
            f"{t.isoformat()} is not before the DROP TABLE at {EXAMPLE_ACCIDENT.isoformat()}: the replay would "
            "run the DROP again.",
            "stop the replay a little before the accident",
        )
    verdict = check_recovery_target(t, catalog)
    if not verdict.recoverable:
        return CheckResult(name, False, f"that target cannot be reached: {verdict.reason}.", "look at the green band")
    lost = EXAMPLE_ACCIDENT - t
    if lost > timedelta(minutes=15):
        return CheckResult(
            name,
            False,
            f"recoverable, but you would lose {int(lost.total_seconds() // 60)} minutes of orders before the accident.",
            "move the target closer to the accident (at most 15 minutes before it)",
        )
    return CheckResult(
        name, True, f"restores {verdict.backup} and replays WAL up to {int(lost.total_seconds())} s before the DROP."
    )


def _register_manifests() -> None:
    from .manifests import register

    register("08/orders-app", lambda lb: app_deployment(labels=lb), replace=True)


_register_manifests()

__all__ = [
    "CNPG_CHART_VERSION",
    "CNPG_VERSION",
    "EXAMPLE_ACCIDENT",
    "EXAMPLE_NOW",
    "BackupCatalog",
    "BaseBackup",
    "CnpgInstall",
    "FailoverResult",
    "Recoverability",
    "app_deployment",
    "check_recovery_target",
    "cluster_services",
    "connection_string",
    "example_catalog",
    "install_commands",
    "install_operator",
    "managed_vs_operator",
    "pitr_figure",
    "setup_costs",
    "sandbox_crds",
    "sandbox_prerequisites",
    "simulate_failover",
]
