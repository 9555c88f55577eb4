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

from ..pins import CNPG_CHART_VERSION, CNPG_VERSION
from ..sim._pitr import BaseBackup, Recoverability
from ..sim._pitr import _utc as _utc  # course_lib.plots._parts reads targets with it
from ._install import (  # registers the manifest 08/orders-app
    CnpgInstall,
    app_deployment,
    cluster_services,
    connection_string,
    install_commands,
    managed_vs_operator,
    sandbox_crds,
    sandbox_prerequisites,
    setup_costs,
)
from ._live import (
    FailoverResult,
    FailoverRun,
    PoolingRun,
    failover_drill,
    pooling_drill,
    simulate_failover,
)
from ._live import _lsn_int as _lsn_int  # tests/unit/test_sandbox_postgres.py checks it
from ._recovery import (  # registers the exercises 08-recovery-target and 08-real-recovery
    EXAMPLE_ACCIDENT,
    EXAMPLE_NOW,
    GOOD_PRICES,
    BackupCatalog,
    backup_catalog,
    bad_update,
    check_recovery_target,
    example_catalog,
)

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
