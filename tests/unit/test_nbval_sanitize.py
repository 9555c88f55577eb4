"""The nbval sanitizer must make a notebook's stored output equal to a fresh run's, whatever the run's
random values look like: a run id that is all digits is quoted by YAML, one with letters is not."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg"


def sanitize(text: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CONFIG)
    for section in parser.sections():
        text = re.sub(parser[section]["regex"], parser[section]["replace"], text)
    return text


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("course-lib/run-id: '123456'\n", "course-lib/run-id: a1b2c3\n"),
        ("course-lib/run-id: '1e2345'\n", "course-lib/run-id: 0fa9bc\n"),
        ('"course-lib/run-id": "123456",', '"course-lib/run-id": "abcdef",'),
    ],
)
def test_run_id_labels_compare_equal_quoted_or_not(stored: str, fresh: str) -> None:
    assert sanitize(stored) == sanitize(fresh)


def test_other_labels_are_left_alone() -> None:
    assert sanitize("app: '123456'\n") == "app: '123456'\n"


def test_postgres_ports_in_commands_and_connection_strings_compare_equal() -> None:
    assert sanitize("psql -h 127.0.0.1 -p 43135 -U app app") == sanitize("psql -h 127.0.0.1 -p 50211 -U app app")
    assert sanitize("host=127.0.0.1 port=5432 dbname=app") == "host=127.0.0.1 port=PORT dbname=app"
