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

Four modules: ``_base`` (constants, programs, state file, the command runner), ``_conf`` (the files it writes,
reading ``pg_waldump``), ``_handle`` (:class:`LocalPostgres`) and ``_life`` (start, check, stop).

Used in: notebook 08 (through ``session.postgres()``).
"""

from __future__ import annotations

import os  # noqa: F401 - tests patch os.geteuid through this module

from ._base import (  # noqa: F401 - private names re-exported for the sandbox and tests
    APP_DB,
    APP_USER,
    CLUSTER,
    MAX_CONNECTIONS,
    POOL_SIZE,
    SERVER_LOGIN_RETRY,
    SUPERUSER,
    _as_server,
    available,
    missing_programs,
    state_path,
)
from ._conf import instance_conf, parse_waldump_commits, pgbouncer_ini
from ._handle import Backup, Instance, LocalPostgres
from ._life import current, status, up
from ._procs import down

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
