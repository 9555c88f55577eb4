"""Drill 08-wal-replay-paused on the sandbox's real PostgreSQL 15 (a primary and two streaming replicas on
127.0.0.1): the drill pauses WAL replay on a replica and writes on the primary; the replica is really stale and
the primary really reports its lag; the check says broken and untouched; the solution's fix (pg_wal_replay_resume)
makes it pass; with the replica stopped the check fails; clean drops the drill's table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import course_lib as cl
from course_lib import drills, sandbox, solutions
from course_lib.drills import _postgres as d
from course_lib.sandbox import _controlplane, _postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _postgres.available(),
        reason=f"needs {', '.join(_postgres.missing_programs())} (apt-get install postgresql-15 pgbouncer)",
    ),
    pytest.mark.skipif(not _controlplane.available(), reason="a drill needs the sandbox's API server: `make tools`"),
]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from course_lib import config

    with config.using_state_dir(tmp_path_factory.mktemp("pg-drill-state")):
        s = cl.start(target="sandbox")
        yield s
        s.close()
        sandbox.down()


def _count(db: Any, on: str) -> int:
    return int(db.query(f"SELECT count(*) AS n FROM {d.TABLE}", on=on).n[0])


def test_break_check_fix_with_sql_check_and_clean(session: Any) -> None:
    local_db = session.postgres(fresh=True)
    run = drills.start("08-wal-replay-paused", session)
    assert not run.unavailable, run.unavailable
    replica = run.drill.state["replica"]
    other = next(r for r in local_db.replicas if r != replica)
    # broken for real: the primary and the healthy replica have the rows, the paused one does not
    assert _count(local_db, local_db.primary) == d.WRITES
    assert _count(local_db, replica) == 0
    assert bool(local_db.query("SELECT pg_is_wal_replay_paused() AS p", on=replica, user="postgres").p[0])
    lag = local_db.replication().set_index("application_name").replay_lag_bytes
    assert lag[replica] > 0, lag
    first = run.check()
    assert not first.passed and not first.attempted and "paused" in first.message, first
    assert "falls behind" in first.message

    # the solution's code, run as the solved notebook runs it (local_db in scope)
    code = solutions.load(8)["08-wal-replay-paused"].code
    scope: dict[str, Any] = {"local_db": local_db}
    exec(code, scope)  # noqa: S102 - the course's own solution file
    assert scope["paused"] == [replica]
    second = run.check()
    assert second.passed, second
    assert _count(local_db, replica) == _count(local_db, local_db.primary) == _count(local_db, other)

    # the verdict reads the replica: stopped, the check fails (and says PostgreSQL did not answer)
    local_db.kill(replica)
    stopped = run.check()
    assert not stopped.passed, stopped

    run.clean()
    assert local_db.query(f"SELECT to_regclass('{d.TABLE}') AS t").t[0] is None


def test_clean_resumes_a_replica_an_interrupted_run_left_paused(session: Any) -> None:
    local_db = session.postgres(fresh=True)
    run = drills.start("08-wal-replay-paused", session)
    replica = run.drill.state["replica"]
    fresh = d.WalReplayPaused(session)  # a new kernel: it knows nothing of the run
    fresh.clean()
    assert not bool(local_db.query("SELECT pg_is_wal_replay_paused() AS p", on=replica, user="postgres").p[0])
    assert local_db.query(f"SELECT to_regclass('{d.TABLE}') AS t").t[0] is None
    assert Path(local_db.workdir).exists()
