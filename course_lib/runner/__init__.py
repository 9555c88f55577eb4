"""Run course notebooks in batches with papermill, and write a report.

The instructor's tool (``course run``) and the maintainers' notebook builder (``course notebooks build``)
share this package. Everything is validated before the first kernel starts: unknown parts, unknown
parameters, a bad target, ``doks`` without a token, an unreadable matrix file, a parameter that
looks like a secret.

Example:
    >>> from course_lib import runner
    >>> [p.number for p in runner.list_parts()][:2]
    [0, 1]

The stages live in private modules: ``_discover`` (notebooks, parts, parameters), ``_plan`` (jobs, matrix rows,
parameter checks before any kernel), ``_execute`` (papermill, redaction, timeouts), ``_run`` (a batch: waves,
per-learner sandboxes), ``_kubernetes`` (the same batch as one Kubernetes Job per learner), ``_report`` (report.json / report.html, instructor summary) and ``_build``
(``course notebooks build``).

Used in: notebook 00 (batches with papermill), ``course run``, ``make run``.
"""

from __future__ import annotations

# ``X as X``: public helpers outside __all__ that callers reach as ``runner.<name>`` (the CLI, tests, notebook 00).
from ..config import TARGETS
from ._build import build_notebooks
from ._build import clean_executed as clean_executed
from ._build import read_source as read_source
from ._build import source_paths as source_paths
from ._discover import Parameter, Part, list_parts, parse_parts, parts_table
from ._discover import notebooks_dir as notebooks_dir
from ._execute import HTML_PLOTLY as HTML_PLOTLY
from ._execute import execute as execute
from ._execute import scrub_notebook_file as scrub_notebook_file
from ._kubernetes import KubernetesRunReport, LearnerJob, run_on_kubernetes
from ._kubernetes import job_manifest as job_manifest
from ._plan import Job, plan_jobs, read_matrix
from ._plan import parse_param_pairs as parse_param_pairs
from ._report import JobResult, RunReport, instructor_summary, learner_cost
from ._report import render_report_html as render_report_html
from ._report import write_report as write_report
from ._run import run_parts

__all__ = [
    "TARGETS",
    "Job",
    "JobResult",
    "KubernetesRunReport",
    "LearnerJob",
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
    "run_on_kubernetes",
    "run_parts",
]
