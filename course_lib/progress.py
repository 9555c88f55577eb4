"""A learner's progress through the course's exercises, kept in their state folder.

Every :func:`course_lib.check` records its verdict here: attempted or not, passed or not, and how many answers
were tried (which the hint ladder climbs). ``course progress`` and the cell at the end of each notebook show it per
part; a classroom batch (``course run --matrix``) keeps one file per learner's private state folder.

Example:
    >>> import tempfile
    >>> from course_lib.exercises import CheckResult
    >>> with config.using_state_dir(tempfile.mkdtemp()):
    ...     record(CheckResult("04-canary-75-25", False, "the weights add up to 110"))
    ...     summary(part=4)["passed"].tolist()
    1
    [False]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .exercises import CheckResult


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


def summary(*, part: int | None = None) -> pd.DataFrame:
    """One row per exercise of the course (or of one part): attempted, passed, tries.

    Exercises never checked are listed too (not attempted), so the table shows what is left.
    """
    import pandas as pd

    from .exercises import exercises

    done = load()
    rows = []
    for name in exercises(part=part):
        entry = done.get(name, {})
        rows.append(
            {
                "part": int(name[:2]),
                "exercise": name,
                "attempted": bool(entry.get("attempted")),
                "passed": bool(entry.get("passed")),
                "tries": int(entry.get("tries", 0)),
            }
        )
    return pd.DataFrame(rows, columns=["part", "exercise", "attempted", "passed", "tries"])


def by_part() -> pd.DataFrame:
    """Per part: exercises, attempted, passed (what ``course progress`` prints)."""
    table = summary()
    grouped = table.groupby("part").agg(
        exercises=("exercise", "count"), attempted=("attempted", "sum"), passed=("passed", "sum")
    )
    return grouped.astype(int)


__all__ = ["by_part", "load", "progress_file", "record", "summary"]
