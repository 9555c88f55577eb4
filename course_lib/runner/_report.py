"""Reports: the results of a run, the instructor summary (costs, exercises), ``report.json`` and
``report.html`` (the packaged Jinja template)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import redact


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


def learner_cost(params: Mapping[str, Any], *, seconds: float) -> dict[str, Any]:
    """The estimated DigitalOcean cost of one learner's cluster, from the parameters their notebooks got.

    The cluster is the one notebook 01 builds (``Settings.resource_name("cluster")``, ``node_size``,
    ``node_count``, ``region``, ``ha``, with the course's load balancers and volumes), priced with the dated
    offline snapshot; ``run`` is the hourly price times the time the learner's notebooks ran.

    Example:
        >>> learner_cost({"learner": "ada", "node_count": 2}, seconds=3600)["cluster"]
        'course-ada-cluster'
    """
    from ..config import Settings
    from ..errors import CourseError
    from ..provision import ClusterSpec, estimate_cost, snapshot_options

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
