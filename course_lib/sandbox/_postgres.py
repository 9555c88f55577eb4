"""The sandbox's PostgreSQL service: a primary, two streaming replicas, a WAL archive, a base backup and PgBouncer
in transaction mode — real PostgreSQL 15 and PgBouncer from Debian packages, as child processes on 127.0.0.1.

What CloudNativePG automates for a ``Cluster`` with ``instances: 3`` is PostgreSQL doing its job: ``initdb`` for the
primary, ``pg_basebackup`` to clone each replica, ``primary_conninfo`` to stream from the primary,
``synchronous_standby_names`` for ``postgresql.synchronous``, ``archive_command`` for WAL archiving (on a cluster
the Barman Cloud plugin's ``barman-cloud-wal-archive`` into an ``ObjectStore``; here ``cp`` into a directory),
``pg_promote()`` for failover and ``restore_command`` + ``recovery_target_time`` for ``bootstrap.recovery``.
This module runs those steps; :mod:`course_lib.postgres` (Part 8) builds the drills on top of them.

Everything lives under ``<state dir>/sandbox-postgres`` (data directories, archive, backups, logs, unix sockets);
every server listens on 127.0.0.1 only, on free ports; authentication is ``trust`` on loopback (a cluster uses
the Secrets CNPG generates). The processes are recorded in a state file with pid and start time, carry the
sandbox's environment marker, and are stopped by ``course sandbox down`` like the rest of the sandbox — also
after a killed kernel. The system's own PostgreSQL cluster and its systemd units are never touched.

PostgreSQL and PgBouncer refuse to run as root. As root (a container), each server is started inside a user
namespace (``unshare --user --map-user=<postgres uid>``): inside, it runs as the unprivileged ``postgres`` user;
outside, its files stay owned by root under the state folder, and ``down()`` stops it like any other child.

Example:
    >>> from course_lib.sandbox import _postgres
    >>> db = _postgres.up()                                    # doctest: +SKIP
    >>> db.query("SELECT pg_is_in_recovery()", on="production-db-2")   # doctest: +SKIP

Used in: notebook 08 (through ``session.postgres()``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import ConfigError, SandboxError, ToolMissingError
from . import _process as proc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import psycopg

STATE_VERSION = 1
#: Where Debian's postgresql-15 package puts the server programs (not on PATH).
PG_BIN = Path(os.environ.get("COURSE_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: The CNPG ``Cluster`` the service stands in for (notebook 08's ``db_name``).
CLUSTER = "production-db"
#: The application database and owner CNPG's ``bootstrap.initdb`` creates (``app``/``app``).
APP_DB = APP_USER = "app"
SUPERUSER = "postgres"
#: ``max_connections`` of every instance (CNPG's default is PostgreSQL's 100; the course's Cluster sets 200).
MAX_CONNECTIONS = 200
#: PgBouncer's ``default_pool_size`` (CNPG's Pooler default is PgBouncer's 20).
POOL_SIZE = 20
MAX_CLIENT_CONN = 1000
#: Seconds PgBouncer waits before retrying a server whose login failed (its default is 15).
SERVER_LOGIN_RETRY = 1
#: Unix socket paths are limited to 107 bytes; beyond that only TCP on 127.0.0.1 is used.
_MAX_SOCKET_DIR = 90
_ROOTLESS_USER = "postgres"


def missing_programs() -> list[str]:
    """Programs the service needs that are not installed (empty when all are there)."""
    missing = [p for p in ("initdb", "postgres", "pg_basebackup", "pg_waldump") if not (PG_BIN / p).exists()]
    if shutil.which("pgbouncer") is None:
        missing.append("pgbouncer")
    if os.geteuid() == 0 and shutil.which("unshare") is None:
        missing.append("unshare")
    return missing


def available() -> bool:
    """True when PostgreSQL 15 and PgBouncer are installed (Debian packages ``postgresql-15``, ``pgbouncer``)."""
    return not missing_programs()


def _require() -> None:
    missing = missing_programs()
    if missing:
        raise ToolMissingError(
            f"the sandbox PostgreSQL needs {', '.join(missing)}",
            hint="run `make setup` or `sudo apt-get install -y postgresql-15 pgbouncer` (Debian packages)",
            program=missing[0],
        )


def _as_server(argv: list[str]) -> list[str]:
    """``argv`` as PostgreSQL/PgBouncer accept it: unchanged, or inside a user namespace when we are root."""
    if os.geteuid() != 0:
        return argv
    try:
        entry = pwd.getpwnam(_ROOTLESS_USER)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        uid = gid = 65534  # nobody
    return ["unshare", "--user", f"--map-user={uid}", f"--map-group={gid}", *argv]


def _root() -> Path:
    return config.state_dir() / "sandbox-postgres"


def state_path() -> Path:
    """The state file recording the service's processes."""
    return _root() / "state.json"


def _state() -> proc.StateFile:
    return proc.StateFile(state_path(), lock=_root() / "lock", version=STATE_VERSION)


def _locked() -> contextlib.AbstractContextManager[None]:
    return _state().locked()


def _read_state() -> dict[str, Any] | None:
    return _state().read()


def _write_state(data: Mapping[str, Any]) -> None:
    _state().write(data)


def _env() -> dict[str, str]:
    from ._process import MARKER_ENV

    # TZ=UTC so that server logs and now() read like the notebook's timestamps.
    return {**os.environ, MARKER_ENV: str(state_path()), "TZ": "UTC", "LC_ALL": "C.UTF-8"}


def _run(argv: list[str], *, what: str, timeout: float = 60) -> str:
    try:
        done = subprocess.run(
            _as_server(argv), capture_output=True, text=True, timeout=timeout, env=_env(), stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(
            f"{what} did not finish within {timeout:.0f} s", hint="`course sandbox down`, then retry"
        ) from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise SandboxError(f"{what} failed (exit {done.returncode}):\n{tail}", hint="read the lines above")
    return done.stdout


# --- configuration --------------------------------------------------------------------------------------------


def instance_conf(
    *,
    port: int,
    socket_dir: str,
    archive: Path | None,
    sync_names: Sequence[str] = (),
    primary_port: int | None = None,
    application_name: str = "",
) -> str:
    """The ``course.conf`` an instance includes from ``postgresql.conf``: each line is what a CNPG field sets.

    Example:
        >>> "wal_level = 'replica'" in instance_conf(port=5432, socket_dir="", archive=None)
        True
    """
    lines = [
        "# written by course_lib.sandbox._postgres: loopback only",
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{socket_dir}'",
        f"max_connections = {MAX_CONNECTIONS}",
        "wal_level = 'replica'",  # CNPG: always (replicas and archiving need it)
        "max_wal_senders = 10",
        "wal_keep_size = '256MB'",
        "hot_standby = on",  # replicas answer reads (the -ro Service)
        "wal_log_hints = on",  # lets a failed primary be rewound and rejoin (CNPG sets it too)
        "logging_collector = off",
        "log_line_prefix = '%m [%p] '",
        "log_timezone = 'UTC'",
        "timezone = 'UTC'",
        f"cluster_name = '{application_name}'",
    ]
    if archive is not None:  # CNPG: spec.backup / the Barman Cloud plugin's ObjectStore
        lines += [
            "archive_mode = on",
            f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'",
            "archive_timeout = '60s'",
        ]
    else:
        lines.append("archive_mode = off")
    if sync_names:  # CNPG: spec.postgresql.synchronous {method: any, number: 1}
        quoted = ", ".join(f'"{n}"' for n in sync_names)
        lines.append(f"synchronous_standby_names = 'ANY 1 ({quoted})'")
    if primary_port is not None:  # a replica: CNPG writes this for every replica it clones
        lines.append(
            f"primary_conninfo = 'host=127.0.0.1 port={primary_port} user={SUPERUSER} "
            f"application_name={application_name}'"
        )
    return "\n".join(lines) + "\n"


def pgbouncer_ini(*, port: int, primary_port: int, socket_dir: str, userlist: Path, pool_size: int = POOL_SIZE) -> str:
    """PgBouncer's configuration: what CNPG's ``Pooler`` (``pgbouncer.poolMode``, ``parameters``) generates.

    Example:
        >>> "pool_mode = transaction" in pgbouncer_ini(port=6432, primary_port=5432, socket_dir="", userlist=Path("u"))
        True
    """
    return "\n".join(
        [
            "[databases]",
            f"* = host=127.0.0.1 port={primary_port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            f"unix_socket_dir = {socket_dir}",
            "auth_type = trust",
            f"auth_file = {userlist}",
            f"admin_users = {SUPERUSER}",
            f"stats_users = {APP_USER}",
            "pool_mode = transaction",
            f"default_pool_size = {pool_size}",
            f"max_client_conn = {MAX_CLIENT_CONN}",
            "ignore_startup_parameters = extra_float_digits,options",
            # PgBouncer waits server_login_retry (default 15 s) after a failed server login before it tries again:
            # after a failover that wait is most of the outage. CNPG: spec.pgbouncer.parameters.
            f"server_login_retry = {SERVER_LOGIN_RETRY}",
            "server_connect_timeout = 2",
            "",
        ]
    )


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


_COMMIT_RE = re.compile(
    r"tx:\s+(\d+), lsn: ([0-9A-F]+/[0-9A-F]+),.*desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC"
)


def parse_waldump_commits(text: str) -> list[tuple[int, str, str]]:
    """(xid, LSN, commit time) of each ``COMMIT`` record in ``pg_waldump`` output.

    Example:
        >>> parse_waldump_commits("rmgr: Transaction len (rec/tot): 34/ 34, tx: 735, lsn: 0/03000120, "
        ...                       "prev 0/030000E8, desc: COMMIT 2026-12-02 03:32:14.562597 UTC")
        [(735, '0/03000120', '2026-12-02 03:32:14.562597')]
    """
    return [(int(m[1]), m[2], m[3]) for m in _COMMIT_RE.finditer(text)]


REPLICATION_SQL = """\
SELECT application_name, state, sync_state,
       pg_wal_lsn_diff(sent_lsn, replay_lsn) AS replay_lag_bytes
FROM pg_stat_replication ORDER BY application_name"""


# --- lifecycle ------------------------------------------------------------------------------------------------


def _ports(state: Mapping[str, Any]) -> set[int]:
    return {int(e["port"]) for e in state.get("instances", [])} | {int(state["pgbouncer"]["port"])}


def _spawn_instance(name: str, role: str, datadir: Path, port: int, workdir: Path) -> dict[str, Any]:
    argv = _as_server([str(PG_BIN / "postgres"), "-D", str(datadir)])
    sp = proc.spawn(name, argv, log=workdir / "logs" / f"{name}.log", cwd=workdir, env=_env())
    return {
        "name": name,
        "role": role,
        "port": port,
        "datadir": str(datadir),
        "pid": sp.pid,
        "start_time": sp.start_time,
        "log": str(sp.log),
    }


def _wait_ready(entry: Mapping[str, Any], *, deadline: float, timeout: float) -> None:
    import psycopg

    while True:
        if not proc.is_running(entry["pid"]):
            raise SandboxError(
                f"{entry['name']} exited during start-up. Its log:\n{proc.tail(Path(entry['log']))}",
                hint="read the log lines above; `course sandbox down` cleans up",
            )
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={entry['port']} dbname=postgres user={SUPERUSER} connect_timeout=2"
            ):
                return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise SandboxError(
                f"{entry['name']} was not ready within {timeout:.0f} s. Its log:\n{proc.tail(Path(entry['log']))}",
                hint="`course sandbox down`, then try again",
                timeout=timeout,
            )
        time.sleep(0.05)


def _base_backup(state: Mapping[str, Any], primary_port: int) -> dict[str, Any]:
    backups = Path(state["workdir"]) / "backups"
    backups.mkdir(exist_ok=True)
    name = f"backup-{len(state.get('backups', [])) + 1}"
    target = backups / name
    started = datetime.now(UTC)
    _run(
        [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", SUPERUSER,
         "-D", str(target), "-X", "none", "--checkpoint=fast", "-l", name],
        what="pg_basebackup (base backup)",
    )  # fmt: skip
    completed = datetime.now(UTC)
    # The backup ends when its WAL is archived; pg_basebackup waits for that (archive_mode = on).
    return {"name": name, "directory": str(target), "started": started.isoformat(), "completed": completed.isoformat()}


def _start(*, timeout: float, pool_size: int) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    root = _root()
    workdir = root / f"run-{config.new_run_id()}"
    (workdir / "logs").mkdir(parents=True)
    archive = workdir / "archive"
    archive.mkdir()
    sock = workdir / "sock"
    sock.mkdir()
    socket_dir = str(sock) if len(str(sock)) <= _MAX_SOCKET_DIR else ""
    taken: set[int] = set()
    names = [f"{CLUSTER}-{i}" for i in (1, 2, 3)]
    ports = {}
    for n in [*names, "pgbouncer"]:
        ports[n] = proc.free_port(exclude=taken)
        taken.add(ports[n])
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "cluster": CLUSTER,
        "workdir": str(workdir),
        "archive": str(archive),
        "socket_dir": socket_dir,
        "started_at": time.time(),
        "instances": [],
        "backups": [],
        "pgbouncer": {"port": ports["pgbouncer"], "pid": 0, "start_time": None, "pool_size": pool_size},
    }
    _write_state(state)  # from here on, down() finds whatever starts
    primary_dir = workdir / names[0]
    _run(
        [str(PG_BIN / "initdb"), "-D", str(primary_dir), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
         "--locale=C.UTF-8", "--no-sync"],
        what="initdb",
    )  # fmt: skip
    with open(primary_dir / "postgresql.conf", "a") as f:
        f.write("\ninclude_if_exists = 'course.conf'\n")
    (primary_dir / "course.conf").write_text(
        instance_conf(
            port=ports[names[0]], socket_dir=socket_dir, archive=archive, sync_names=names[1:],
            application_name=names[0],
        )
    )  # fmt: skip
    entry = _spawn_instance(names[0], "primary", primary_dir, ports[names[0]], workdir)
    state["instances"].append(entry)
    _write_state(state)
    _wait_ready(entry, deadline=deadline, timeout=timeout)
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={entry['port']} dbname=postgres user={SUPERUSER}") as conn:
        conn.autocommit = True
        # CNPG's bootstrap.initdb: an owner and a database for the application. With synchronous_standby_names
        # set and no replica yet a commit would wait, so this runs with synchronous_commit = local.
        conn.execute("SET synchronous_commit = local")
        conn.execute(f"CREATE ROLE {APP_USER} LOGIN")
        conn.execute(f"CREATE DATABASE {APP_DB} OWNER {APP_USER}")
        conn.execute("CHECKPOINT")
    for n in names[1:]:
        datadir = workdir / n
        _run(
            [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(ports[names[0]]), "-U", SUPERUSER,
             "-D", str(datadir), "-X", "stream", "--checkpoint=fast", "--no-sync"],
            what=f"pg_basebackup (clone {n})",
        )  # fmt: skip
        (datadir / "course.conf").write_text(
            instance_conf(
                port=ports[n], socket_dir=socket_dir, archive=archive, sync_names=names[1:],
                primary_port=ports[names[0]], application_name=n,
            )
        )  # fmt: skip
        (datadir / "standby.signal").write_text("")
        state["instances"].append(_spawn_instance(n, "replica", datadir, ports[n], workdir))
        _write_state(state)
    for e in state["instances"][1:]:
        _wait_ready(e, deadline=deadline, timeout=timeout)
    userlist = workdir / "userlist.txt"
    userlist.write_text(f'"{SUPERUSER}" ""\n"{APP_USER}" ""\n')
    ini = workdir / "pgbouncer.ini"
    ini.write_text(
        pgbouncer_ini(
            port=ports["pgbouncer"], primary_port=ports[names[0]], socket_dir=socket_dir, userlist=userlist,
            pool_size=pool_size,
        )
    )  # fmt: skip
    sp = proc.spawn(
        "pgbouncer",
        _as_server([shutil.which("pgbouncer") or "pgbouncer", str(ini)]),
        log=workdir / "logs" / "pgbouncer.log",
        cwd=workdir,
        env=_env(),
    )
    state["pgbouncer"].update(
        {"pid": sp.pid, "start_time": sp.start_time, "ini": str(ini), "userlist": str(userlist), "log": str(sp.log)}
    )
    _write_state(state)
    state["backups"].append(_base_backup(state, ports[names[0]]))
    _wait_pooler(state, deadline=deadline, timeout=timeout)
    _write_state(state)
    proc.committed([e["pid"] for e in state["instances"]] + [sp.pid])
    return state


def _wait_pooler(state: Mapping[str, Any], *, deadline: float, timeout: float) -> None:
    import psycopg

    pb = state["pgbouncer"]
    while True:
        if not proc.is_running(pb["pid"]):
            raise SandboxError(
                f"pgbouncer exited during start-up. Its log:\n{proc.tail(Path(pb['log']))}",
                hint="read the log lines above",
            )
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={pb['port']} dbname={APP_DB} user={APP_USER} connect_timeout=2",
                prepare_threshold=None,
            ) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise SandboxError(f"pgbouncer was not ready within {timeout:.0f} s", hint="`course sandbox down`")
        time.sleep(0.05)


def _alive(state: Mapping[str, Any]) -> bool:
    pb = state["pgbouncer"]
    live = [e for e in state["instances"] if e["role"] in ("primary", "replica")]
    return (
        len(live) == 3
        and all(proc.is_running(e["pid"], e["start_time"]) for e in live)
        and bool(pb.get("pid"))
        and proc.is_running(pb["pid"], pb.get("start_time"))
    )


def up(*, fresh: bool = False, timeout: float = 60, pool_size: int = POOL_SIZE) -> LocalPostgres:
    """Start the service (primary + 2 replicas + base backup + PgBouncer), or reuse the one that runs intact.

    Args:
        fresh: stop a running service and start a new, empty one (a notebook that changes the topology starts so).
        timeout: one deadline in seconds for the whole start.
        pool_size: PgBouncer's ``default_pool_size``.

    Raises:
        ToolMissingError: PostgreSQL 15 or PgBouncer is not installed (names the Debian packages).
        SandboxError: a server did not start (with its last log lines); nothing is left running.

    Used in: ``session.postgres()`` (notebook 08).
    """
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive, got {timeout}", hint="e.g. timeout=60")
    if not 1 <= pool_size <= MAX_CONNECTIONS // 2:
        raise ConfigError(f"pool_size must be 1-{MAX_CONNECTIONS // 2}, got {pool_size}", hint="e.g. 20")
    _require()
    with _locked():
        state = _read_state()
        if state is not None and not fresh and _alive(state) and int(state["pgbouncer"]["pool_size"]) == pool_size:
            return LocalPostgres(state, reused=True)
        _stop_recorded(state)
        try:
            state = _start(timeout=timeout, pool_size=pool_size)
        except BaseException:
            _stop_recorded(_read_state())
            raise
        return LocalPostgres(state, reused=False)


def _stop_server(pid: int, start_time: int | None, *, timeout: float) -> bool:
    """PostgreSQL's fast shutdown (SIGINT: disconnect clients, checkpoint), then the sandbox's TERM → KILL."""
    if not proc.is_running(pid, start_time):
        return proc.stop(pid, start_time, timeout=0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)
    proc.wait_until(lambda: not proc.is_running(pid), deadline=time.monotonic() + timeout)
    proc.stop(pid, start_time, timeout=2.0)
    return True


def _stop_recorded(state: Mapping[str, Any] | None, *, timeout: float = 10.0) -> tuple[str, ...]:
    stopped: list[str] = []
    if state:
        pb = state.get("pgbouncer", {})
        if pb.get("pid") and proc.stop(int(pb["pid"]), pb.get("start_time"), timeout=timeout):
            stopped.append("pgbouncer")
        # replicas before the primary, so the primary's fast shutdown has no walsender to wait for
        for e in sorted(state.get("instances", []), key=lambda e: e["role"] == "primary"):
            if _stop_server(int(e["pid"]), e.get("start_time"), timeout=timeout):
                stopped.append(e["name"])
    from ._process import marked_pids

    # leftovers: backends of a postmaster that was killed, children of a start-up whose owner died
    for pid in marked_pids(str(state_path())):
        if proc.stop(pid, None, timeout=2.0):
            stopped.append(f"pid {pid}")
    for leftover in _root().glob("run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        state_path().unlink()
    return tuple(stopped)


def down(*, timeout: float = 10.0) -> tuple[str, ...]:
    """Stop every server of the service (PgBouncer, replicas, primary) and delete its data. Safe when none runs.

    Used by :func:`course_lib.sandbox.down` (``course sandbox down``).
    """
    if not _root().exists():
        return ()
    with _locked():
        return _stop_recorded(_read_state(), timeout=timeout)


def status() -> dict[str, Any]:
    """What is recorded: each instance's role and whether it runs, PgBouncer's port (changes nothing).

    ``healthy`` means the primary and PgBouncer run. Used by ``course sandbox status``.
    """
    state = _read_state()
    if state is None:
        return {"recorded": False, "healthy": False, "available": available()}
    instances = [
        {"name": e["name"], "role": e["role"], "port": e["port"], "running": proc.is_running(e["pid"], e["start_time"])}
        for e in state["instances"]
    ]
    pb = state["pgbouncer"]
    pooler = bool(pb.get("pid")) and proc.is_running(pb["pid"], pb.get("start_time"))
    primary = any(i["running"] for i in instances if i["role"] == "primary")
    return {"recorded": True, "healthy": primary and pooler, "instances": instances, "pgbouncer_port": pb["port"]}


def current() -> LocalPostgres | None:
    """The recorded service, if any (changes nothing)."""
    state = _read_state()
    return LocalPostgres(state, reused=True) if state else None


__all__ = [
    "APP_DB",
    "APP_USER",
    "Backup",
    "CLUSTER",
    "Instance",
    "LocalPostgres",
    "POOL_SIZE",
    "available",
    "current",
    "down",
    "instance_conf",
    "missing_programs",
    "parse_waldump_commits",
    "pgbouncer_ini",
    "status",
    "up",
]
