"""Part 08's break-and-fix drills (notebook 08_postgres_cnpg): see :mod:`course_lib.drills`.

``08-wal-replay-paused``: on the sandbox's real PostgreSQL 15 (a primary and two streaming replicas, local processes
on 127.0.0.1), someone ran ``SELECT pg_wal_replay_pause()`` on a replica — during an investigation, say, and forgot
it. The replica keeps *receiving* and flushing the primary's WAL (so synchronous commits still return), but no
longer *applies* it: reads through ``-ro`` that land there are stale, and its replay lag grows with every write.
The learner finds it with SQL (``pg_stat_replication`` on the primary, ``pg_is_wal_replay_paused()`` and
``pg_last_xact_replay_timestamp()`` on the replica) and fixes it with ``pg_wal_replay_resume()``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..errors import SandboxError
from . import Drill, Verdict, drill

#: the table the drill writes to: a heartbeat, the classic way to measure how far a replica is behind
TABLE = "drill_heartbeat"
#: how many rows the drill writes on the primary after pausing the replica
WRITES = 50
#: seconds a probe waits for a fresh row to appear on the replica
CATCH_UP = 10.0


@drill
class WalReplayPaused(Drill):
    """Replay paused on the first replica while the primary keeps writing: the replica falls behind."""

    id = "08-wal-replay-paused"
    title = "a replica that stopped applying WAL"
    symptom = (
        "orders written a moment ago are missing when read from a replica (the -ro Service), and the primary "
        "reports that replica's replay lag in bytes growing with every write"
    )
    first_look = "SELECT application_name, state, replay_lsn, replay_lag FROM pg_stat_replication;  -- on the primary"

    def unavailable(self) -> str:
        from ..sandbox import _postgres

        if not self.session.capabilities.local_stack:
            return "this drill needs the sandbox's PostgreSQL (on a cluster, CloudNativePG runs the database)"
        missing = _postgres.missing_programs()
        if missing:
            return f"this drill needs PostgreSQL 15 and PgBouncer, missing: {', '.join(missing)} (run `make setup`)"
        return ""

    # -- helpers -------------------------------------------------------------------------------------------------
    def _db(self, *, start: bool) -> Any:
        """The running sandbox PostgreSQL (whatever its topology after the notebook's failover); started through the
        session only when none is recorded and ``start``."""
        from ..sandbox import _postgres

        db = _postgres.current()
        if db is not None:
            try:
                if any(i.running for i in db.instances() if i.role == "primary"):
                    return db
            except SandboxError:
                pass
        return self.session.postgres() if start else None

    def _paused(self, db: Any, replica: str) -> bool:
        from ..sandbox._postgres import SUPERUSER

        got = db.query("SELECT pg_is_wal_replay_paused() AS paused", on=replica, user=SUPERUSER)
        return bool(got.paused[0])

    # -- the drill -----------------------------------------------------------------------------------------------
    def break_(self) -> None:
        from ..sandbox._postgres import SUPERUSER

        db = self._db(start=True)
        replicas = [i.name for i in db.instances() if i.role == "replica" and i.running]
        if not replicas:
            raise SandboxError(
                "the sandbox PostgreSQL has no running replica to break",
                hint="start it again with session.postgres(fresh=True) (a primary and two replicas)",
            )
        replica = replicas[0]
        self.state["replica"] = replica
        db.query(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, marker text NOT NULL, "
            "at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        db.wait_replicas(timeout=30)  # the table exists everywhere before the replica stops applying WAL
        db.query("SELECT pg_wal_replay_pause()", on=replica, user=SUPERUSER)
        deadline = time.monotonic() + 10
        while db.query("SELECT pg_get_wal_replay_pause_state() AS s", on=replica, user=SUPERUSER).s[0] != "paused":
            if time.monotonic() > deadline:
                raise SandboxError(f"replay on {replica} did not pause within 10 s", hint=db.log(replica))
            time.sleep(0.05)
        marker = f"drill-{uuid.uuid4().hex[:8]}"
        self.state["marker"] = marker
        db.query(f"INSERT INTO {TABLE} (marker) SELECT %s FROM generate_series(1, %s)", (marker, WRITES))

    def probe(self) -> Verdict:
        import psycopg

        replica = self.state.get("replica", "")
        hint = (
            f"on {replica or 'each replica'}: SELECT pg_is_wal_replay_paused(); a paused replica receives WAL but "
            "does not apply it"
        )
        db = self._db(start=False)
        if db is None:
            return Verdict(False, "the sandbox PostgreSQL is not running", "session.postgres() starts it")
        try:
            if replica not in db.replicas:
                return Verdict(False, f"{replica} is no longer a streaming replica of {db.primary}", hint)
            if self._paused(db, replica):  # (no byte count here: the message is shown in committed notebooks)
                return Verdict(
                    False, f"WAL replay on {replica} is paused; it falls behind with every write", hint, attempted=False
                )
            # a fresh row on the primary must show up on the replica: replay runs *and* has caught up
            fresh = f"probe-{uuid.uuid4().hex[:8]}"
            db.query(f"INSERT INTO {TABLE} (marker) VALUES (%s)", (fresh,))
            deadline = time.monotonic() + CATCH_UP
            sql = (
                "SELECT count(*) FILTER (WHERE marker = %s) AS drill, count(*) FILTER (WHERE marker = %s) AS fresh "
                f"FROM {TABLE}"
            )
            while True:
                got = db.query(sql, (self.state.get("marker", ""), fresh), on=replica)
                seen, new = int(got.drill[0]), int(got.fresh[0])
                if seen == WRITES and new == 1:
                    return Verdict(True, f"{replica} replays WAL again: it has the drill's {WRITES} rows and a new one")
                if time.monotonic() > deadline:
                    return Verdict(False, f"{replica} replays, but has {seen}/{WRITES} of the drill's rows", hint)
                time.sleep(0.1)
        except (psycopg.Error, SandboxError) as exc:
            return Verdict(False, f"PostgreSQL did not answer: {type(exc).__name__}: {str(exc).strip()[:200]}", hint)

    def clean(self) -> None:
        import psycopg

        from ..sandbox._postgres import SUPERUSER

        db = self._db(start=False)
        if db is None:
            return
        try:
            for name in db.replicas:  # an interrupted run may have left any replica paused
                if self._paused(db, name):
                    db.query("SELECT pg_wal_replay_resume()", on=name, user=SUPERUSER)
            db.query(f"DROP TABLE IF EXISTS {TABLE}")
        except (psycopg.Error, SandboxError):
            pass  # a server that is not running has nothing of the drill left to clean
