"""Planning: parameters from the command line and the matrix file, the jobs a run executes, and every check
that runs before a kernel starts (:mod:`course_lib.params`)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import new_run_id, token, validate_name, validate_target
from ..errors import ConfigError
from ._discover import _NOTEBOOKS_HINT, Part, list_parts, notebooks_dir, parse_parts

#: Parameter names that must never be passed to a notebook (secrets come from the environment).
_SECRET_PARAM = re.compile(r"(token|secret|password|passwd|api[_-]?key|app[_-]?key|credential)", re.I)


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn ``["name=value", ...]`` into a dict; values are read as YAML scalars (numbers, booleans)."""
    import yaml

    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"cannot read parameter {pair!r}", hint="write parameters as -p name=value")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        params[name.strip()] = value
    return params


def read_matrix(path: str | Path) -> list[dict[str, Any]]:
    """Read a learners CSV: one row per learner, columns become notebook parameters."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read matrix file {str(path)!r}: {exc.strerror}",
            hint="give a CSV file with a header row, e.g. `learner,region` then one learner per line",
        ) from None
    rows = [dict(r) for r in csv.DictReader(text.splitlines())]
    if not rows:
        raise ConfigError(
            f"matrix file {str(path)!r} has no rows",
            hint="add a header row (e.g. `learner,region`) and at least one learner",
        )
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise ConfigError(
                f"matrix file {str(path)!r} line {i} does not have one value per column",
                hint="check the commas on that line",
            )
        out.append(parse_param_pairs(f"{k}={v}" for k, v in row.items()))
    learners = [str(r.get("learner", "")) for r in out]
    if "learner" in rows[0]:
        for name in learners:
            validate_name(name, what="learner", max_len=20)
        if len(set(learners)) != len(learners):
            raise ConfigError("matrix file has duplicate learners", hint="give every learner a unique name")
    return out


@dataclass(frozen=True)
class Job:
    """One notebook execution."""

    part: Part
    parameters: dict[str, Any]
    output: Path
    cwd: Path
    learner: str = ""
    #: the learner's own sandbox (its ``COURSE_STATE_DIR``) in a run with several learners; None: the default
    state_dir: Path | None = None
    #: run with the exercises' solutions in place of their placeholders (``course run --solutions``)
    solutions: bool = False


def _check_params(params: Mapping[str, Any], parts: Sequence[Part]) -> None:
    for name in params:
        if _SECRET_PARAM.search(name):
            raise ConfigError(
                f"parameter {name!r} looks like a secret; secrets are never notebook parameters",
                hint="put it in the environment instead (e.g. export DIGITALOCEAN_TOKEN) before running",
            )
    known = set().union(*(p.parameter_names for p in parts)) if parts else set()
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"unknown parameter(s): {', '.join(unknown)}",
            hint=f"the selected notebooks take: {', '.join(sorted(known)) or '(no parameters)'} (see `course list`)",
        )


def plan_jobs(
    *,
    parts: str | Iterable[int] | None = "all",
    target: str = "sandbox",
    params: Mapping[str, Any] | None = None,
    matrix: str | Path | None = None,
    out: str | Path = "runs",
    run_id: str | None = None,
    notebooks: Path | None = None,
) -> tuple[str, Path, list[Job]]:
    """Validate everything and return the jobs a run would execute; starts nothing."""
    validate_target(target)
    if target == "doks":
        token(required=True)
    available = list_parts(notebooks)
    if not available:
        raise ConfigError(f"no notebooks found in {notebooks or notebooks_dir()}", hint=_NOTEBOOKS_HINT)
    selected = parse_parts(parts, available)
    base = dict(params or {})
    _check_params(base, selected)
    rows = read_matrix(matrix) if matrix else [{}]
    if len(rows) > 1 and any("learner" not in row for row in rows):
        raise ConfigError(
            "the matrix file has several rows but no `learner` column",
            hint="add a `learner` column: it names each learner's folder and makes their resource names unique",
        )
    for row in rows:
        _check_params(row, selected)
    run_id = run_id or f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{new_run_id()}"
    run_dir = Path(out).resolve() / run_id
    jobs: list[Job] = []
    for row in rows:
        learner = str(row.get("learner", ""))
        folder = run_dir / learner if learner else run_dir
        for part in selected:
            merged = {**base, **row, "target": target}
            p = {k: v for k, v in merged.items() if k in part.parameter_names}
            jobs.append(Job(part, p, folder / part.path.name, folder / "work", learner))
    return run_id, run_dir, jobs


def _check_job_parameters(jobs: Sequence[Job]) -> None:
    """Every job's parameters that ``course_lib`` can judge (:mod:`course_lib.params`), learner named when a
    matrix gave them."""
    from ..params import check_parameters

    for job in jobs:
        try:
            check_parameters(job.parameters)
        except ConfigError as exc:
            who = f"learner {job.learner!r}, " if job.learner else ""
            raise ConfigError(f"{who}{job.part.path.name}: {exc.message}", hint=exc.hint) from None


def _learner_params(planned: Sequence[Job]) -> dict[str, dict[str, Any]]:
    """Every parameter each learner's notebooks received (the union over their parts)."""
    out: dict[str, dict[str, Any]] = {}
    for job in planned:
        out.setdefault(job.learner, {}).update(job.parameters)
    return out
