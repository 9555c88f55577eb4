"""Starting, checking and stopping the sandbox PostgreSQL's processes (see :mod:`course_lib.sandbox._postgres`)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import config
from ...errors import ConfigError, SandboxError
from .. import _process as proc
from ._base import (
    _MAX_SOCKET_DIR,
    APP_DB,
    APP_USER,
    CLUSTER,
    MAX_CONNECTIONS,
    PG_BIN,
    POOL_SIZE,
    STATE_VERSION,
    SUPERUSER,
    _as_server,
    _env,
    _locked,
    _read_state,
    _require,
    _root,
    _run,
    _write_state,
    available,
)
from ._conf import (
    instance_conf,
    pgbouncer_ini,
)
from ._handle import (
    LocalPostgres,
)
from ._procs import (
    _base_backup,
    _spawn_instance,
    _stop_recorded,
    _wait_ready,
)

if TYPE_CHECKING:  # pragma: no cover
    pass

# --- lifecycle ------------------------------------------------------------------------------------------------


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
