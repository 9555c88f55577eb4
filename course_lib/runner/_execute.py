"""Execution: one job with papermill (kernel over Unix sockets, timeouts, the learner's sandbox), secrets
redacted from its output, optional HTML export."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import using_state_dir
from ..errors import redact
from ._plan import Job
from ._report import JobResult


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
        from ..export import export_html

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


def _solved_copy(job: Job) -> Path:
    """The job's notebook with the exercises' solutions in place of the placeholders, next to its output."""
    import nbformat

    from ..solutions import inject

    notebook = nbformat.read(job.part.path, as_version=4)
    inject(notebook, job.part.number)
    path = job.output.with_name(f".solved-{job.part.path.name}")
    nbformat.write(notebook, path)
    return path
