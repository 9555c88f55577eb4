"""Automatic checks for the "Your turn" exercises.

Each exercise registers a function that takes the learner's answer and returns a :class:`CheckResult`:
passed or not, and on a wrong answer a specific message and a hint — never the full solution.

Example:
    >>> check("00-learners-csv", "learner\\nada\\nbob\\ncy").passed
    True

Used in: every notebook's "Your turn" section.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, CourseError

CheckFn = Callable[..., "CheckResult"]
_REGISTRY: dict[str, CheckFn] = {}


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer."""

    exercise: str
    passed: bool
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "✅ Correct" if self.passed else "❌ Not yet"
        text = f"{mark} — {self.message}"
        return text + (f"\n   Hint: {self.hint}" if self.hint and not self.passed else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.passed else "#cf222e"
        mark = "✅ Correct" if self.passed else "❌ Not yet"
        hint = f"<br><i>Hint:</i> {html.escape(self.hint)}" if self.hint and not self.passed else ""
        return f'<div style="border-left:4px solid {color};padding:.4em .8em"><b>{mark}</b> — {html.escape(self.message)}{hint}</div>'


def exercise(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under an exercise id such as ``"03-error-ratio"``."""

    def register(fn: CheckFn) -> CheckFn:
        _REGISTRY[name] = fn
        return fn

    return register


def exercises() -> list[str]:
    """The ids of every registered exercise."""
    _load_all()
    return sorted(_REGISTRY)


def _load_all() -> None:
    """Import the modules that register exercises (each domain keeps its own checks)."""
    import importlib

    for module in ("course_lib.provision", "course_lib.observe", "course_lib.manifests", "course_lib.cluster"):
        try:
            importlib.import_module(module)
        except ImportError:  # a domain that is not installed in this checkout
            continue


def check(name: str, answer: Any, **context: Any) -> CheckResult:
    """Check a learner's answer to exercise ``name``.

    Args:
        name: the exercise id shown in the notebook, e.g. ``"00-learners-csv"``.
        answer: whatever the exercise asks for (text, a dict, a query ...).
        **context: extra inputs some checks need (e.g. a Prometheus client).
    """
    if name not in _REGISTRY:
        _load_all()
    fn = _REGISTRY.get(name)
    if fn is None:
        raise ConfigError(f"unknown exercise {name!r}", hint=f"known exercises: {', '.join(sorted(_REGISTRY))}")
    try:
        return fn(answer, **context)
    except CourseError as exc:  # a library error caused by the answer is feedback, not a crash
        return CheckResult(name, False, exc.message, exc.hint)


# --- Part 0 -----------------------------------------------------------------------------------


@exercise("00-learners-csv")
def _learners_csv(answer: str) -> CheckResult:
    """Part 0: a learners CSV for a classroom batch (at least three unique, valid learner names)."""
    from .config import validate_name
    from .runner import _SECRET_PARAM

    name = "00-learners-csv"
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(name, False, "the answer should be the CSV text as a string.", 'start with "learner\\n..."')
    rows = list(csv.DictReader(answer.strip().splitlines()))
    header = list(rows[0].keys()) if rows else answer.strip().splitlines()[0].split(",")
    if "learner" not in header:
        return CheckResult(
            name, False, f"the header row is {header}, with no `learner` column.", "the first line names the columns"
        )
    secret = [c for c in header if _SECRET_PARAM.search(c)]
    if secret:
        return CheckResult(
            name,
            False,
            f"column {secret[0]!r} looks like a secret; a matrix file is stored and shared.",
            "tokens come from the environment, never from a parameter",
        )
    if len(rows) < 3:
        return CheckResult(name, False, f"found {len(rows)} learner(s); the class has at least three.", "one per line")
    learners = [r["learner"] for r in rows]
    for learner in learners:
        try:
            validate_name(learner or "", what="learner", max_len=20)
        except ConfigError as exc:
            return CheckResult(name, False, exc.message, "learner names become part of resource names")
    if len(set(learners)) != len(learners):
        return CheckResult(name, False, "two rows have the same learner.", "names must be unique per class")
    return CheckResult(name, True, f"{len(learners)} learners, every name usable in resource names.")


__all__ = ["CheckResult", "check", "exercise", "exercises"]
