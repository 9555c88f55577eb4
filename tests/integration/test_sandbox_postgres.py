"""Integration tests: the sandbox's PostgreSQL service — real PostgreSQL 15 (primary + 2 streaming replicas, WAL
archive, base backup) and PgBouncer from Debian packages — replication, failover, point-in-time recovery, pooling
and cleanup. The module gets its own COURSE_STATE_DIR; the tests of the shared service run in file order (the
failover changes the primary, the recovery then crosses that timeline switch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import postgres as pg
from course_lib import sandbox
from course_lib.sandbox import _postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _postgres.available(),
        reason=f"needs {', '.join(_postgres.missing_programs())} (apt-get install postgresql-15 pgbouncer)",
    ),
]

psycopg = pytest.importorskip("psycopg")


def _server_processes(marker: str) -> list[tuple[int, str]]:
    """Live (non-zombie) postgres/pgbouncer processes whose environment carries this state file's marker."""
    found = []
    needle = f"{sandbox._stack.MARKER_ENV}={marker}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            env = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        state = stat[stat.rfind(")") + 2]
        if state not in "ZX" and needle in env.split(b"\0"):
            found.append((int(entry.name), comm))
    return found


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("pg-state")
    from course_lib import config

    with config.using_state_dir(path):
        yield path
        sandbox.down()


@pytest.fixture(scope="module")
def db(state_dir: Path) -> _postgres.LocalPostgres:
    return _postgres.up(fresh=True)


def test_up_starts_a_primary_two_streaming_replicas_and_a_pooler_on_loopback(db: _postgres.LocalPostgres) -> None:
    assert db.topology().values.tolist() == [
        ["production-db-1", "primary", True],
        ["production-db-2", "replica", True],
        ["production-db-3", "replica", True],
    ]
    rep = db.replication()
    assert sorted(rep.application_name) == ["production-db-2", "production-db-3"]
    assert set(rep.state) == {"streaming"} and set(rep.sync_state) == {"quorum"}
    assert db.query("SHOW listen_addresses").listen_addresses[0] == "127.0.0.1"
    assert db.query("SELECT pg_is_in_recovery() AS r", on="production-db-2").r[0]
    assert _postgres.up().reused  # a second call finds it intact


def test_a_write_on_the_primary_is_read_on_both_replicas(db: _postgres.LocalPostgres) -> None:
    db.query("CREATE TABLE repl (id int PRIMARY KEY)")
    db.query("INSERT INTO repl SELECT generate_series(1, 50)")
    lag = db.wait_replicas()
    assert list(lag.replay_lag_bytes) == [0, 0]
    for replica in db.replicas:
        assert int(db.query("SELECT count(*) AS n FROM repl", on=replica).n[0]) == 50
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        db.query("INSERT INTO repl VALUES (51)", on=db.replicas[0])


def test_pgbouncer_keeps_server_connections_at_the_pool_size_for_500_clients(db: _postgres.LocalPostgres) -> None:
    run = pg.pooling_drill(db, clients=500, hold=0.1)
    assert run.pooled_ok == 500 and run.pooled_errors == 0
    assert 1 <= run.peak_server_connections <= db.pool_size
    assert run.peak_waiting_clients > 0  # the clients really queued for the pool
    assert run.direct_ok < 500 and run.direct_errors == 500 - run.direct_ok  # max_connections refuses the rest
    assert "reserved" in run.direct_error or "too many clients" in run.direct_error


def test_failover_promotes_a_replica_and_loses_no_committed_row(db: _postgres.LocalPostgres) -> None:
    run = pg.failover_drill(db, write_for=1.0)
    assert run.failed == "production-db-1" and run.promoted in ("production-db-2", "production-db-3")
    assert run.committed_before > 0 and run.lost == 0
    assert 0 < run.rto < 30
    roles = dict(zip(db.topology().instance, db.topology().role, strict=True))
    assert roles["production-db-1"] == "failed" and roles[run.promoted] == "primary"
    assert not db.query("SELECT pg_is_in_recovery() AS r").r[0]
    (other,) = run.followed
    assert list(db.replication().application_name) == [other]  # the other replica streams from the new primary
    db.query("INSERT INTO repl VALUES (1000)")
    db.wait_replicas()
    assert int(db.query("SELECT count(*) AS n FROM repl WHERE id = 1000", on=other).n[0]) == 1


def test_point_in_time_recovery_brings_back_exactly_the_rows_before_the_target(db: _postgres.LocalPostgres) -> None:
    db.query("CREATE TABLE pitr (id int PRIMARY KEY)")
    db.query("INSERT INTO pitr SELECT generate_series(1, 7)")
    target = db.query("SELECT clock_timestamp() AS t").t[0]
    time.sleep(0.05)
    db.query("INSERT INTO pitr SELECT generate_series(8, 10)")
    db.query("DROP TABLE pitr")
    db.switch_wal()
    assert pg.check_recovery_target(target, pg.backup_catalog(db)).recoverable
    name = db.restore("restored-db", target_time=target)
    ids = list(db.query("SELECT id FROM pitr ORDER BY id", on=name).id)
    assert ids == list(range(1, 8))
    with pytest.raises(psycopg.errors.UndefinedTable):  # the damaged primary is untouched
        db.query("SELECT 1 FROM pitr")


def test_the_your_turn_check_restores_the_learners_target_and_compares_the_rows(
    db: _postgres.LocalPostgres,
) -> None:
    import course_lib as cl

    xids = pg.bad_update(db)
    commits = db.wal_commits().set_index("xid").committed_at
    good = cl.check("08-real-recovery", commits[xids["good change"]])
    assert good.passed, good.message
    too_early = cl.check("08-real-recovery", commits[xids["created"]])
    assert not too_early.passed and "before the good change" in too_early.message
    too_late = cl.check("08-real-recovery", commits[xids["bad update"]])
    assert not too_late.passed and "recovery ended before configured recovery target" in too_late.message
    assert not cl.check("08-real-recovery", "not a time").passed


def test_queries_fail_once_the_database_is_stopped(db: _postgres.LocalPostgres, state_dir: Path) -> None:
    marker = str(_postgres.state_path())
    assert _server_processes(marker)
    stopped = sandbox.down()
    assert {"pgbouncer", "restored-db"} <= set(stopped)
    assert not _server_processes(marker)
    with pytest.raises(Exception):  # noqa: B017,PT011 - the handle's state is gone or the server refuses
        db.query("SELECT 1")


def test_course_sandbox_down_leaves_no_process_and_no_data_after_a_killed_owner(state_dir: Path) -> None:
    """A kernel starts the service and is SIGKILLed; `course sandbox down` (another process) stops everything."""
    code = "from course_lib.sandbox import _postgres; _postgres.up(fresh=True); print('up', flush=True); input()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    owner = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "up"
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        marker = str(_postgres.state_path())
        running = _server_processes(marker)
        assert {comm for _, comm in running} >= {"postgres", "pgbouncer"}
        done = subprocess.run(
            [sys.executable, "-m", "course_lib", "sandbox", "down"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert not _server_processes(marker)
        assert not any(pid for pid, _ in running if Path(f"/proc/{pid}").exists() and _is_live(pid))
        assert not list((state_dir / "sandbox-postgres").glob("run-*"))  # data dirs, archive, backups: gone
        assert not _postgres.state_path().exists()
    finally:
        if owner.poll() is None:
            owner.kill()


def _is_live(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"
