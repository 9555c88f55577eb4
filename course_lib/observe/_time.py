"""Time, duration and step parsing shared by the Prometheus and Loki clients.

Prometheus accepts RFC 3339 or unix seconds; Loki wants nanoseconds. Learners write ``"-15m"``, ``"now"``, a
``timedelta`` or an aware ``datetime``; this module turns all of those into one UTC instant.

Used in: notebook 03.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import ConfigError

TimeLike = datetime | timedelta | str | int | float
StepLike = str | int | float | timedelta

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y))+$")
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_RELATIVE_RE = re.compile(r"^(?:now)?\s*([+-])\s*(\S+)$")

_TIME_HINT = (
    'give an aware datetime (datetime.now(UTC)), "now", a relative string like "-15m" or "now-1h", '
    "an RFC 3339 string like 2024-01-01T00:00:00Z, unix seconds, or a timedelta meaning 'that long ago'"
)


def parse_duration(text: str | int | float | timedelta, *, what: str = "duration") -> float:
    """Return a duration in seconds from ``"15s"``, ``"1m30s"``, ``"250ms"``, seconds or a ``timedelta``.

    >>> parse_duration("1m30s")
    90.0
    """
    if isinstance(text, timedelta):
        seconds = text.total_seconds()
    elif isinstance(text, bool):
        raise ConfigError(f"{what} must be a duration, got a bool", hint='write it like "15s", "5m" or 15')
    elif isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        s = text.strip()
        try:
            seconds = float(s)
        except ValueError:
            if not _DURATION_RE.match(s):
                raise ConfigError(
                    f"{what} {text!r} is not a duration",
                    hint='use a number of seconds or Prometheus units like "15s", "5m", "1h30m" (ms, s, m, h, d, w, y)',
                ) from None
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(s))
    else:
        raise ConfigError(f"{what} has unsupported type {type(text).__name__}", hint='write it like "15s" or 15')
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ConfigError(f"{what} must be finite, got {text!r}", hint='write it like "15s" or 15')
    return seconds


def parse_step(step: StepLike) -> float:
    """Return a positive query resolution step in seconds.

    >>> parse_step("15s")
    15.0
    """
    seconds = parse_duration(step, what="step")
    if seconds <= 0:
        raise ConfigError(f"step must be positive, got {step!r}", hint='use e.g. step="15s" or step=15')
    return seconds


def parse_time(value: TimeLike, *, now: datetime | None = None, what: str = "time") -> datetime:
    """Return an aware UTC datetime for ``value``.

    Args:
        value: an aware datetime, ``"now"``, ``"-15m"``/``"now-15m"``, an RFC 3339 string, unix seconds,
            or a ``timedelta`` meaning "that long ago" (its sign is ignored).
        now: the reference instant for relative values (default: the current time).
        what: the argument name, used in error messages.

    >>> parse_time("-1h", now=datetime(2024, 1, 1, 12, tzinfo=UTC)).isoformat()
    '2024-01-01T11:00:00+00:00'
    """
    ref = now if now is not None else datetime.now(UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ConfigError(
                f"{what} {value!r} has no timezone, so it is ambiguous",
                hint="pass an aware datetime, e.g. datetime.now(UTC) or datetime(2024, 1, 1, tzinfo=UTC)",
            )
        return value.astimezone(UTC)
    if isinstance(value, timedelta):
        return ref - abs(value)
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a time, got a bool", hint=_TIME_HINT)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        s = value.strip()
        if s == "now":
            return ref
        m = _RELATIVE_RE.match(s)
        if m:
            seconds = parse_duration(m.group(2), what=what)
            return ref + timedelta(seconds=seconds if m.group(1) == "+" else -seconds)
        try:
            return datetime.fromtimestamp(float(s), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{what} {value!r} is not a time I understand", hint=_TIME_HINT) from None
        return parse_time(parsed, what=what)
    raise ConfigError(f"{what} has unsupported type {type(value).__name__}", hint=_TIME_HINT)


def to_unix(value: datetime) -> float:
    """Unix seconds (with milliseconds) of an aware datetime, as Prometheus expects."""
    return round(value.timestamp(), 3)


def to_unix_ns(value: datetime) -> int:
    """Unix nanoseconds of an aware datetime, as Loki expects."""
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_range(start: TimeLike, end: TimeLike) -> tuple[datetime, datetime]:
    """``(start, end)`` as UTC instants, both relative to the same "now"; refuses a start after the end.

    >>> t0, t1 = parse_range("-15m", "now")
    >>> (t1 - t0).total_seconds()
    900.0
    """
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, now=now, what="start"), parse_time(end, now=now, what="end")
    if t0 > t1:
        raise ConfigError(
            f"start ({t0:%Y-%m-%d %H:%M:%S}) is after end ({t1:%Y-%m-%d %H:%M:%S})",
            hint='swap them, or use a relative start like "-15m" with end="now"',
        )
    return t0, t1
