"""Time, duration and step parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from course_lib.errors import ConfigError
from course_lib.observe import parse_duration, parse_step, parse_time
from course_lib.observe._time import to_unix_ns

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("now", NOW),
        ("-15m", NOW - timedelta(minutes=15)),
        ("now-1h30m", NOW - timedelta(hours=1, minutes=30)),
        ("+10s", NOW + timedelta(seconds=10)),
        (timedelta(minutes=5), NOW - timedelta(minutes=5)),
        (timedelta(minutes=-5), NOW - timedelta(minutes=5)),
        (1714564800, datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        (datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_parse_time(value: object, expected: datetime) -> None:
    got = parse_time(value, now=NOW)  # type: ignore[arg-type]
    assert got == expected and got.tzinfo is not None


@pytest.mark.parametrize("bad", [datetime(2024, 1, 1), "yesterday", "-15 minutes", True, None])
def test_parse_time_rejects_with_hint(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_time(bad, now=NOW)  # type: ignore[arg-type]
    assert info.value.hint


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("15s", 15.0), ("1m30s", 90.0), ("250ms", 0.25), (30, 30.0), ("2.5", 2.5), (timedelta(hours=1), 3600.0)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0s", -5, "abc", "5 minutes", float("nan")])
def test_parse_step_rejects(bad: object) -> None:
    with pytest.raises(ConfigError, match="step"):
        parse_step(bad)  # type: ignore[arg-type]


def test_unix_ns_is_exact() -> None:
    assert to_unix_ns(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)) == 1714564800123456000
