"""Part 8's failover and pooling: :func:`simulate_failover` (what CloudNativePG does when the primary is lost, on
paper) and, on the sandbox's real PostgreSQL, :func:`failover_drill` and :func:`pooling_drill`. See
:mod:`course_lib.postgres`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, SandboxError


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


# --- the sandbox's real PostgreSQL: failover, PITR and pooling drills --------------------------------------------


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

    from ..sandbox._postgres import APP_USER, MAX_CONNECTIONS

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
