"""Benchmark the sandbox PostgreSQL (Part 8): ready time of primary + 2 replicas + base backup + PgBouncer, failover
RTO, PITR restore time, PgBouncer's server connections with 500 clients, and connect+query time with and without
the pooler.

Run: ``.venv/bin/python benchmarks/postgres_drills.py [rounds]`` (uses a temporary COURSE_STATE_DIR; about a
minute a round).

Targets (issue #14): ready ≤ 15 s; PITR restore ≤ 30 s; server connections ≤ pool size with 500 clients; the RTO
is printed as measured.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def _connect_seconds(db: object, *, pooler: bool, n: int = 200) -> float:
    """Median seconds of connect + ``SELECT 1`` + close, one new connection each time (an app without a pool)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        with db.connect(pooler=pooler) as conn:  # type: ignore[attr-defined]
            conn.execute("SELECT 1")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(rounds: int = 3) -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-pg-")
    from course_lib import postgres as pg
    from course_lib.sandbox import _postgres

    ready, rto, restore, peak, pooled, direct_c, pooled_c, stop = [], [], [], [], [], [], [], []
    try:
        for _ in range(rounds):
            t = time.monotonic()
            db = _postgres.up(fresh=True)
            ready.append(time.monotonic() - t)
            direct_c.append(_connect_seconds(db, pooler=False))
            pooled_c.append(_connect_seconds(db, pooler=True))
            run = pg.pooling_drill(db, clients=500)
            peak.append(run.peak_server_connections)
            pooled.append(run.pooled_seconds)
            assert run.pooled_errors == 0, run
            fail = pg.failover_drill(db)
            assert fail.lost == 0, fail
            rto.append(fail.rto)
            db.query("CREATE TABLE bench (id int)")
            db.query("INSERT INTO bench SELECT generate_series(1, 10000)")
            target = db.query("SELECT clock_timestamp() AS t").t[0]
            db.query("DROP TABLE bench")
            db.switch_wal()
            t = time.monotonic()
            name = db.restore("restored-db", target_time=target)
            restore.append(time.monotonic() - t)
            assert int(db.query("SELECT count(*) AS n FROM bench", on=name).n[0]) == 10000
            t = time.monotonic()
            _postgres.down()
            stop.append(time.monotonic() - t)
    finally:
        _postgres.down()

    def line(label: str, xs: list[float], unit: str = "s", target: str = "") -> None:
        runs = ", ".join(f"{x:.2f}" for x in xs)
        print(f"{label:<50} {statistics.median(xs):7.3f} {unit} median  (runs: {runs}){target}")

    line("ready: primary + 2 replicas + backup + pgbouncer", ready, target="  target <= 15 s")
    line("down: every server stopped, data deleted", stop)
    line("failover RTO (kill → first write on new primary)", rto)
    line("PITR restore into a new instance", restore, target="  target <= 30 s")
    line("500 clients × pg_sleep(0.2) through pgbouncer", pooled)
    print(f"{'pgbouncer server connections, 500 clients':<50} {max(peak):7d} max     (pool size {_postgres.POOL_SIZE})")
    line("connect + SELECT 1, straight to PostgreSQL", [x * 1000 for x in direct_c], "ms")
    line("connect + SELECT 1, through PgBouncer", [x * 1000 for x in pooled_c], "ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
