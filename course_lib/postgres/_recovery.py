"""Part 8's point-in-time recovery: the backup catalogue (:class:`BackupCatalog`; the illustrative
:func:`example_catalog` and the sandbox's real :func:`backup_catalog`), :func:`check_recovery_target`, and the
exercises 08-recovery-target and 08-real-recovery (registered on import) with the "Your turn" :func:`bad_update`.
See :mod:`course_lib.postgres`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import ConfigError, SandboxError
from ..exercises import CheckResult, exercise
from ..sim._pitr import BaseBackup, Recoverability, _utc

# --- point-in-time recovery ----------------------------------------------------------------------


@dataclass(frozen=True)
class BackupCatalog:
    """What is in the object store: base backups and the continuous WAL archive (with any gaps).

    Attributes:
        backups: base backups, oldest first.
        wal_start: oldest WAL segment kept.
        wal_end: newest archived WAL (recent changes not yet archived are lost in a recovery).
        gaps: periods where WAL archiving failed (nothing in them can be replayed).
    """

    backups: tuple[BaseBackup, ...]
    wal_start: datetime
    wal_end: datetime
    gaps: tuple[tuple[datetime, datetime], ...] = ()

    def windows(self) -> list[tuple[datetime, datetime]]:
        """The recoverable periods: from each backup's completion until the next WAL gap (merged)."""
        spans: list[tuple[datetime, datetime]] = []
        for b in self.backups:
            if b.started < self.wal_start:
                continue
            end = self.wal_end
            for g0, g1 in self.gaps:
                if g1 > b.started:
                    end = min(end, g0)
            if end > b.completed:
                spans.append((b.completed, end))
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    def table(self) -> Any:
        """Base backups as a DataFrame (name, started, completed)."""
        import pandas as pd

        return pd.DataFrame([b.__dict__ for b in self.backups])


def check_recovery_target(target: datetime | str, catalog: BackupCatalog) -> Recoverability:
    """Can ``bootstrap.recovery`` with ``recoveryTarget.targetTime = target`` succeed with this catalogue?

    CloudNativePG restores the newest base backup that *completed* before the target, then replays WAL up
    to the target: the target must lie after that backup's end, and WAL must be unbroken from the backup's
    start to the target, and archived up to it.

    Example:
        >>> c = example_catalog()
        >>> check_recovery_target("2026-11-19T01:00:00Z", c).recoverable
        False

    Used in: notebook 08.
    """
    t = _utc(target, what="target")
    done = [b for b in catalog.backups if b.completed <= t and b.started >= catalog.wal_start]
    if not done:
        first = min((b.completed for b in catalog.backups), default=None)
        why = f"it is before the first usable base backup completed ({first.isoformat()})" if first else "no backups"
        return Recoverability(t, False, why)
    if t > catalog.wal_end:
        return Recoverability(
            t, False, f"WAL is archived only up to {catalog.wal_end.isoformat()}; later changes are not in the store"
        )
    for b in sorted(done, key=lambda b: b.completed, reverse=True):
        broken = [g for g in catalog.gaps if g[1] > b.started and g[0] < t]
        if not broken:
            return Recoverability(
                t, True, f"restore {b.name}, then replay WAL up to the target", backup=b.name, replay=t - b.started
            )
    g0, g1 = next(g for g in catalog.gaps if g[0] < t)
    return Recoverability(
        t,
        False,
        f"WAL between {g0.isoformat()} and {g1.isoformat()} is missing and no base backup completed after the gap "
        "and before the target",
    )


#: The fixed story of the notebook: "now" and the moment someone ran a bad DROP TABLE.
EXAMPLE_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXAMPLE_ACCIDENT = datetime(2026, 11, 25, 16, 42, tzinfo=UTC)


def example_catalog(
    *,
    now: datetime = EXAMPLE_NOW,
    days: int = 7,
    backup_hour: int = 3,
    backup_minutes: int = 20,
    archive_lag: timedelta = timedelta(minutes=5),
    gap: tuple[datetime, datetime] | None = (
        datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 13, 30, tzinfo=UTC),
    ),
) -> BackupCatalog:
    """A catalogue like a ``ScheduledBackup`` at ``backup_hour`` would build: one base backup a day for ``days``
    days, WAL archived continuously up to ``now - archive_lag`` (``archive_timeout`` is 5 minutes by default),
    and optionally one period where archiving failed (e.g. expired Spaces keys).

    Used in: notebook 08.
    """
    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}", hint="keep at least one base backup")
    first = (now - timedelta(days=days)).replace(hour=backup_hour, minute=0, second=0, microsecond=0)
    backups = []
    for i in range(days + 1):
        start = first + timedelta(days=i)
        if start + timedelta(minutes=backup_minutes) > now:
            break
        backups.append(BaseBackup(f"backup-{start:%Y%m%d}", start, start + timedelta(minutes=backup_minutes)))
    return BackupCatalog(tuple(backups), backups[0].started, now - archive_lag, (gap,) if gap else ())


# --- the sandbox's real PostgreSQL: its backup catalogue -----------------------------------------


def backup_catalog(db: Any) -> BackupCatalog:
    """The real catalogue of a running sandbox PostgreSQL (``session.postgres()``): its base backups, and the WAL
    archive from the first backup to the newest archived file (its archive time).

    It is the same structure as :func:`example_catalog`, so :func:`check_recovery_target` and :func:`course_lib.plots.pitr_figure`
    reason over what is really in the archive.

    Used in: notebook 08.
    """
    backups = tuple(BaseBackup(b.name, b.started, b.completed) for b in db.backups())
    wal = db.archived_wal()
    if not backups or wal.empty:
        raise ConfigError("the archive has no base backup or no WAL yet", hint="take one with db.base_backup()")
    wal_end = max(wal["archived"].max().to_pydatetime(), backups[-1].completed)
    return BackupCatalog(backups, backups[0].started, wal_end)


# --- exercise ------------------------------------------------------------------------------------


@exercise("08-recovery-target")
def _check_recovery_target(answer: Any) -> CheckResult:
    """Part 8: a ``targetTime`` that undoes the 16:42 accident and loses at most 15 minutes of data."""
    name = "08-recovery-target"
    try:
        t = _utc(answer, what="targetTime")
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    catalog = example_catalog()
    if t >= EXAMPLE_ACCIDENT:
        return CheckResult(
            name,
            False,
            f"{t.isoformat()} is not before the DROP TABLE at {EXAMPLE_ACCIDENT.isoformat()}: the replay would "
            "run the DROP again.",
            "stop the replay a little before the accident",
        )
    verdict = check_recovery_target(t, catalog)
    if not verdict.recoverable:
        return CheckResult(name, False, f"that target cannot be reached: {verdict.reason}.", "look at the green band")
    lost = EXAMPLE_ACCIDENT - t
    if lost > timedelta(minutes=15):
        return CheckResult(
            name,
            False,
            f"recoverable, but you would lose {int(lost.total_seconds() // 60)} minutes of orders before the accident.",
            "move the target closer to the accident (at most 15 minutes before it)",
        )
    return CheckResult(
        name, True, f"restores {verdict.backup} and replays WAL up to {int(lost.total_seconds())} s before the DROP."
    )


#: Prices after the good change of the "Your turn" (before the bad UPDATE set them all to 0).
GOOD_PRICES: dict[str, float] = {"apple": 1.1, "bread": 2.2, "cheese": 5.5}


def bad_update(db: Any) -> dict[str, int]:
    """Part 8's "Your turn" on the real database: a ``prices`` table, one good change (+10 %), then a bad
    ``UPDATE`` without ``WHERE`` that sets every price to 0; WAL is archived. Returns the transaction id of each
    step, to be found in :meth:`LocalPostgres.wal_commits`.

    Used in: notebook 08.
    """
    steps = {
        "created": "CREATE TABLE prices (sku text PRIMARY KEY, usd numeric(6, 2)); "
        "INSERT INTO prices VALUES ('apple', 1), ('bread', 2), ('cheese', 5)",
        "good change": "UPDATE prices SET usd = usd * 1.1",
        "bad update": "UPDATE prices SET usd = 0",
    }
    xids = {}
    with db.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS prices")
        for step, sql in steps.items():
            with conn.transaction():
                for statement in sql.split("; "):
                    conn.execute(statement)
                row = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
                xids[step] = int(row[0]) if row else 0
            time.sleep(0.05)  # commits a few milliseconds apart, so a target can fall between them
    db.switch_wal()
    return xids


@exercise("08-real-recovery")
def _check_real_recovery(answer: Any) -> CheckResult:
    """Part 8: a ``recovery_target_time`` that brings the sandbox database's ``prices`` back as they were after
    the good change and before the bad ``UPDATE``. The check really restores a new instance to it."""
    from ..sandbox import _postgres

    name = "08-real-recovery"
    try:
        t = _utc(answer if not hasattr(answer, "to_pydatetime") else answer.to_pydatetime(), what="target")
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    db = _postgres.current()
    if db is None or not db.backups():
        return CheckResult(
            name, False, "the sandbox database is not running", "run the notebook's cells from the top first"
        )
    restored = f"yourturn-{len(db.instances())}"
    try:
        db.restore(restored, target_time=t, timeout=60)
        rows = db.query("SELECT sku, usd::float AS usd FROM prices ORDER BY sku", on=restored)
    except (SandboxError, ConfigError) as exc:
        if "recovery ended before configured recovery target was reached" in exc.message:
            return CheckResult(
                name, False, "PostgreSQL says: recovery ended before configured recovery target was reached — no "
                "commit after that target is in the archive, so the replay cannot know it has passed it",
                "pick an earlier target (the moment of a commit before the bad UPDATE)",
            )  # fmt: skip
        return CheckResult(name, False, f"that target cannot be restored: {exc.message.splitlines()[0]}", exc.hint)
    except Exception as exc:  # noqa: BLE001 - the restored instance has no prices table at that target
        return CheckResult(name, False, f"at that moment there was no prices table yet ({type(exc).__name__})",
                           "pick a commit after the table was created")  # fmt: skip
    got = dict(zip(rows.sku, rows.usd, strict=True))
    if got == GOOD_PRICES:
        return CheckResult(name, True, f"{restored} has the prices after the good change: {got}")
    if all(v == 0 for v in got.values()):
        return CheckResult(name, False, f"{restored} already has the bad UPDATE: {got}", "pick an earlier target")
    return CheckResult(name, False, f"{restored} has the prices before the good change: {got}", "pick a later target")
