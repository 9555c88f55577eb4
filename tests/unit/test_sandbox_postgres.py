"""The pure parts of the sandbox PostgreSQL service and of Part 8's drills: configuration text, the root wrapper,
LSN ordering, the catalogue built from a service's backups and archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from course_lib import postgres as pg
from course_lib.errors import ConfigError
from course_lib.sandbox import _postgres


def test_instance_conf_is_loopback_only_and_maps_the_cnpg_fields(tmp_path: Path) -> None:
    conf = _postgres.instance_conf(
        port=5433, socket_dir="/s", archive=tmp_path, sync_names=["db-2", "db-3"], primary_port=5432,
        application_name="db-2",
    )  # fmt: skip
    assert "listen_addresses = '127.0.0.1'" in conf and "port = 5433" in conf
    assert f"archive_command = 'test ! -f {tmp_path}/%f && cp %p {tmp_path}/%f'" in conf
    assert 'synchronous_standby_names = \'ANY 1 ("db-2", "db-3")\'' in conf
    assert "primary_conninfo = 'host=127.0.0.1 port=5432 user=postgres application_name=db-2'" in conf


def test_a_primary_without_archive_or_replicas_says_so() -> None:
    conf = _postgres.instance_conf(port=5432, socket_dir="", archive=None)
    assert "archive_mode = off" in conf
    assert "synchronous_standby_names" not in conf and "primary_conninfo" not in conf


def test_pgbouncer_ini_is_transaction_mode_on_loopback_in_front_of_the_primary(tmp_path: Path) -> None:
    ini = _postgres.pgbouncer_ini(port=6432, primary_port=5432, socket_dir="", userlist=tmp_path / "u", pool_size=7)
    assert "* = host=127.0.0.1 port=5432" in ini and "listen_addr = 127.0.0.1" in ini
    assert "pool_mode = transaction" in ini and "default_pool_size = 7" in ini
    assert f"server_login_retry = {_postgres.SERVER_LOGIN_RETRY}" in ini


@pytest.mark.parametrize("euid", [0, 1000])
def test_servers_run_unprivileged_inside_a_user_namespace_only_as_root(
    monkeypatch: pytest.MonkeyPatch, euid: int
) -> None:
    monkeypatch.setattr(_postgres.os, "geteuid", lambda: euid)
    argv = _postgres._as_server(["postgres", "-D", "d"])
    if euid:
        assert argv == ["postgres", "-D", "d"]
    else:
        assert argv[:2] == ["unshare", "--user"] and argv[-3:] == ["postgres", "-D", "d"]
        assert not any(a == "--map-user=0" for a in argv)


def test_up_refuses_bad_options_before_starting_anything() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        _postgres.up(timeout=0)
    with pytest.raises(ConfigError, match="pool_size"):
        _postgres.up(pool_size=0)


def test_lsns_compare_as_numbers_not_strings() -> None:
    assert pg._lsn_int("0/A000000") > pg._lsn_int("0/9FFFFFF")
    assert pg._lsn_int("1/0") > pg._lsn_int("0/FFFFFFFF")


def test_a_failover_run_counts_lost_rows() -> None:
    run = pg.FailoverRun("db-1", "db-2", ("db-3",), (("db-2", "0/1"),), (("killed", 0.0),), ((1, -0.1),), 1.2, 10, 9)
    assert run.lost == 1 and "1 lost" in str(run) and "1.20 s" in str(run)
    assert list(run.table().columns) == ["event", "seconds_after_kill"]


class _FakeDb:
    """The two reads backup_catalog makes of a running service."""

    def __init__(self, backups: list[_postgres.Backup], wal: pd.DataFrame) -> None:
        self._backups, self._wal = backups, wal

    def backups(self) -> list[_postgres.Backup]:
        return self._backups

    def archived_wal(self) -> pd.DataFrame:
        return self._wal


def test_the_real_catalogue_spans_the_first_backup_to_the_newest_archived_wal() -> None:
    t0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    backup = _postgres.Backup("backup-1", "/x", t0, t0 + timedelta(seconds=2))
    wal = pd.DataFrame({"file": ["a", "b"], "archived": pd.to_datetime([t0, t0 + timedelta(minutes=5)], utc=True)})
    catalog = pg.backup_catalog(_FakeDb([backup], wal))
    assert catalog.wal_start == t0 and catalog.wal_end == t0 + timedelta(minutes=5)
    assert pg.check_recovery_target(t0 + timedelta(minutes=1), catalog).recoverable
    assert not pg.check_recovery_target(t0 + timedelta(minutes=6), catalog).recoverable
    with pytest.raises(ConfigError, match="base backup"):
        pg.backup_catalog(_FakeDb([], wal))


def test_pooling_drill_refuses_more_clients_than_the_pooler_accepts() -> None:
    with pytest.raises(ConfigError, match="clients"):
        pg.pooling_drill(object(), clients=5000)


def test_waldump_commits_are_read_with_their_xid_lsn_and_time_and_nothing_else() -> None:
    text = (
        "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/03000120, prev 0/030000E8, "
        "desc: COMMIT 2026-12-02 03:32:14.562597 UTC\n"
        "rmgr: Transaction len (rec/tot):     34/    34, tx:        736, lsn: 0/03000150, prev 0/03000120, "
        "desc: ABORT 2026-12-02 03:32:15.000001 UTC\n"
        "rmgr: Transaction len (rec/tot):    405/   405, tx:        737, lsn: 1/0A000028, prev 0/03000150, "
        "desc: COMMIT 2026-12-02 03:32:16.1 UTC; inval msgs: catcache 7\n"
    )
    assert _postgres.parse_waldump_commits(text) == [
        (735, "0/03000120", "2026-12-02 03:32:14.562597"),
        (737, "1/0A000028", "2026-12-02 03:32:16.1"),
    ]
