"""PostgreSQL on Kubernetes with CloudNativePG: install pins, services and failover, connection settings,
point-in-time recovery windows, costs, and the Part 8 exercise.

The manifests themselves come from :mod:`course_lib.manifests` (``cnpg_cluster``, ``cnpg_pooler`` ...); this
module adds what a notebook needs around them. The operator cannot run on the sandbox (no containers), but what it
automates runs for real on the sandbox's PostgreSQL service (:mod:`course_lib.sandbox._postgres`):
:func:`failover_drill`, :func:`pooling_drill`, :func:`backup_catalog` and the "Your turn" :func:`bad_update`. The PITR
functions reason over a backup catalogue (base backups + the archived WAL window), exactly the facts CloudNativePG
uses to decide whether a ``recoveryTarget`` can be reached — the real one, or the illustrative
:func:`example_catalog`.

Example:
    >>> from course_lib import postgres as pg
    >>> catalog = pg.example_catalog()
    >>> pg.check_recovery_target("2026-11-25T16:30:00Z", catalog).recoverable
    True

Used in: notebook 08.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .errors import ConfigError, SandboxError
from .exercises import CheckResult, exercise
from .pins import CNPG_CHART, CNPG_CHART_VERSION, CNPG_VERSION

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
    import shlex

    chart = CNPG_CHART if chart_version == CNPG_CHART.version else replace(CNPG_CHART, version=chart_version)
    helm = (
        f"helm repo add {chart.repo_name} {chart.repo_url}",
        f"helm repo update {chart.repo_name}",
        shlex.join(["helm", *chart.install_args(), "--wait"]),
    )
    manifest = (
        f"kubectl apply --server-side -f {CNPG_MANIFEST_URL.format(minor=minor, version=version)}",
        "kubectl rollout status deployment -n cnpg-system cnpg-controller-manager",
    )
    return CnpgInstall(version, chart_version, helm, manifest)


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
    namespace the objects use but do not create (on a real cluster the operators' charts bring both);
    :func:`course_lib.sandbox.crds.prerequisites` with no CRD known.

    Example:
        >>> [o["kind"] for o in sandbox_prerequisites([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        ...                                             "metadata": {"name": "root", "namespace": "argocd"}}])]
        ['CustomResourceDefinition', 'Namespace']
    """
    from .sandbox._crds import prerequisites

    return prerequisites(objects)


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


# --- the sandbox's real PostgreSQL: failover, PITR and pooling drills --------------------------------------------


def backup_catalog(db: Any) -> BackupCatalog:
    """The real catalogue of a running sandbox PostgreSQL (``session.postgres()``): its base backups, and the WAL
    archive from the first backup to the newest archived file (its archive time).

    It is the same structure as :func:`example_catalog`, so :func:`check_recovery_target` and :func:`course_lib.plots.pitr_figure`
    reason over what is really in the archive.

    Used in: notebook 08.
    """
    backups = tuple(BaseBackup(b.name, b.started, b.completed) for b in db.backups())
    wal = db.archived_wal()
    if not backups or wal.empty:
        raise ConfigError("the archive has no base backup or no WAL yet", hint="take one with db.base_backup()")
    wal_end = max(wal["archived"].max().to_pydatetime(), backups[-1].completed)
    return BackupCatalog(backups, backups[0].started, wal_end)


@dataclass(frozen=True)
class FailoverRun:
    """A real failover of the sandbox PostgreSQL, measured.

    Attributes:
        failed: the primary that was killed.
        promoted: the replica promoted (the one that had received the most WAL).
        followed: the replicas repointed at it.
        received_lsn: WAL received by each replica when the choice was made.
        events: (what, seconds after the kill), in order.
        writes: (id, seconds after the kill) of every write acknowledged to the writer (negative: before).
        rto: seconds from the kill to the first write the new primary acknowledged (through PgBouncer).
        committed_before: writes the old primary acknowledged (``inet_server_port()`` says which server did).
        found_after: how many of those the new primary has.
    """

    failed: str
    promoted: str
    followed: tuple[str, ...]
    received_lsn: tuple[tuple[str, str], ...]
    events: tuple[tuple[str, float], ...]
    writes: tuple[tuple[int, float], ...]
    rto: float
    committed_before: int
    found_after: int

    @property
    def lost(self) -> int:
        """Committed rows missing on the new primary (the RPO in rows)."""
        return self.committed_before - self.found_after

    def table(self) -> Any:
        """The events as a DataFrame (event, seconds after the kill)."""
        import pandas as pd

        return pd.DataFrame(list(self.events), columns=["event", "seconds_after_kill"]).round(3)

    def __str__(self) -> str:
        return (
            f"{self.failed} killed → {self.promoted} promoted, {', '.join(self.followed)} repointed; "
            f"first write after {self.rto:.2f} s (RTO); {self.found_after} of the {self.committed_before} rows "
            f"{self.failed} acknowledged are on {self.promoted} ({self.lost} lost)"
        )


FAILOVER_TABLE = "failover_writes"


def failover_drill(db: Any, *, write_for: float = 1.0, timeout: float = 30.0) -> FailoverRun:
    """Kill the primary while an app writes through PgBouncer, then do what CNPG's failover does: promote the
    replica that received the most WAL (``pg_last_wal_receive_lsn()``), repoint the other one
    (``primary_conninfo``), point the pooler at the new primary. Measures the time from the kill to the first
    write the new primary acknowledges, and checks that every write the old primary acknowledged is on the new one.

    Args:
        db: the running sandbox PostgreSQL (``session.postgres()``).
        write_for: seconds the writer runs before the kill.

    Used in: notebook 08.
    """
    import threading

    import psycopg

    db.query(f"CREATE TABLE IF NOT EXISTS {FAILOVER_TABLE} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())")
    db.query(f"TRUNCATE {FAILOVER_TABLE}")
    stop = threading.Event()
    acked: list[tuple[int, float, int]] = []  # id, when acknowledged, port of the server that committed it

    def writer() -> None:
        conn: psycopg.Connection[Any] | None = None
        i = 0
        while not stop.is_set():
            try:
                if conn is None:
                    conn = db.connect(pooler=True, connect_timeout=2)
                i += 1
                row = conn.execute(
                    f"INSERT INTO {FAILOVER_TABLE} (id) VALUES (%s) RETURNING inet_server_port()", (i,)
                ).fetchone()
                acked.append((i, time.monotonic(), int(row[0]) if row else 0))
            except psycopg.Error:
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(write_for)
    failed = db.primary
    old_port = db.port(failed)
    t0 = time.monotonic()
    db.kill(failed)
    events: list[tuple[str, float]] = [(f"{failed} killed (SIGKILL)", 0.0)]
    lsn = {
        r: str(db.query("SELECT pg_last_wal_receive_lsn()::text AS lsn", on=r, user="postgres").lsn[0])
        for r in db.replicas
    }
    promoted = max(lsn, key=lambda r: (_lsn_int(lsn[r]), [-ord(c) for c in r]))
    new_port = db.port(promoted)
    events.append((f"most advanced replica chosen: {promoted}", time.monotonic() - t0))
    db.promote(promoted)
    events.append((f"{promoted} promoted (pg_promote)", time.monotonic() - t0))
    followed = tuple(r for r in db.replicas if r != promoted)
    for r in followed:
        db.follow(r, promoted)
    events.append(("other replica repointed (primary_conninfo)", time.monotonic() - t0))
    db.repoint_pooler(promoted)
    events.append(("PgBouncer repointed (RELOAD)", time.monotonic() - t0))
    deadline = time.monotonic() + timeout
    while not any(p == new_port for *_, p in acked) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    stop.set()
    thread.join(timeout=10)
    after = [t for _, t, p in acked if p == new_port]
    if not after:
        raise SandboxError("no write succeeded after the failover", hint=f"read db.log({promoted!r})")
    rto = min(after) - t0
    events.append((f"first write acknowledged by {promoted}", rto))
    events.sort(key=lambda e: e[1])
    # every write the old primary acknowledged (also one in flight when the SIGKILL landed) must have survived
    before = {i for i, _, p in acked if p == old_port}
    rows = db.query(f"SELECT id FROM {FAILOVER_TABLE}")
    found = len(before & {int(x) for x in rows["id"]})
    return FailoverRun(
        failed=failed,
        promoted=promoted,
        followed=followed,
        received_lsn=tuple(sorted(lsn.items())),
        events=tuple(events),
        writes=tuple((i, t - t0) for i, t, _ in acked),
        rto=rto,
        committed_before=len(before),
        found_after=found,
    )


def _lsn_int(lsn: str) -> int:
    """``'0/5023A10'`` → a comparable integer (PostgreSQL's pg_lsn)."""
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


@dataclass(frozen=True)
class PoolingRun:
    """Many clients at once, through PgBouncer and straight to PostgreSQL."""

    clients: int
    pool_size: int
    pooled_ok: int
    pooled_errors: int
    peak_server_connections: int
    peak_waiting_clients: int
    pooled_seconds: float
    direct_ok: int
    direct_errors: int
    direct_error: str
    max_connections: int

    def table(self) -> Any:
        """One row per path: clients that got an answer, that failed, and server connections used."""
        import pandas as pd

        return pd.DataFrame(
            [
                ("through PgBouncer", self.clients, self.pooled_ok, self.pooled_errors, self.peak_server_connections),
                ("straight to PostgreSQL", self.clients, self.direct_ok, self.direct_errors, self.direct_ok),
            ],
            columns=["path", "clients", "answered", "refused", "server connections"],
        ).set_index("path")


def pooling_drill(db: Any, *, clients: int = 500, hold: float = 0.2) -> PoolingRun:
    """Open ``clients`` connections at once through PgBouncer, each running ``SELECT pg_sleep(hold)``, while
    sampling the server side (``pg_stat_activity`` on the primary, ``SHOW POOLS``); then try the same number of
    connections straight to the primary, whose ``max_connections`` refuses the excess.

    Used in: notebook 08.
    """
    import asyncio
    import concurrent.futures

    if not 1 <= clients <= 900:
        raise ConfigError(f"clients must be 1-900, got {clients}", hint="PgBouncer accepts up to 1000 here")
    return concurrent.futures.ThreadPoolExecutor(1).submit(asyncio.run, _pooling(db, clients, hold)).result()


async def _pooling(db: Any, clients: int, hold: float) -> PoolingRun:
    import asyncio

    import psycopg

    from .sandbox._postgres import APP_USER, MAX_CONNECTIONS

    pool_size = int(db.pool_size)
    server_sql = (
        f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{APP_USER}' AND backend_type = 'client backend'"
    )
    peaks = {"server": 0, "waiting": 0}
    done = asyncio.Event()

    async def sample() -> None:
        async with (
            await psycopg.AsyncConnection.connect(db.dsn(user="postgres"), autocommit=True) as pgc,
            await psycopg.AsyncConnection.connect(
                db.dsn(pooler=True, user="postgres", dbname="pgbouncer"), autocommit=True, prepare_threshold=None
            ) as admin,
        ):
            while not done.is_set():
                row = await (await pgc.execute(server_sql)).fetchone()
                peaks["server"] = max(peaks["server"], int(row[0]) if row else 0)
                cur = await admin.execute("SHOW POOLS")
                cols = [c.name for c in cur.description or ()]
                for r in await cur.fetchall():
                    rec = dict(zip(cols, r, strict=False))
                    if rec.get("database") == "app":
                        peaks["waiting"] = max(peaks["waiting"], int(rec["cl_waiting"]))
                await asyncio.sleep(0.02)

    async def one(pooler: bool) -> psycopg.AsyncConnection[Any] | str:
        try:
            kw: dict[str, Any] = {"autocommit": True}
            if pooler:
                kw["prepare_threshold"] = None
            return await psycopg.AsyncConnection.connect(db.dsn(pooler=pooler), **kw)
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0]

    async def query(conn: psycopg.AsyncConnection[Any]) -> bool:
        try:
            await conn.execute("SELECT pg_sleep(%s)", (hold,))
            return True
        except psycopg.Error:
            return False

    sampler = asyncio.create_task(sample())
    start = time.monotonic()
    conns = await asyncio.gather(*(one(True) for _ in range(clients)))
    good = [c for c in conns if not isinstance(c, str)]
    answered = sum(await asyncio.gather(*(query(c) for c in good)))
    pooled_seconds = time.monotonic() - start
    done.set()
    await sampler
    for c in good:
        await c.close()
    direct = await asyncio.gather(*(one(False) for _ in range(clients)))
    direct_good = [c for c in direct if not isinstance(c, str)]
    errors = [c for c in direct if isinstance(c, str)]
    for c in direct_good:
        await c.close()
    return PoolingRun(
        clients=clients,
        pool_size=pool_size,
        pooled_ok=answered,
        pooled_errors=clients - answered,
        peak_server_connections=peaks["server"],
        peak_waiting_clients=peaks["waiting"],
        pooled_seconds=pooled_seconds,
        direct_ok=len(direct_good),
        direct_errors=len(errors),
        direct_error=errors[0] if errors else "",
        max_connections=MAX_CONNECTIONS,
    )


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


#: Prices after the good change of the "Your turn" (before the bad UPDATE set them all to 0).
GOOD_PRICES: dict[str, float] = {"apple": 1.1, "bread": 2.2, "cheese": 5.5}


def bad_update(db: Any) -> dict[str, int]:
    """Part 8's "Your turn" on the real database: a ``prices`` table, one good change (+10 %), then a bad
    ``UPDATE`` without ``WHERE`` that sets every price to 0; WAL is archived. Returns the transaction id of each
    step, to be found in :meth:`LocalPostgres.wal_commits`.

    Used in: notebook 08.
    """
    steps = {
        "created": "CREATE TABLE prices (sku text PRIMARY KEY, usd numeric(6, 2)); "
        "INSERT INTO prices VALUES ('apple', 1), ('bread', 2), ('cheese', 5)",
        "good change": "UPDATE prices SET usd = usd * 1.1",
        "bad update": "UPDATE prices SET usd = 0",
    }
    xids = {}
    with db.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS prices")
        for step, sql in steps.items():
            with conn.transaction():
                for statement in sql.split("; "):
                    conn.execute(statement)
                row = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
                xids[step] = int(row[0]) if row else 0
            time.sleep(0.05)  # commits a few milliseconds apart, so a target can fall between them
    db.switch_wal()
    return xids


@exercise("08-real-recovery")
def _check_real_recovery(answer: Any) -> CheckResult:
    """Part 8: a ``recovery_target_time`` that brings the sandbox database's ``prices`` back as they were after
    the good change and before the bad ``UPDATE``. The check really restores a new instance to it."""
    from .sandbox import _postgres

    name = "08-real-recovery"
    try:
        t = _utc(answer if not hasattr(answer, "to_pydatetime") else answer.to_pydatetime(), what="target")
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    db = _postgres.current()
    if db is None or not db.backups():
        return CheckResult(
            name, False, "the sandbox database is not running", "run the notebook's cells from the top first"
        )
    restored = f"yourturn-{len(db.instances())}"
    try:
        db.restore(restored, target_time=t, timeout=60)
        rows = db.query("SELECT sku, usd::float AS usd FROM prices ORDER BY sku", on=restored)
    except (SandboxError, ConfigError) as exc:
        if "recovery ended before configured recovery target was reached" in exc.message:
            return CheckResult(
                name, False, "PostgreSQL says: recovery ended before configured recovery target was reached — no "
                "commit after that target is in the archive, so the replay cannot know it has passed it",
                "pick an earlier target (the moment of a commit before the bad UPDATE)",
            )  # fmt: skip
        return CheckResult(name, False, f"that target cannot be restored: {exc.message.splitlines()[0]}", exc.hint)
    except Exception as exc:  # noqa: BLE001 - the restored instance has no prices table at that target
        return CheckResult(name, False, f"at that moment there was no prices table yet ({type(exc).__name__})",
                           "pick a commit after the table was created")  # fmt: skip
    got = dict(zip(rows.sku, rows.usd, strict=True))
    if got == GOOD_PRICES:
        return CheckResult(name, True, f"{restored} has the prices after the good change: {got}")
    if all(v == 0 for v in got.values()):
        return CheckResult(name, False, f"{restored} already has the bad UPDATE: {got}", "pick an earlier target")
    return CheckResult(name, False, f"{restored} has the prices before the good change: {got}", "pick a later target")


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
    "FailoverRun",
    "PoolingRun",
    "GOOD_PRICES",
    "backup_catalog",
    "bad_update",
    "failover_drill",
    "pooling_drill",
    "CnpgInstall",
    "FailoverResult",
    "Recoverability",
    "app_deployment",
    "check_recovery_target",
    "cluster_services",
    "connection_string",
    "example_catalog",
    "install_commands",
    "managed_vs_operator",
    "setup_costs",
    "sandbox_crds",
    "sandbox_prerequisites",
    "simulate_failover",
]
