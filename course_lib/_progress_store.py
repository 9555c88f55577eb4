"""Where a learner's exercise verdicts are kept: ``<state dir>/progress.json`` (read and written under a lock).

:func:`course_lib.check` records each verdict here; :mod:`course_lib.progress` summarises them per part.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from . import config


class CheckResult(Protocol):
    """What a verdict needs to be recorded (:class:`course_lib.exercises.CheckResult` has it)."""

    @property
    def exercise(self) -> str: ...

    @property
    def passed(self) -> bool: ...

    @property
    def attempted(self) -> bool: ...


def progress_file() -> Path:
    """``<state dir>/progress.json``."""
    return config.state_dir() / "progress.json"


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    """The progress data, read and written under a lock (two kernels may check at once)."""
    path = progress_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except ValueError:  # a damaged file starts over rather than breaking every check
            data = {}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)


def record(result: CheckResult) -> int:
    """Store one verdict; returns the number of answers tried for that exercise (the placeholder not counted)."""
    with _locked() as data:
        entry = data.setdefault(result.exercise, {"tries": 0, "passed": False, "attempted": False})
        if result.attempted:
            entry["tries"] += 1
            entry["attempted"] = True
            entry["passed"] = entry["passed"] or result.passed
        entry["last"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return int(entry["tries"])


def load() -> dict[str, dict[str, Any]]:
    """Everything recorded (exercise id → ``tries``, ``attempted``, ``passed``, ``last``)."""
    path = progress_file()
    try:
        return dict(json.loads(path.read_text())) if path.is_file() else {}
    except ValueError:
        return {}


__all__ = ["load", "progress_file", "record"]
