"""The sandbox PostgreSQL's constants, programs, state file and command runner (see :mod:`course_lib.sandbox._postgres`)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import config
from ...errors import SandboxError, ToolMissingError
from .. import _process as proc

if TYPE_CHECKING:  # pragma: no cover
    pass

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
    from .._process import MARKER_ENV

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
