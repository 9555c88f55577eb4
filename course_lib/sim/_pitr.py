"""The records point-in-time recovery reasons with (no pandas, no plotly, no I/O): a base backup, the verdict on
a recovery target, and ``_utc``, which reads a timestamp (RFC 3339, with a time zone) as a UTC datetime.
:mod:`course_lib.postgres` builds the backup catalogue and checks recovery targets with them.

Example:
    >>> _utc("2026-11-25T17:30:00+01:00")
    datetime.datetime(2026, 11, 25, 16, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import ConfigError


def _utc(value: datetime | str, *, what: str = "time") -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"{what} {value!r} is not a timestamp", hint="use RFC 3339, e.g. '2026-11-25T16:30:00Z'"
            ) from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{what} {value!r} is not a timestamp", hint="pass a string like '2026-11-25T16:30:00Z'")
    if value.tzinfo is None:
        raise ConfigError(f"{what} {value.isoformat()!r} has no time zone", hint="add one, e.g. a trailing 'Z' for UTC")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class BaseBackup:
    """One base backup (a copy of the data directory); WAL from ``started`` on makes it consistent."""

    name: str
    started: datetime
    completed: datetime


@dataclass(frozen=True)
class Recoverability:
    """Whether a recovery target can be reached, from which backup, and how much WAL is replayed."""

    target: datetime
    recoverable: bool
    reason: str
    backup: str | None = None
    replay: timedelta | None = None

    def __str__(self) -> str:
        mark = "recoverable" if self.recoverable else "NOT recoverable"
        return f"{self.target.isoformat()}: {mark} — {self.reason}"

    __repr__ = __str__


__all__ = ["BaseBackup", "Recoverability"]
