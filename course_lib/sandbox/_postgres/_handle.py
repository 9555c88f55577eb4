"""The handle on the running sandbox PostgreSQL: :class:`LocalPostgres` (query, promote, back up, recover) and its records (see :mod:`course_lib.sandbox._postgres`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, SandboxError
from .. import _process as proc
from ._base import (
    APP_DB,
    APP_USER,
    PG_BIN,
    POOL_SIZE,
    SUPERUSER,
    _env,
    _locked,
    _read_state,
    _write_state,
)
from ._conf import (
    REPLICATION_SQL,
    instance_conf,
    parse_waldump_commits,
    pgbouncer_ini,
)
from ._procs import (
    _base_backup,
    _ports,
    _spawn_instance,
    _wait_ready,
    down,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import psycopg

# --- the handle -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One PostgreSQL server of the service."""

    name: str
    role: str  # "primary" | "replica" | "failed" | "restored"
    port: int
    datadir: str
    running: bool


@dataclass(frozen=True)
class Backup:
    """A base backup taken with ``pg_basebackup`` (CNPG: a ``Backup``/``ScheduledBackup``)."""

    name: str
    directory: str
    started: datetime
    completed: datetime


class LocalPostgres:
    """The running service. Get it from :func:`up` (or ``session.postgres()``).

    Attributes:
        cluster: the CNPG Cluster name it stands in for; instances are ``<cluster>-1`` …
        pooler_port: PgBouncer's port (the Pooler's Service).
        pool_size: PgBouncer's ``default_pool_size`` (server connections per database and user).
        archive: the WAL archive directory (the ObjectStore's ``destinationPath``).
        reused: true when :func:`up` found it running.
    """

    def __init__(self, state: Mapping[str, Any], *, reused: bool) -> None:
        self._state = dict(state)
        self.cluster: str = state["cluster"]
        self.workdir = Path(state["workdir"])
        self.archive = Path(state["archive"])
        self.pooler_port: int = int(state["pgbouncer"]["port"])
        self.pool_size: int = int(state["pgbouncer"].get("pool_size", POOL_SIZE))
        self.reused = reused

    # ---------------------------------------------------------------- reading
    def _refresh(self) -> dict[str, Any]:
        state = _read_state()
        if state is None or state.get("workdir") != str(self.workdir):
            raise SandboxError(
                "the sandbox PostgreSQL this handle points at is no longer running",
                hint="call session.postgres() again (it starts a new one)",
            )
        self._state = state
        return state

    def instances(self) -> list[Instance]:
        """Every instance with its current role and whether its process runs."""
        return [
            Instance(e["name"], e["role"], int(e["port"]), e["datadir"], proc.is_running(e["pid"], e["start_time"]))
            for e in self._refresh()["instances"]
        ]

    def _entry(self, name: str) -> dict[str, Any]:
        for e in self._refresh()["instances"]:
            if e["name"] == name:
                return dict(e)
        names = [e["name"] for e in self._state["instances"]]
        raise ConfigError(f"no instance {name!r}", hint=f"one of {names}")

    @property
    def primary(self) -> str:
        """Name of the current primary (what CNPG's ``-rw`` Service selects)."""
        return next(e["name"] for e in self._refresh()["instances"] if e["role"] == "primary")

    @property
    def replicas(self) -> list[str]:
        """Names of the running replicas (what the ``-ro`` Service selects)."""
        return [e["name"] for e in self._refresh()["instances"] if e["role"] == "replica"]

    def port(self, name: str | None = None) -> int:
        """The port of instance ``name`` (default: the primary)."""
        return int(self._entry(name or self.primary)["port"])

    def dsn(self, name: str | None = None, *, pooler: bool = False, user: str = APP_USER, dbname: str = APP_DB) -> str:
        """A libpq connection string for an instance (default: the primary) or, with ``pooler=True``, PgBouncer."""
        port = self.pooler_port if pooler else self.port(name)
        return f"host=127.0.0.1 port={port} dbname={dbname} user={user} connect_timeout=5"

    def psql(self, name: str | None = None, *, pooler: bool = False, user: str = APP_USER, dbname: str = APP_DB) -> str:
        """The ``psql`` command line a learner types to reach the same server."""
        port = self.pooler_port if pooler else self.port(name)
        return f"psql -h 127.0.0.1 -p {port} -U {user} {dbname}"

    def connect(self, name: str | None = None, *, pooler: bool = False, **kwargs: Any) -> psycopg.Connection[Any]:
        """A ``psycopg`` connection in autocommit mode. Through PgBouncer (transaction mode) server-side prepared
        statements are switched off (``prepare_threshold=None``), as PgBouncer 1.18 requires."""
        import psycopg

        kw: dict[str, Any] = {"autocommit": True, **kwargs}
        if pooler:
            kw.setdefault("prepare_threshold", None)
        user = kw.pop("user", APP_USER)
        dbname = kw.pop("dbname", APP_DB)
        return psycopg.connect(self.dsn(name, pooler=pooler, user=user, dbname=dbname), **kw)

    def query(
        self, sql: str, params: Sequence[Any] | None = None, *, on: str | None = None, pooler: bool = False, **kw: Any
    ) -> pd.DataFrame:
        """Run one SQL statement on an instance (default: the primary) and return its rows as a DataFrame."""
        import pandas as pd

        with self.connect(on, pooler=pooler, **kw) as conn, conn.cursor() as cur:
            cur.execute(sql, params)  # type: ignore[arg-type]
            if cur.description is None:
                return pd.DataFrame({"status": [cur.statusmessage]})
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])

    def topology(self) -> pd.DataFrame:
        """Each instance's role and whether it runs (what ``kubectl cnpg status`` lists)."""
        import pandas as pd

        return pd.DataFrame(
            [(i.name, i.role, i.running) for i in self.instances()], columns=["instance", "role", "running"]
        )

    def wait_replicas(self, *, timeout: float = 10.0) -> pd.DataFrame:
        """Wait until every streaming replica has replayed the primary's current WAL position; returns
        :meth:`replication` (lag 0 then). Synchronous commit waits for one replica's flush, not for both to replay."""
        with self.connect(user=SUPERUSER) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
            assert row is not None
            sql = "SELECT count(*) FILTER (WHERE replay_lsn >= %s), count(*) FROM pg_stat_replication"
            deadline = time.monotonic() + timeout
            while True:
                got = conn.execute(sql, (row[0],)).fetchone()
                if got is not None and got[1] and got[0] == got[1]:
                    break
                if time.monotonic() > deadline:
                    raise SandboxError(f"replicas did not catch up within {timeout:.0f} s", hint="see .replication()")
                time.sleep(0.02)
        return self.replication()

    def replication(self) -> pd.DataFrame:
        """``pg_stat_replication`` on the primary: each replica's state, sync state and lag in bytes."""
        return self.query(REPLICATION_SQL, user=SUPERUSER)

    def pools(self) -> pd.DataFrame:
        """PgBouncer's ``SHOW POOLS`` (client and server connections per database and user)."""
        import pandas as pd
        import psycopg

        with psycopg.connect(
            self.dsn(pooler=True, user=SUPERUSER, dbname="pgbouncer"), autocommit=True, prepare_threshold=None
        ) as conn:
            cur = conn.execute("SHOW POOLS")
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description or ()])

    def backups(self) -> list[Backup]:
        """Base backups taken so far, oldest first."""
        return [
            Backup(
                b["name"], b["directory"], datetime.fromisoformat(b["started"]), datetime.fromisoformat(b["completed"])
            )
            for b in self._refresh()["backups"]
        ]

    def archived_wal(self) -> pd.DataFrame:
        """The WAL archive: each file and when it was archived (its modification time, UTC)."""
        import pandas as pd

        rows = [
            (p.name, datetime.fromtimestamp(p.stat().st_mtime, UTC), p.stat().st_size)
            for p in sorted(self.archive.iterdir())
        ]
        return pd.DataFrame(rows, columns=["file", "archived", "bytes"]).sort_values("archived", ignore_index=True)

    # ---------------------------------------------------------------- changing
    def kill(self, name: str | None = None) -> str:
        """Stop an instance hard (SIGKILL to its postmaster, as when its node dies); returns its name."""
        name = name or self.primary
        entry = self._entry(name)
        with contextlib.suppress(ProcessLookupError):
            if proc.is_running(entry["pid"], entry["start_time"]):
                os.kill(int(entry["pid"]), signal.SIGKILL)
        proc.wait_until(lambda: not proc.is_running(entry["pid"]), deadline=time.monotonic() + 5)
        self._set(name, role="failed")
        return name

    def promote(self, name: str) -> None:
        """``SELECT pg_promote()`` on a replica (what CNPG does to the most advanced one) and wait until it writes."""
        with self.connect(name, user=SUPERUSER) as conn:
            conn.execute("SELECT pg_promote(wait => true, wait_seconds => 30)")
        for e in self._refresh()["instances"]:
            if e["role"] == "primary":
                self._set(e["name"], role="failed")
        self._set(name, role="primary")

    def follow(self, name: str, primary: str | None = None) -> None:
        """Point replica ``name`` at ``primary`` (``ALTER SYSTEM SET primary_conninfo`` + reload), as CNPG does
        for the remaining replicas after a failover."""
        target = self._entry(primary or self.primary)
        conninfo = f"host=127.0.0.1 port={target['port']} user={SUPERUSER} application_name={name}"
        with self.connect(name, user=SUPERUSER) as conn:
            conn.execute(f"ALTER SYSTEM SET primary_conninfo = '{conninfo}'")
            conn.execute("SELECT pg_reload_conf()")

    def repoint_pooler(self, name: str | None = None) -> None:
        """Point PgBouncer at ``name`` (default: the primary) and ``RELOAD`` it: the Pooler follows ``-rw``."""
        state = self._refresh()
        pb = state["pgbouncer"]
        Path(pb["ini"]).write_text(
            pgbouncer_ini(
                port=int(pb["port"]),
                primary_port=self.port(name),
                socket_dir=state["socket_dir"],
                userlist=Path(pb["userlist"]),
                pool_size=int(pb.get("pool_size", POOL_SIZE)),
            )
        )
        import psycopg

        with psycopg.connect(
            self.dsn(pooler=True, user=SUPERUSER, dbname="pgbouncer"), autocommit=True, prepare_threshold=None
        ) as conn:
            conn.execute("RELOAD")

    def switch_wal(self) -> str:
        """Close the current WAL segment and wait until the archiver has stored it; returns its file name.

        ``archive_timeout`` does this on a timer; a drill does it at once so the last changes are in the archive.
        """
        with self.connect(user=SUPERUSER) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert row is not None
            wal = str(row[0])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if (self.archive / wal).exists():
                    return wal
                time.sleep(0.05)
        raise SandboxError(f"WAL segment {wal} was not archived within 30 s", hint="check the primary's log")

    def base_backup(self) -> Backup:
        """Take a base backup of the primary with ``pg_basebackup`` (CNPG: a ``Backup``)."""
        with _locked():
            backup = _base_backup(self._refresh(), self.port())
            state = self._refresh()
            state["backups"].append(backup)
            _write_state(state)
        return self.backups()[-1]

    def restore(self, name: str, *, target_time: datetime | str, backup: str | None = None, timeout: float = 60) -> str:
        """A NEW instance from a base backup + archived WAL, stopped at ``target_time`` and promoted (CNPG:
        ``bootstrap.recovery`` with ``recoveryTarget.targetTime``). Returns its name; the others are untouched."""
        target = target_time.isoformat() if isinstance(target_time, datetime) else str(target_time)
        with _locked():
            state = self._refresh()
            if any(e["name"] == name for e in state["instances"]):
                raise ConfigError(f"an instance {name!r} exists already", hint="restore into a new name")
            chosen = [b for b in state["backups"] if backup in (None, b["name"])]
            if not chosen:
                raise ConfigError(f"no base backup {backup!r}", hint="see .backups()")
            source = Path(chosen[-1]["directory"])
            datadir = self.workdir / name
            shutil.copytree(source, datadir)
            os.chmod(datadir, 0o700)
            port = proc.free_port(exclude=_ports(state))
            conf = instance_conf(port=port, socket_dir=state["socket_dir"], archive=None, application_name=name)
            conf += "\n".join(
                [
                    f"restore_command = 'cp {self.archive}/%f %p'",
                    f"recovery_target_time = '{target}'",
                    "recovery_target_action = 'promote'",
                    "recovery_target_timeline = 'latest'",
                    "",
                ]
            )
            (datadir / "course.conf").write_text(conf)
            (datadir / "recovery.signal").write_text("")
            entry = _spawn_instance(name, "restored", datadir, port, self.workdir)
            state["instances"].append(entry)
            _write_state(state)
        deadline = time.monotonic() + timeout
        _wait_ready(entry, deadline=deadline, timeout=timeout)
        while True:
            with contextlib.suppress(Exception), self.connect(name, user=SUPERUSER) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and row[0] is False:
                    return name
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"{name} did not finish recovery within {timeout:.0f} s. Its log:\n{proc.tail(Path(entry['log']))}",
                    hint="a target after the last archived WAL cannot be reached; pick an earlier target_time",
                )
            time.sleep(0.1)

    def wal_commits(self) -> pd.DataFrame:
        """Every transaction commit in the archived WAL, read with ``pg_waldump`` (xid, LSN, commit time, UTC):
        the real timeline a recovery target is picked from. Call :meth:`switch_wal` first for the latest ones."""
        import pandas as pd

        rows: list[tuple[int, str, Any]] = []
        for seg in sorted(p for p in self.archive.iterdir() if len(p.name) == 24):
            done = subprocess.run(
                [str(PG_BIN / "pg_waldump"), "--rmgr=Transaction", str(seg)],
                capture_output=True,
                text=True,
                timeout=60,
                env=_env(),
                stdin=subprocess.DEVNULL,
            )  # fmt: skip  (a segment's end is reported on stderr with exit 1: the records before it count)
            rows.extend(parse_waldump_commits(done.stdout))
        frame = pd.DataFrame(rows, columns=["xid", "lsn", "committed_at"])
        frame["committed_at"] = pd.to_datetime(frame["committed_at"], utc=True)
        return frame.drop_duplicates("xid", keep="last").sort_values("committed_at", ignore_index=True)

    def _set(self, name: str, **changes: Any) -> None:
        with _locked():
            state = self._refresh()
            for e in state["instances"]:
                if e["name"] == name:
                    e.update(changes)
            _write_state(state)

    def log(self, name: str, lines: int = 15) -> str:
        """The last lines of an instance's server log."""
        return proc.tail(Path(self._entry(name)["log"]), lines)

    def down(self) -> tuple[str, ...]:
        """Stop the service (same as :func:`down`)."""
        return down()

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.reused:
            self.down()

    def __repr__(self) -> str:
        return f"LocalPostgres(cluster={self.cluster!r}, pooler_port={self.pooler_port}, reused={self.reused})"
