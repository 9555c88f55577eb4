"""A learner's progress through the course's exercises, kept in their state folder.

Every :func:`course_lib.check` records its verdict here: attempted or not, passed or not, and how many answers
were tried (which the hint ladder climbs). ``course progress`` and the cell at the end of each notebook show it per
part; a classroom batch (``course run --matrix``) keeps one file per learner's private state folder.

Example:
    >>> import tempfile
    >>> from course_lib.config import using_state_dir
    >>> from course_lib.exercises import CheckResult
    >>> with using_state_dir(tempfile.mkdtemp()):
    ...     record(CheckResult("04-canary-75-25", False, "the weights add up to 110"))
    ...     summary(part=4).set_index("exercise").loc["04-canary-75-25", ["attempted", "passed"]].tolist()
    1
    [True, False]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._progress_store import load, progress_file, record

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def summary(*, part: int | None = None) -> pd.DataFrame:
    """One row per exercise of the course (or of one part): attempted, passed, tries.

    Exercises never checked are listed too (not attempted), so the table shows what is left.
    """
    import pandas as pd

    from .drills import is_drill
    from .exercises import exercises

    done = load()
    rows = []
    for name in exercises(part=part):
        entry = done.get(name, {})
        rows.append(
            {
                "part": int(name[:2]),
                "exercise": name,
                "kind": "drill" if is_drill(name) else "exercise",
                "attempted": bool(entry.get("attempted")),
                "passed": bool(entry.get("passed")),
                "tries": int(entry.get("tries", 0)),
            }
        )
    return pd.DataFrame(rows, columns=["part", "exercise", "kind", "attempted", "passed", "tries"])


def by_part() -> pd.DataFrame:
    """Per part: exercises attempted and passed, drills and drills fixed (what ``course progress`` prints)."""
    table = summary()
    table["is_drill"] = table["kind"] == "drill"
    table["fixed"] = table["passed"] & table["is_drill"]
    plain = table[~table["is_drill"]]
    grouped = plain.groupby("part").agg(
        exercises=("exercise", "count"), attempted=("attempted", "sum"), passed=("passed", "sum")
    )
    drills = table.groupby("part").agg(drills=("is_drill", "sum"), fixed=("fixed", "sum"))
    return grouped.join(drills, how="outer").fillna(0).astype(int)


__all__ = ["by_part", "load", "progress_file", "record", "summary"]  # the store's three re-exported
