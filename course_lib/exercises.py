"""Automatic checks for the "Your turn" exercises.

Each exercise registers a function that takes the learner's answer and returns a :class:`CheckResult`:
passed or not, and on a wrong answer a specific message and a hint — never the full solution.

Checks that a domain wrote as plain functions (``provision.check_budget_spec``, ``provision.check_leftover_kinds``,
``observe.check_error_ratio``) are registered here under ids too, so every exercise is reachable the same way:
``cl.check(id, answer, **context)``, and listed by :func:`exercises`.

A learner's saved answers can be checked in one go (``course check --part N --answers answers.yaml``). The file maps
exercise ids to answers, in YAML or JSON; an answer is whatever the notebook's answer cell holds, written as data::

    # answers.yaml
    00-learners-csv: |
      learner
      ada
      bob
      cy
    01-budget-spec: {name: course-ada, size: s-2vcpu-4gb, count: 2}   # or {name, region, node_pools: [{size, count}]}
    03-error-ratio: sum(rate(checkout_requests_total{status=~"5.."}[5m])) / sum(rate(checkout_requests_total[5m]))
    03-dashboard-panel: {"uid": "checkout", "panels": [...]}   # the dashboard JSON model, or its text
    04-canary-75-25: {v1: 75, v2: 25}
    08-recovery-target: "2026-11-25T16:35:00Z"
    11-leftover-kinds: [load_balancer, volume, snapshot]

Example:
    >>> check("00-learners-csv", "learner\\nada\\nbob\\ncy").passed
    True

Used in: every notebook's "Your turn" section, ``course check``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, CourseError, SandboxError

CheckFn = Callable[..., "CheckResult"]
_REGISTRY: dict[str, CheckFn] = {}
#: exercises checked only against a run in the notebook (a drill's), never from an answers file
_LIVE: set[str] = set()


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer.

    Attributes:
        attempted: ``False`` while the answer is still the notebook's placeholder (``...``).
        tries: how many answers to this exercise were checked so far (the placeholder not counted), when known.
    """

    exercise: str
    passed: bool
    message: str
    hint: str = ""
    attempted: bool = True
    tries: int = 0

    def __bool__(self) -> bool:
        return self.passed

    @property
    def mark(self) -> str:
        if not self.attempted:
            return "⏳ Not yet attempted"
        return "✅ Correct" if self.passed else "❌ Not yet"

    def __str__(self) -> str:
        text = f"{self.mark} — {self.message}"
        return text + (f"\n   Hint: {self.hint}" if self.hint and not self.passed else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.passed else ("#9a6700" if not self.attempted else "#cf222e")
        mark = self.mark
        hint = f"<br><i>Hint:</i> {html.escape(self.hint)}" if self.hint and not self.passed else ""
        return f'<div style="border-left:4px solid {color};padding:.4em .8em"><b>{mark}</b> — {html.escape(self.message)}{hint}</div>'


def exercise(name: str, *, live: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under an exercise id such as ``"03-error-ratio"``.

    Args:
        live: the answer is a run in the notebook (a drill's), so ``course check`` on an answers file passes it over.
    """

    def register(fn: CheckFn) -> CheckFn:
        _REGISTRY[name] = fn
        if live:
            _LIVE.add(name)
        return fn

    return register


def exercises(*, part: int | None = None) -> list[str]:
    """The ids of every registered exercise (``NN-name``), optionally only those of one part.

    Example:
        >>> exercises(part=0)
        ['00-learners-csv']
    """
    _load_all()
    if part is None:
        return sorted(_REGISTRY)
    return sorted(n for n in _REGISTRY if n.startswith(f"{part:02d}-"))


def describe(name: str) -> str:
    """The first line of an exercise's check docstring: what the answer should be."""
    _load_all()
    fn = _REGISTRY.get(name)
    if fn is None:
        raise ConfigError(f"unknown exercise {name!r}", hint=f"known exercises: {', '.join(sorted(_REGISTRY))}")
    return (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""


#: Modules that register exercises, in course order; each keeps its own checks.
EXERCISE_MODULES: tuple[str, ...] = (
    "course_lib.provision",
    "course_lib.observe",
    "course_lib.manifests",
    "course_lib.cluster",
    "course_lib.postgres",
    "course_lib.regions",
    "course_lib.capstone",
    "course_lib.traffic",
    "course_lib.charts",
    "course_lib.gitops",
    "course_lib.policy",
    "course_lib.drills",
)


def _load_all() -> None:
    """Import every module of :data:`EXERCISE_MODULES`; one that fails to import fails loudly (its exercises
    would otherwise silently disappear)."""
    import importlib

    for module in EXERCISE_MODULES:
        importlib.import_module(module)


def check(name: str, answer: Any, **context: Any) -> CheckResult:
    """Check a learner's answer to exercise ``name``.

    Args:
        name: the exercise id shown in the notebook, e.g. ``"00-learners-csv"``.
        answer: whatever the exercise asks for (text, a dict, a query ...).
        **context: extra inputs some checks need (e.g. a Prometheus client).
    """
    return _check(name, answer, context, record=True)


def _check(name: str, answer: Any, context: Mapping[str, Any], *, record: bool) -> CheckResult:
    """:func:`check`; ``record=False`` leaves the learner's progress alone (``course check`` on a file)."""
    if name not in _REGISTRY:
        _load_all()
    fn = _REGISTRY.get(name)
    if fn is None:
        raise ConfigError(f"unknown exercise {name!r}", hint=f"known exercises: {', '.join(sorted(_REGISTRY))}")
    from . import _progress_store as progress

    if answer is Ellipsis:  # the notebook's placeholder, untouched
        result = CheckResult(
            name,
            False,
            "still the placeholder: replace the `...` in the cell above with your answer, run it, then run this cell",
            hint=describe(name),
            attempted=False,
        )
        if record:
            progress.record(result)
        return result
    try:
        result = fn(answer, **context)
    except CourseError as exc:  # a library error caused by the answer is feedback, not a crash
        result = CheckResult(name, False, exc.message, exc.hint)
    tries = progress.record(result) if record else 0
    if not result.passed:
        result = dataclasses.replace(result, hint=hint_ladder(name, result.hint, tries), tries=tries)
    else:
        result = dataclasses.replace(result, tries=tries)
    return result


def hints(name: str) -> tuple[str, ...]:
    """The exercise's hint ladder (``course_lib/data/exercises/hints.yaml``): a nudge first, then the field or
    command that matters. Never the answer."""
    return tuple(_hint_ladders().get(name, ()))


def _hint_ladders() -> dict[str, list[str]]:
    from ._resources import data_path

    return _read_ladders(str(data_path("exercises", "hints.yaml")))


@functools.cache
def _read_ladders(path: str) -> dict[str, list[str]]:
    """The ladders file, read once per path (every wrong answer asks for it)."""
    import yaml

    file = Path(path)
    return dict(yaml.safe_load(file.read_text()) or {}) if file.is_file() else {}


def hint_ladder(name: str, own_hint: str, tries: int) -> str:
    """The hint for the ``tries``-th wrong answer: the check's own hint first; from the second wrong answer on,
    the next rung of :func:`hints` is added (the last rung repeats)."""
    ladder = hints(name)
    if tries < 2 or not ladder:
        return own_hint
    rung = ladder[min(tries - 2, len(ladder) - 1)]
    return f"{own_hint} — next step: {rung}" if own_hint else rung


# --- Part 0 -----------------------------------------------------------------------------------


@exercise("00-learners-csv")
def _learners_csv(answer: str) -> CheckResult:
    """Part 0: a learners CSV for a classroom batch (at least three unique, valid learner names)."""
    from .config import validate_name
    from .runner._plan import _SECRET_PARAM

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


# --- Checks written as plain functions in their domain packages, registered under ids ---------------


def _as_cluster_spec(answer: Any) -> Any:
    """A ``ClusterSpec`` from a spec, or from data: ``{name, size, count, ...}`` or ``{name, node_pools: [...]}``."""
    from .provision import ClusterSpec, NodePool

    if isinstance(answer, ClusterSpec) or not isinstance(answer, Mapping):
        return answer  # check_budget_spec names the wrong type
    data = dict(answer)
    try:
        if "node_pools" in data:
            pools = tuple(NodePool(**dict(p)) for p in data.pop("node_pools") or ())
            return ClusterSpec(node_pools=pools, **data)
        return ClusterSpec.single_pool(data.pop("name", ""), **data)
    except TypeError as exc:
        raise ConfigError(
            f"cannot build a cluster spec from {sorted(answer)}: {exc}",
            hint="write {name: course-you, size: s-2vcpu-4gb, count: 2} or {name: ..., node_pools: [{size: ..., count: ...}]}",
        ) from None


@exercise("01-budget-spec")
def _budget_spec(answer: Any, *, budget_monthly: float = 80.0) -> CheckResult:
    """Part 1: a ClusterSpec (or its data) with >= 2 nodes of >= 4 GiB that costs at most $80/month with the add-ons."""
    from .provision import check_budget_spec

    message = check_budget_spec(_as_cluster_spec(answer), budget_monthly=budget_monthly)
    return CheckResult("01-budget-spec", True, message.removeprefix("✅ "))


def _sandbox_prometheus() -> Any:
    """The running sandbox's Prometheus, or a :class:`SandboxError` that says how to start it."""
    from .observe import Prometheus
    from .sandbox import status

    for svc in status().services:
        if svc.name == "prometheus" and svc.healthy:
            return Prometheus(svc.url)
    raise SandboxError(
        "this check runs your query on a live Prometheus, and no sandbox Prometheus is running",
        hint="start it with `course sandbox up` (wait a minute for traffic), or pass prom=... / --prometheus URL",
    )


@exercise("03-error-ratio")
def _error_ratio(answer: Any, *, prom: Any = None, rel_tol: float = 1e-6) -> CheckResult:
    """Part 3: a PromQL query for the share of checkout requests that failed (5xx) over 5 minutes (needs Prometheus)."""
    from .observe import check_error_ratio

    if not isinstance(answer, str):
        return CheckResult(
            "03-error-ratio",
            False,
            f"the answer is a {type(answer).__name__}, not PromQL text.",
            "write it as a string",
        )
    if prom is None:
        prom = _sandbox_prometheus()
    elif isinstance(prom, str):
        from .observe import Prometheus

        prom = Prometheus(prom)
    result = check_error_ratio(prom, answer, rel_tol=rel_tol)
    return CheckResult("03-error-ratio", True, result.message)


@exercise("03-dashboard-panel")
def _dashboard_panel(answer: Any) -> CheckResult:
    """Part 3: the checkout dashboard with one more panel, the 5xx requests per second (PromQL, with a unit)."""
    from .observe import check_dashboard_panel

    sdk_object = hasattr(answer, "build") or hasattr(answer, "to_json")
    if answer is not Ellipsis and not sdk_object and not isinstance(answer, str | bytes | Mapping):
        return CheckResult(
            "03-dashboard-panel",
            False,
            f"the answer is a {type(answer).__name__}, not a dashboard.",
            "answer with the dashboard builder, its JSON text (observe.dashboard_json(builder)) or that JSON as a dict",
        )
    return CheckResult("03-dashboard-panel", True, check_dashboard_panel(answer))


@exercise("11-leftover-kinds")
def _leftover_kinds(answer: Any) -> CheckResult:
    """Part 11: the resource kinds that can outlive the cluster (from droplet, load_balancer, volume, snapshot)."""
    from .provision import check_leftover_kinds

    if not isinstance(answer, str | Sequence | set | frozenset):
        return CheckResult(
            "11-leftover-kinds",
            False,
            f"the answer is a {type(answer).__name__}, not a list of kinds.",
            "write a list such as ['volume']",
        )
    return CheckResult("11-leftover-kinds", True, check_leftover_kinds(answer).removeprefix("✅ "))


# --- A learner's saved answers, checked in one go (``course check``) ------------------------------


@dataclass(frozen=True)
class AnswerRow:
    """One exercise in an answers report: ``status`` is ``pass``, ``fail`` or ``missing`` (no answer given)."""

    exercise: str
    status: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class AnswersReport:
    """The verdicts on a file of answers; ``ok`` only when every selected exercise passed."""

    source: str
    rows: tuple[AnswerRow, ...]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.status == "pass" for r in self.rows)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "missing": 0}
        for r in self.rows:
            out[r.status] += 1
        return out

    def table(self) -> str:
        """A plain-text pass/fail table (what ``course check`` prints)."""
        width = max([len("exercise"), *(len(r.exercise) for r in self.rows)])
        lines = [f"{'exercise':<{width}}  {'result':<7}  message", f"{'-' * width}  {'-' * 7}  {'-' * 40}"]
        for r in self.rows:
            lines.append(f"{r.exercise:<{width}}  {r.status.upper():<7}  {r.message}")
            if r.hint and r.status != "pass":
                lines.append(f"{'':<{width}}  {'':<7}  hint: {r.hint}")
        c = self.counts()
        lines.append(f"\n{c['pass']} passed, {c['fail']} failed, {c['missing']} without an answer ({self.source})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def load_answers(path: str | Path) -> dict[str, Any]:
    """Read a learner's answers file (YAML or JSON) mapping exercise ids to answers.

    Unknown ids are refused (with the known ids named) before any check runs.

    Example:
        >>> load_answers("answers.yaml")  # doctest: +SKIP
        {'00-learners-csv': 'learner\\nada\\nbob\\ncy\\n'}
    """
    import yaml

    path = Path(path)
    how = "a YAML or JSON file mapping exercise ids to answers, e.g. `04-canary-75-25: {v1: 75, v2: 25}`"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read answers file {str(path)!r}: {exc.strerror}", hint=f"give {how}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"answers file {str(path)!r} is not valid: {first}", hint=f"write {how}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"answers file {str(path)!r} holds a {type(data).__name__}, not a mapping of exercise ids",
            hint=f"write {how}",
        )
    known = set(exercises())
    unknown = sorted(str(k) for k in data if str(k) not in known)
    if unknown:
        raise ConfigError(
            f"answers file {str(path)!r} names unknown exercise(s): {', '.join(unknown)}",
            hint=f"known exercises: {', '.join(sorted(known))}",
        )
    return {str(k): v for k, v in data.items()}


def _part_of(name: str) -> int | None:
    return int(name[:2]) if name[:2].isdigit() else None


def check_answers(
    answers: Mapping[str, Any],
    *,
    parts: Sequence[int] | None = None,
    context: Mapping[str, Mapping[str, Any]] | None = None,
    source: str = "answers",
) -> AnswersReport:
    """Run every selected exercise's check on the given answers.

    Args:
        answers: exercise id -> answer (see :func:`load_answers`).
        parts: only the exercises of these parts; every exercise of a selected part without an answer is ``missing``.
            ``None``: exactly the exercises that have an answer.
        context: exercise id -> extra keyword arguments for its check (e.g. ``{"03-error-ratio": {"prom": url}}``).
        source: a name for the answers, shown in the table.

    Example:
        >>> check_answers({"04-canary-75-25": {"v1": 75, "v2": 25}}).ok
        True

    Used in: ``course check``.
    """
    _load_all()
    if parts is None:
        names = sorted(answers)
    else:
        names = sorted({n for p in parts for n in exercises(part=p)} | {n for n in answers if _part_of(n) in parts})
    names = [n for n in names if n not in _LIVE]  # a drill is checked against its run in the notebook
    rows = []
    for name in names:
        if name not in answers:
            rows.append(AnswerRow(name, "missing", "no answer in the file", describe(name)))
            continue
        result = _check(name, answers[name], dict((context or {}).get(name, {})), record=False)
        rows.append(AnswerRow(name, "pass" if result.passed else "fail", result.message, result.hint))
    return AnswersReport(source=source, rows=tuple(rows))


__all__ = [
    "AnswerRow",
    "AnswersReport",
    "CheckResult",
    "check",
    "check_answers",
    "describe",
    "exercise",
    "exercises",
    "hint_ladder",
    "hints",
    "load_answers",
]
