"""The configuration files the sandbox PostgreSQL writes (``postgresql.conf`` per instance, ``pgbouncer.ini``), and reading ``pg_waldump`` (see :mod:`course_lib.sandbox._postgres`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._base import (
    APP_USER,
    MAX_CLIENT_CONN,
    MAX_CONNECTIONS,
    POOL_SIZE,
    SERVER_LOGIN_RETRY,
    SUPERUSER,
)

if TYPE_CHECKING:  # pragma: no cover
    pass

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
