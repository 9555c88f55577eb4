"""The sandbox PostgreSQL's server processes: spawn an instance, wait for it, take a base backup, stop them all (see :mod:`course_lib.sandbox._postgres`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import SandboxError
from .. import _process as proc
from ._base import (
    PG_BIN,
    SUPERUSER,
    _as_server,
    _env,
    _locked,
    _read_state,
    _root,
    _run,
    state_path,
)

if TYPE_CHECKING:  # pragma: no cover
    pass

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
    from .._process import marked_pids

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
