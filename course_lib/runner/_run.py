"""A batch: plan, check, execute (one at a time or in parallel waves, a private sandbox per learner of a
matrix), report."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..config import using_state_dir
from ..errors import ConfigError
from ..session import KEEP_SERVICES
from ._execute import HTML_PLOTLY, execute
from ._plan import Job, _check_job_parameters, _learner_params, plan_jobs
from ._report import JobResult, RunReport, instructor_summary, write_report


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

    from ..sandbox._stack import stop_and_delete

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
        from ..export import shared_plotly_js

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
        from .._progress_store import load

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
            # parts of one sandbox run side by side: none may stop the services another uses (cl.start(part=N));
            # the workers (and their kernels) inherit this environment
            with _environment(KEEP_SERVICES, "1"), ProcessPoolExecutor(max_workers=jobs) as pool:
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


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` in this process's environment for the ``with`` block (a value already set wins)."""
    old = os.environ.get(name)
    os.environ.setdefault(name, value)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
