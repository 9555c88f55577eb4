"""Run course notebooks in batches with papermill, and write a report.

The instructor's tool (``course run``) and the maintainers' notebook builder (``course notebooks build``)
share this module. Everything is validated before the first kernel starts: unknown parts, unknown
parameters, a bad target, ``doks`` without a token, an unreadable matrix file, a parameter that
looks like a secret.

Example:
    >>> from course_lib import runner
    >>> [p.number for p in runner.list_parts()][:2]
    [0, 1]

Used in: notebook 00 (batches with papermill), ``course run``, ``make run``.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import TARGETS, new_run_id, token, using_state_dir, validate_name, validate_target
from .errors import ConfigError, RunError, redact, secret_values

#: Parameter names that must never be passed to a notebook (secrets come from the environment).
_SECRET_PARAM = re.compile(r"(token|secret|password|passwd|api[_-]?key|app[_-]?key|credential)", re.I)
_PART_FILE = re.compile(r"^(\d\d)_([a-z0-9_]+)\.ipynb$")


#: Where to get the notebooks when none are found (named in the error).
_NOTEBOOKS_HINT = (
    "the installed course_lib carries the library and its data, not the notebooks: run from the course repository "
    "(or a folder with its notebooks/), from inside that notebooks/ folder, or set COURSE_NOTEBOOKS=/path/to/notebooks"
)


def _holds_parts(folder: Path) -> bool:
    return folder.is_dir() and any(_PART_FILE.match(p.name) for p in folder.glob("*.ipynb"))


def notebooks_dir() -> Path:
    """The folder with the course notebooks (``NN_name.ipynb``, sources in its ``src/``).

    In order: ``$COURSE_NOTEBOOKS``; the checkout this package runs from (``notebooks/`` beside ``course_lib/``,
    as in an editable install); ``./notebooks`` in the current folder; the current folder itself when it holds
    the notebooks (a kernel started by JupyterLab runs there). A wheel does not ship the notebooks: learners
    open, edit and keep them, so they come from the course repository or a download of its ``notebooks/``.

    Raises:
        ConfigError: none of these holds a course notebook; the hint says where to point it.
    """
    override = os.environ.get("COURSE_NOTEBOOKS")
    if override:
        return Path(override)
    beside = Path(__file__).resolve().parents[1] / "notebooks"  # not package data: the checkout, if there is one
    if beside.is_dir():
        return beside
    for folder in (Path.cwd() / "notebooks", Path.cwd()):
        if _holds_parts(folder):
            return folder
    where = ", ".join(str(p) for p in (beside, Path.cwd() / "notebooks", Path.cwd()))
    raise ConfigError(
        f"no course notebooks found (COURSE_NOTEBOOKS is not set; looked in {where})", hint=_NOTEBOOKS_HINT
    )


@contextlib.contextmanager
def _notebooks_for_kernel(folder: Path) -> Iterator[None]:
    """Kernels started inside the block find the notebooks where this run found them (``COURSE_NOTEBOOKS``):
    they run in the run's work folder, where :func:`notebooks_dir` would not."""
    old = os.environ.get("COURSE_NOTEBOOKS")
    os.environ["COURSE_NOTEBOOKS"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COURSE_NOTEBOOKS", None)
        else:
            os.environ["COURSE_NOTEBOOKS"] = old


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell."""

    name: str
    default: str
    type: str
    help: str = ""


@dataclass(frozen=True)
class Part:
    """One course notebook."""

    number: int
    slug: str
    title: str
    path: Path
    parameters: tuple[Parameter, ...]

    @property
    def parameter_names(self) -> set[str]:
        return {p.name for p in self.parameters}


def _title(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _read_part(path: Path) -> Part:
    import nbformat
    from papermill.inspection import inspect_notebook

    match = _PART_FILE.match(path.name)
    assert match, path
    nb = nbformat.read(path, as_version=4)
    params = tuple(
        Parameter(name=p["name"], default=p["default"], type=p["inferred_type_name"], help=p["help"])
        for p in inspect_notebook(str(path)).values()
    )
    return Part(int(match.group(1)), match.group(2), _title(nb), path, params)


def list_parts(directory: Path | None = None) -> list[Part]:
    """All course notebooks in order, with their titles and parameters.

    Used in: notebook 00, ``course list``.
    """
    directory = directory or notebooks_dir()
    paths = sorted(p for p in directory.glob("*.ipynb") if _PART_FILE.match(p.name))
    return [_read_part(p) for p in paths]


def parts_table(parts: Sequence[Part] | None = None) -> Any:
    """The parts as a pandas DataFrame (number, title, parameters)."""
    import pandas as pd

    parts = list_parts() if parts is None else parts
    columns = ["part", "notebook", "title", "parameters"]
    return pd.DataFrame(
        [
            {
                "part": p.number,
                "notebook": p.path.name,
                "title": p.title,
                "parameters": ", ".join(f"{x.name}={x.default}" for x in p.parameters),
            }
            for p in parts
        ],
        columns=columns,
    ).set_index("part")


def parse_parts(spec: str | Iterable[int] | None, available: Sequence[Part]) -> list[Part]:
    """Select parts by a spec like ``"0,3"``, ``"all"`` or a list of numbers; unknown numbers are an error."""
    by_number = {p.number: p for p in available}
    if spec is None or spec == "all":
        return list(available)
    if isinstance(spec, str):
        try:
            numbers = [int(x) for x in spec.replace(" ", "").split(",") if x]
        except ValueError:
            raise ConfigError(
                f"cannot read parts {spec!r}", hint="give part numbers separated by commas, e.g. --parts 0,3"
            ) from None
    else:
        numbers = list(spec)
    unknown = [n for n in numbers if n not in by_number]
    if unknown or not numbers:
        raise ConfigError(
            f"unknown part(s): {', '.join(map(str, unknown)) or '(none given)'}",
            hint=f"available parts: {', '.join(str(n) for n in sorted(by_number))} (see `course list`)",
        )
    return [by_number[n] for n in dict.fromkeys(numbers)]


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


@dataclass
class JobResult:
    notebook: str
    part: int
    learner: str
    parameters: dict[str, Any]
    status: str  # "ok" | "failed"
    seconds: float
    output: str
    failing_cell: int | None = None
    error: str | None = None
    redacted: bool = False
    html: str | None = None
    html_seconds: float | None = None
    html_error: str | None = None


@dataclass
class RunReport:
    """What a batch run did; written as ``report.json`` and ``report.html``."""

    run_id: str
    target: str
    started: str
    seconds: float
    out_dir: str
    results: list[JobResult] = field(default_factory=list)
    #: the instructor summary (:func:`instructor_summary`): learner x part table, totals, estimated costs
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d

    def _repr_html_(self) -> str:
        return render_report_html(self)


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


def scrub_notebook_file(path: Path) -> bool:
    """Replace any secret value from the environment in an output notebook; True if one was found."""
    text = path.read_text(encoding="utf-8")
    clean = redact(text)
    if clean != text:
        path.write_text(clean, encoding="utf-8")
        return True
    return False


@contextlib.contextmanager
def _kernel_config() -> Iterator[Any]:
    """Kernels talk to the runner over Unix sockets (ZeroMQ ``ipc``), not TCP ports: nothing listens on the
    network, and the kernel does not warn about unencrypted TCP once per notebook. Each kernel gets its own
    short-lived folder for its sockets, so kernels running in parallel never share one."""
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="course-kernel-") as folder:  # short: socket paths max ~100 chars
        yield Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "k")}})


#: How ``course run`` gives exported HTML its plotly.js: in every file, or once per run folder.
HTML_PLOTLY = ("embed", "shared")


def execute(
    job: Job,
    *,
    kernel_name: str = "python3",
    timeout: int = 900,
    html: bool = False,
    plotly_js_file: Path | None = None,
) -> JobResult:
    """Execute one job with papermill; never raises for a failing notebook (the result says so).

    With ``html=True`` the executed notebook (even a failed one, up to where it stopped) is also written as an
    HTML file next to it, plots included (:func:`course_lib.export.export_html`): self-contained, or loading
    ``plotly_js_file`` by relative path when one is given.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    job.output.parent.mkdir(parents=True, exist_ok=True)
    job.cwd.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    status, cell, error = "ok", None, None
    try:
        learner_sandbox = using_state_dir(job.state_dir) if job.state_dir else contextlib.nullcontext()
        source = _solved_copy(job) if job.solutions else job.part.path
        with learner_sandbox, _notebooks_for_kernel(job.part.path.parent), _kernel_config() as kernel_config:
            papermill.execute_notebook(
                str(source),
                str(job.output),
                parameters=dict(job.parameters),
                kernel_name=kernel_name,
                progress_bar=False,
                cwd=str(job.cwd),
                execution_timeout=timeout,
                config=kernel_config,
            )
    except PapermillExecutionError as exc:
        status, cell, error = "failed", exc.cell_index, f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, timeout, unreadable notebook ...
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    redacted = job.output.exists() and scrub_notebook_file(job.output)
    html_path, html_seconds, html_error = None, None, None
    if html and job.output.exists():
        from .export import export_html

        try:
            exported = export_html(job.output, plotly_js_file=plotly_js_file)
            html_path, html_seconds = str(exported.path), exported.seconds
        except Exception as exc:  # an export problem must not hide the notebook's own result
            html_error = redact(f"{type(exc).__name__}: {exc}")
    return JobResult(
        notebook=job.part.path.name,
        part=job.part.number,
        learner=job.learner,
        parameters=dict(job.parameters),
        status=status,
        seconds=round(time.perf_counter() - start, 2),
        output=str(job.output),
        failing_cell=cell,
        error=redact(error) if error else None,
        redacted=redacted,
        html=html_path,
        html_seconds=html_seconds,
        html_error=html_error,
    )


def _check_job_parameters(jobs: Sequence[Job]) -> None:
    """Every job's parameters that ``course_lib`` can judge (:mod:`course_lib.params`), learner named when a
    matrix gave them."""
    from .params import check_parameters

    for job in jobs:
        try:
            check_parameters(job.parameters)
        except ConfigError as exc:
            who = f"learner {job.learner!r}, " if job.learner else ""
            raise ConfigError(f"{who}{job.part.path.name}: {exc.message}", hint=exc.hint) from None


def _solved_copy(job: Job) -> Path:
    """The job's notebook with the exercises' solutions in place of the placeholders, next to its output."""
    import nbformat

    from .solutions import inject

    notebook = nbformat.read(job.part.path, as_version=4)
    inject(notebook, job.part.number)
    path = job.output.with_name(f".solved-{job.part.path.name}")
    nbformat.write(notebook, path)
    return path


def run_parts(
    parts: str | Iterable[int] | None = "all",
    *,
    target: str = "sandbox",
    params: Mapping[str, Any] | None = None,
    matrix: str | Path | None = None,
    out: str | Path = "runs",
    jobs: int = 1,
    progress: bool = True,
    notebooks: Path | None = None,
    html: bool = True,
    html_plotly: str = "embed",
    solutions: bool = False,
) -> RunReport:
    """Run course notebooks and write ``report.json`` / ``report.html`` next to the outputs.

    Args:
        parts: ``"all"``, ``"0,3"`` or numbers.
        target: ``sandbox`` | ``kubeconfig`` | ``doks``.
        params: parameters for every notebook that declares them (never secrets).
        matrix: a CSV with one row per learner; its columns become parameters.
        out: the folder that receives ``<run-id>/``.
        jobs: notebooks executed in parallel.
        html: also write each executed notebook as HTML with its plots (offline), linked from report.html.
        html_plotly: ``embed`` puts plotly.js (~4.6 MB) in every HTML file, so each works on its own;
            ``shared`` writes it once into the run folder and the files load it from there (for classes).
        solutions: run with the exercises' solutions (``course_lib/data/solutions``) in place of the learners'
            placeholders (instructors, and the course's own tests).

    With a matrix, report.html and report.json also hold an instructor summary: a learner x part table
    (status, seconds), per-learner totals and, on ``doks``, each learner's estimated cost. Each learner of a
    matrix gets a private sandbox (stack and control plane, started when a notebook first needs them and
    stopped after their last notebook), so learners running in parallel never see each other's faults,
    alerts or objects.

    Example:
        >>> report = run_parts("0", out="/tmp/runs")  # doctest: +SKIP
        >>> report.ok  # doctest: +SKIP
        True

    Used in: notebook 00, ``course run``.
    """
    from tqdm.auto import tqdm

    from .sandbox._stack import stop_and_delete

    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}", hint="use --jobs 1 for one notebook at a time")
    if html_plotly not in HTML_PLOTLY:
        raise ConfigError(f"unknown --html-plotly {html_plotly!r}", hint=f"choose one of: {', '.join(HTML_PLOTLY)}")
    run_id, run_dir, planned = plan_jobs(
        parts=parts, target=target, params=params, matrix=matrix, out=out, notebooks=notebooks
    )
    _check_job_parameters(planned)  # before any kernel, sandbox or folder: the notebook's own message
    if solutions:
        planned = [dataclasses.replace(job, solutions=True) for job in planned]
    run_dir.mkdir(parents=True, exist_ok=True)
    plotly_file = None
    if html and html_plotly == "shared":
        from .export import shared_plotly_js

        plotly_file = shared_plotly_js(run_dir)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    results: list[JobResult] = []
    sandboxes: dict[str, Path] = {}
    learners = sorted({job.learner for job in planned})
    if len(learners) > 1:
        sandboxes = {name: Path(tempfile.mkdtemp(prefix=f"course-{name}-")) for name in learners}
        planned = [dataclasses.replace(job, state_dir=sandboxes[job.learner]) for job in planned]
    remaining = collections.Counter(job.learner for job in planned)

    progress_by_learner: dict[str, dict[str, Any]] = {}

    def keep_progress(learner: str, state: Path | None) -> None:
        from ._progress_store import load

        with using_state_dir(state) if state else contextlib.nullcontext():
            progress_by_learner[learner] = load()

    def done(job: Job) -> None:
        remaining[job.learner] -= 1
        bar.update()
        if remaining[job.learner] == 0:
            keep_progress(job.learner, sandboxes.get(job.learner))
            if job.learner in sandboxes:
                stop_and_delete(sandboxes.pop(job.learner))

    bar = tqdm(total=len(planned), desc=f"course run {run_id}", unit="nb", disable=not progress)
    try:
        if jobs == 1:
            for job in planned:
                bar.set_postfix_str(job.output.name)
                results.append(execute(job, html=html, plotly_js_file=plotly_file))
                done(job)
        else:
            # A notebook that stops the shared sandbox at its end (part 11: `stop_sandbox`) must not run while
            # others still use it: in parallel runs it starts once every other notebook has finished.
            finishers = [i for i, job in enumerate(planned) if _stops_sandbox(job)]
            waves = [[i for i in range(len(planned)) if i not in finishers], finishers]
            by_index: dict[int, JobResult] = {}
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for wave in waves:
                    futures: dict[int, Future[JobResult]] = {
                        i: pool.submit(execute, planned[i], html=html, plotly_js_file=plotly_file) for i in wave
                    }
                    for i, fut in futures.items():
                        by_index[i] = fut.result()
                        done(planned[i])
            results = [by_index[i] for i in range(len(planned))]
    finally:
        bar.close()
        for path in sandboxes.values():  # learners whose notebooks did not all finish
            stop_and_delete(path)
    report = RunReport(
        run_id=run_id,
        target=target,
        started=started.isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - t0, 2),
        out_dir=str(run_dir),
        results=results,
        summary=instructor_summary(
            results, target=target, learner_params=_learner_params(planned), progress=progress_by_learner
        ),
    )
    write_report(report, run_dir)
    return report


def _stops_sandbox(job: Job) -> bool:
    """Whether this notebook stops the shared sandbox when it ends: it declares ``stop_sandbox`` and the value it
    gets is true (parameters arrive parsed, as the notebook's ``if stop_sandbox`` will read them)."""
    return "stop_sandbox" in job.part.parameter_names and bool(job.parameters.get("stop_sandbox", True))


def _learner_params(planned: Sequence[Job]) -> dict[str, dict[str, Any]]:
    """Every parameter each learner's notebooks received (the union over their parts)."""
    out: dict[str, dict[str, Any]] = {}
    for job in planned:
        out.setdefault(job.learner, {}).update(job.parameters)
    return out


def learner_cost(params: Mapping[str, Any], *, seconds: float) -> dict[str, Any]:
    """The estimated DigitalOcean cost of one learner's cluster, from the parameters their notebooks got.

    The cluster is the one notebook 01 builds (``Settings.resource_name("cluster")``, ``node_size``,
    ``node_count``, ``region``, ``ha``, with the course's load balancers and volumes), priced with the dated
    offline snapshot; ``run`` is the hourly price times the time the learner's notebooks ran.

    Example:
        >>> learner_cost({"learner": "ada", "node_count": 2}, seconds=3600)["cluster"]
        'course-ada-cluster'
    """
    from .config import Settings
    from .errors import CourseError
    from .provision import ClusterSpec, estimate_cost, snapshot_options

    try:
        settings = Settings(learner=str(params.get("learner") or "learner"))
        spec = ClusterSpec.single_pool(
            settings.resource_name("cluster"),
            region=str(params.get("region", "nyc1")),
            size=str(params.get("node_size", "s-2vcpu-4gb")),
            count=int(params.get("node_count", 2)),
            ha=bool(params.get("ha", False)),
        )
        options = snapshot_options()
        estimate = estimate_cost(spec.validate(options), options=options)
    except (CourseError, TypeError, ValueError) as exc:
        message = exc.message if isinstance(exc, CourseError) else str(exc)
        return {"cluster": None, "hourly": None, "run": None, "text": f"n/a ({message})"}
    run = estimate.hourly * seconds / 3600
    return {
        "cluster": spec.name,
        "hourly": round(estimate.hourly, 4),
        "run": round(run, 2),
        "text": f"{run:.2f}",
        "prices": f"snapshot {estimate.snapshot_date}" if estimate.snapshot_date else estimate.source,
    }


def instructor_summary(
    results: Sequence[JobResult],
    *,
    target: str,
    learner_params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A learner x part table (status and seconds per cell), per-learner totals, exercises passed (from each
    learner's progress, ``course_lib.progress``) and estimated costs.

    Costs are estimated only for ``target="doks"`` (:func:`learner_cost`); elsewhere nothing is billed and
    the cost reads ``0.00 (sandbox)`` (or ``(kubeconfig)``: your own cluster, priced by whoever runs it).

    Used in: report.html / report.json of ``course run``.
    """
    parts = sorted({r.part for r in results})
    learners = list(dict.fromkeys(r.learner for r in results))
    rows = []
    for learner in learners:
        mine = [r for r in results if r.learner == learner]
        seconds = round(sum(r.seconds for r in mine), 2)
        cells = {str(r.part): {"status": r.status, "seconds": r.seconds} for r in mine}
        if target == "doks":
            cost = learner_cost((learner_params or {}).get(learner, {"learner": learner or "learner"}), seconds=seconds)
        else:
            note = "sandbox" if target == "sandbox" else f"{target}: a cluster the course did not create"
            cost = {"cluster": None, "hourly": 0.0, "run": 0.0, "text": f"0.00 ({note})"}
        rows.append(
            {
                "learner": learner,
                "parts": cells,
                "passed": sum(r.status == "ok" for r in mine),
                "failed": sum(r.status != "ok" for r in mine),
                "seconds": seconds,
                "cost": cost,
                "exercises": {
                    "attempted": sum(bool(e.get("attempted")) for e in (progress or {}).get(learner, {}).values()),
                    "passed": sum(bool(e.get("passed")) for e in (progress or {}).get(learner, {}).values()),
                },
            }
        )
    return {"target": target, "parts": parts, "learners": rows}


def write_report(report: RunReport, run_dir: Path) -> None:
    data = json.dumps(report.to_dict(), indent=2, default=str)
    (run_dir / "report.json").write_text(redact(data), encoding="utf-8")
    (run_dir / "report.html").write_text(redact(render_report_html(report)), encoding="utf-8")


def _relative(path: str | None, base: str) -> str | None:
    if not path:
        return None
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def render_report_html(report: RunReport) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("course_lib", "templates"), autoescape=True)
    rows = []
    for x in report.results:
        rows.append(
            {
                **asdict(x),
                "link": _relative(x.output, report.out_dir),
                "html_link": _relative(x.html, report.out_dir),
                "params": ", ".join(f"{k}={v}" for k, v in x.parameters.items()),
            }
        )
    view = {**asdict(report), "results": rows}
    return env.get_template("report.html.j2").render(r=view, s=report.summary or {})


# --- building the committed notebooks from their jupytext sources -------------------------------

_VOLATILE_CELL_META = ("papermill", "execution")


def source_paths(parts: str | Iterable[int] | None = None) -> list[Path]:
    """The jupytext sources ``notebooks/src/NN_*.md``, optionally filtered by part number."""
    src = notebooks_dir() / "src"
    paths = sorted(src.glob("[0-9][0-9]_*.md"))
    if parts in (None, "all"):
        return paths
    wanted = {int(x) for x in (parts.split(",") if isinstance(parts, str) else parts)}
    known = {int(p.name[:2]) for p in paths}
    if wanted - known:
        raise ConfigError(
            f"no notebook source for part(s) {sorted(wanted - known)}",
            hint=f"sources exist for: {sorted(known)}",
        )
    return [p for p in paths if int(p.name[:2]) in wanted]


def read_source(path: Path) -> Any:
    """Read a jupytext Markdown source into an nbformat notebook."""
    import jupytext

    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def clean_executed(nb: Any) -> Any:
    """Drop metadata that changes on every execution (papermill timings, random cell ids), keep outputs."""
    nb.metadata.pop("papermill", None)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"  # stable ids: a rebuild changes only what really changed
        for key in _VOLATILE_CELL_META:
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags") == []:
            cell.metadata.pop("tags")
    return nb


def build_notebooks(
    parts: str | Iterable[int] | None = None, *, execute_cells: bool = True, progress: bool = True
) -> list[Path]:
    """Build ``notebooks/NN_*.ipynb`` from their sources and execute them on a fresh, private sandbox.

    The sandbox (stack and control plane) is started for the build and stopped afterwards, so the committed
    outputs never depend on what a sandbox that happens to be running holds.

    Used by ``make notebooks`` / ``course notebooks build``.
    """
    import nbformat
    from tqdm.auto import tqdm

    from .sandbox import isolated

    for src in source_paths():  # every part must exist as a notebook so part 0's course map is complete
        placeholder = notebooks_dir() / f"{src.stem}.ipynb"
        if not placeholder.exists():
            nbformat.write(read_source(src), placeholder)
    built: list[Path] = []
    with isolated(prefix="course-build-"):
        for src in tqdm(source_paths(parts), desc="building notebooks", unit="nb", disable=not progress):
            built.append(_build_one(src, execute_cells=execute_cells))
    return built


def _build_one(src: Path, *, execute_cells: bool) -> Path:
    """Convert one source, execute it in a temporary folder, and write the cleaned notebook in place."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    target = notebooks_dir() / f"{src.stem}.ipynb"
    with tempfile.TemporaryDirectory(prefix="course-nb-") as tmp:
        raw = Path(tmp) / target.name
        nbformat.write(read_source(src), raw)
        out = Path(tmp) / f"out-{target.name}"
        if execute_cells:
            try:
                with _kernel_config() as kernel_config:
                    papermill.execute_notebook(
                        str(raw), str(out), kernel_name="python3", progress_bar=False, cwd=tmp, config=kernel_config
                    )
            except PapermillExecutionError as exc:
                raise RunError(
                    f"{src.name} failed in cell {exc.cell_index}: {exc.ename}: {exc.evalue}",
                    hint="fix the source or the library, then build again",
                    notebook=src.name,
                ) from None
        else:
            shutil.copy(raw, out)
        executed = clean_executed(nbformat.read(out, as_version=4))
    text = redact(nbformat.writes(executed)) + "\n"
    if any(v in text for v in secret_values()):  # pragma: no cover - redact() guarantees this
        raise RunError("a secret survived redaction", hint="report this as a bug")
    target.write_text(text, encoding="utf-8")
    return target


__all__ = [
    "TARGETS",
    "Job",
    "JobResult",
    "Parameter",
    "Part",
    "RunReport",
    "build_notebooks",
    "instructor_summary",
    "learner_cost",
    "list_parts",
    "parse_parts",
    "parts_table",
    "plan_jobs",
    "read_matrix",
    "run_parts",
]
