"""``course list | run | doctor | notebooks``: thin click commands over runner/ and doctor.py."""

from __future__ import annotations

import sys

import click

from .config import TARGETS


@click.command("list")
def list_cmd() -> None:
    """List the course parts with their titles and parameters."""
    from .runner import list_parts

    for part in list_parts():
        click.secho(f"{part.number:>2}  {part.title}", bold=True)
        click.echo(f"    {part.path.name}")
        for p in part.parameters:
            click.echo(f"    - {p.name} = {p.default}  ({p.type}){'  ' + p.help if p.help else ''}")


@click.command("run")
@click.option("--parts", default=None, help="Comma-separated part numbers, e.g. 0,3.")
@click.option("--all", "all_parts", is_flag=True, help="Run every part.")
@click.option("--target", type=click.Choice(TARGETS), default="sandbox", show_default=True)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A notebook parameter.")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False))
@click.option("--jobs", default=1, show_default=True, type=int, help="Notebooks run in parallel.")
@click.option("--matrix", type=click.Path(), default=None, help="CSV with one row of parameters per learner.")
@click.option(
    "--html/--no-html",
    default=True,
    show_default=True,
    help="Also write each executed notebook as HTML with its plots (opens offline), linked from report.html.",
)
@click.option(
    "--html-plotly",
    type=click.Choice(["embed", "shared"]),
    default="embed",
    show_default=True,
    help="embed: plotly.js in every HTML file (each opens on its own); shared: once per run folder (~4.6 MB less "
    "per file, for classes; keep the folder together).",
)
@click.option(
    "--solutions", is_flag=True, help="Run with the exercises' solutions in place of the placeholders (instructors)."
)
@click.option(
    "--build-tools/--no-build-tools",
    default=True,
    show_default=True,
    envvar="COURSE_BUILD_TOOLS",
    help="On the sandbox, first build the pinned tools these parts need and do not have yet (`course tools`); "
    "COURSE_BUILD_TOOLS=0 turns it off.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "kubernetes"]),
    default="local",
    show_default=True,
    help="local: papermill on this machine; kubernetes: one Job per learner of --matrix on the --target cluster.",
)
@click.option("--image", default=None, help="kubernetes executor: the single-user image (name:tag) the Jobs run.")
@click.option("--namespace", default="course-runs", show_default=True, help="kubernetes executor: the Jobs' namespace.")
@click.option(
    "--kubeconfig", default=None, type=click.Path(dir_okay=False), help="kubernetes executor: the cluster's kubeconfig."
)
@click.option(
    "--token-secret",
    default=None,
    help="kubernetes executor: a Secret (key `token`) that gives the Jobs DIGITALOCEAN_TOKEN by reference.",
)
@click.option("--job-timeout", default=7200, show_default=True, type=int, help="kubernetes executor: seconds per Job.")
@click.option(
    "--runs-pvc", default=None, help="kubernetes executor: a PersistentVolumeClaim that keeps the executed notebooks."
)
@click.option("--print-report", is_flag=True, hidden=True, help="Print the report as one JSON line at the end.")
def run_cmd(
    parts: str | None,
    all_parts: bool,
    target: str,
    params: tuple[str, ...],
    out: str,
    jobs: int,
    matrix: str | None,
    html: bool,
    html_plotly: str,
    solutions: bool,
    build_tools: bool,
    executor: str,
    image: str | None,
    namespace: str,
    kubeconfig: str | None,
    token_secret: str | None,
    job_timeout: int,
    runs_pvc: str | None,
    print_report: bool,
) -> None:
    """Run notebooks with papermill; write executed notebooks, report.json and report.html.

    With --executor kubernetes, each learner of --matrix runs as a Kubernetes Job on the --target cluster
    (kubeconfig or doks) in --image; the run follows the Jobs, collects their outcome (and each learner's report
    from the pod log on a real cluster) and deletes what it created.
    """
    from .errors import ConfigError
    from .runner import parse_param_pairs, run_parts

    if all_parts and parts:
        raise ConfigError("give either --parts or --all, not both", hint="e.g. `course run --parts 0,3`")
    if not all_parts and not parts:
        raise ConfigError("say which parts to run", hint="use --all or --parts 0,3 (see `course list`)")
    spec = "all" if all_parts else parts
    if executor == "kubernetes":
        _run_on_kubernetes(
            spec,
            target=target,
            params=parse_param_pairs(params),
            matrix=matrix,
            out=out,
            jobs=jobs,
            solutions=solutions,
            image=image,
            namespace=namespace,
            kubeconfig=kubeconfig,
            token_secret=token_secret,
            job_timeout=job_timeout,
            runs_pvc=runs_pvc,
        )
        return
    k8s_only = {"--image": image, "--kubeconfig": kubeconfig, "--token-secret": token_secret, "--runs-pvc": runs_pvc}
    given = [name for name, value in k8s_only.items() if value is not None]
    if given:
        raise ConfigError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to the Kubernetes executor",
            hint="add --executor kubernetes, or leave them out for a run on this machine",
        )
    if build_tools and target == "sandbox":
        still = _build_missing_tools(_part_numbers(spec))
        if still:
            click.echo(f"not built: {', '.join(still)}; the notebooks that need them say what is missing")
    report = run_parts(
        spec,
        target=target,
        params=parse_param_pairs(params),
        matrix=matrix,
        out=out,
        jobs=jobs,
        html=html,
        html_plotly=html_plotly,
        solutions=solutions,
    )
    for r in report.results:
        mark = click.style("ok", fg="green") if r.status == "ok" else click.style("FAILED", fg="red")
        who = f"[{r.learner}] " if r.learner else ""
        click.echo(f"{mark:>14}  {r.seconds:7.1f} s  {who}{r.notebook}")
        if r.error:
            click.echo(f"{'':16}cell {r.failing_cell}: {r.error.splitlines()[0][:200]}")
        if r.html_error:
            click.echo(f"{'':16}HTML export failed: {r.html_error.splitlines()[0][:200]}")
    click.echo(f"\nReport: {report.out_dir}/report.html  ({report.seconds:.1f} s)")
    if print_report:  # read back from the pod's log by the Kubernetes executor
        import json

        from .errors import redact
        from .runner._kubernetes import REPORT_MARKER

        click.echo(REPORT_MARKER + redact(json.dumps(report.to_dict(), default=str, separators=(",", ":"))))
    if target == "sandbox":
        from .sandbox import overview

        if overview().running:
            click.echo(
                "The sandbox is still running: `course sandbox status` shows it, `course sandbox down` stops it."
            )
    if not report.ok:
        sys.exit(1)


def _run_on_kubernetes(
    parts: str | None,
    *,
    target: str,
    params: dict[str, object],
    matrix: str | None,
    out: str,
    jobs: int,
    solutions: bool,
    image: str | None,
    namespace: str,
    kubeconfig: str | None,
    token_secret: str | None,
    job_timeout: int,
    runs_pvc: str | None,
) -> None:
    """``course run --executor kubernetes``: checks, then :func:`course_lib.runner.run_on_kubernetes`."""
    from .errors import ConfigError
    from .runner import run_on_kubernetes

    if jobs != 1:
        raise ConfigError(
            "--jobs applies to the local executor; the cluster's scheduler runs the learners' Jobs side by side",
            hint="leave --jobs out with --executor kubernetes",
        )
    if image is None:
        raise ConfigError(
            "--executor kubernetes needs the image the Jobs run",
            hint="give --image name:tag, the single-user image built with the command `course classroom plan` prints",
        )
    report = run_on_kubernetes(
        parts,
        target=target,
        image=image,
        matrix=matrix,
        params=params,
        namespace=namespace,
        kubeconfig=kubeconfig,
        token_secret=token_secret,
        deadline_seconds=job_timeout,
        runs_pvc=runs_pvc,
        solutions=solutions,
        out=out,
    )
    for job in report.jobs:
        mark = click.style("ok", fg="green") if job.status == "succeeded" else click.style(job.status, fg="red")
        took = f"{job.seconds:7.1f} s" if job.seconds is not None else "      - s"
        click.echo(f"{mark:>14}  {took}  [{job.learner}] Job {job.job} on {job.node or '-'}")
        if job.report is not None:
            for r in job.report.get("results", []):
                click.echo(f"{'':16}{r.get('status', '?'):>6}  {r.get('notebook', '')}")
        elif job.log_note:
            click.echo(f"{'':16}report not collected: {job.log_note}")
    click.echo(
        f"\nReport: {report.out_dir}/report.json  ({report.seconds:.1f} s); deleted: {len(report.cleaned_up)} objects"
    )
    if not report.ok:
        sys.exit(1)


def _part_numbers(spec: str | None) -> list[int]:
    """Part numbers of a ``--parts`` value (``None``/"all": every part) of :data:`course_lib.parts.PARTS`."""
    from .parts import PARTS, parse

    return parse(spec, PARTS)


def _build_missing_tools(numbers: list[int]) -> list[str]:
    """Build the tools that the parts ``numbers`` need and that are not built yet (``course run``, ``course tools``);
    returns those still missing afterwards (a failed build, or no Go: the build script said which)."""
    from . import tools
    from .parts import tools_for

    missing = tools.unbuilt(tools_for(numbers))
    if not missing:
        return []
    eta = sum(tools.expected_seconds(t) or 0 for t in missing)
    click.echo(
        f"building {', '.join(missing)} for part(s) {','.join(map(str, numbers))} first "
        f"(about {eta / 60:.0f} min of compiling on 2 idle cores, once; `course tools --list` shows them)"
    )
    tools.build(missing)
    return tools.unbuilt(missing)


@click.command("tools")
@click.option("--parts", default=None, help="Only what these parts need, e.g. 7 or 2,5 (default: every tool).")
@click.option(
    "--list", "list_only", is_flag=True, help="List the tools, the parts that need each, and which are built."
)
def tools_cmd(parts: str | None, list_only: bool) -> None:
    """Build the pinned tools (from Go modules, into the tools cache) that the given parts need."""
    from . import tools
    from .parts import PARTS, tools_for

    numbers = _part_numbers(parts)
    if list_only:
        missing = set(tools.unbuilt(tools_for(sorted(PARTS))))
        for tool in tools.read_pins().get("TOOLS", "").split():
            users = [str(n) for n in sorted(PARTS) if tool in tools_for([n])]
            secs = tools.expected_seconds(tool)
            state = "missing" if tool in missing else "built"
            click.echo(f"{tool:<14} {state:<8} ~{secs or '?':>4} s   parts {','.join(users) or '-'}")
        return
    still = _build_missing_tools(numbers)
    if still:
        raise click.ClickException(f"not built: {', '.join(still)} (the lines above say why; `course tools` retries)")
    click.echo("every tool these parts need is built")


@click.command("doctor")
def doctor_cmd() -> None:
    """Show what is installed and usable, with a fix for each missing item."""
    from ._doctor import doctor

    report = doctor()
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)


@click.group("notebooks")
def notebooks_cmd() -> None:
    """Maintain the committed notebooks (built from notebooks/src/*.md)."""


@notebooks_cmd.command("build")
@click.option("--parts", default=None, help="Comma-separated part numbers (default: all).")
@click.option("--no-execute", is_flag=True, help="Only convert, do not execute.")
def build_cmd(parts: str | None, no_execute: bool) -> None:
    """Convert the jupytext sources and execute them on the sandbox, in place."""
    from .runner import build_notebooks

    for path in build_notebooks(parts, execute_cells=not no_execute):
        click.echo(f"built {path}")


@click.command("check")
@click.option(
    "--part",
    "parts",
    default=None,
    help="Comma-separated part numbers whose exercises to check (default: every exercise in the file).",
)
@click.option(
    "--answers",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML/JSON file mapping exercise ids to answers (see `course check --list` for the ids).",
)
@click.option("--prometheus", default=None, metavar="URL", help="Prometheus for 03-error-ratio (default: sandbox).")
@click.option("--list", "list_only", is_flag=True, help="List the exercises (of --part) and what each expects.")
def check_cmd(parts: str | None, answers: str | None, prometheus: str | None, list_only: bool) -> None:
    """Check a learner's saved "Your turn" answers and print a pass/fail table (exit 1 if any is not right).

    The answers file maps exercise ids to answers, e.g.:

    \b
        04-canary-75-25: {v1: 75, v2: 25}
        11-leftover-kinds: [load_balancer, volume, snapshot]
    """
    from .errors import ConfigError
    from .exercises import check_answers, describe, exercises, load_answers

    numbers: list[int] | None = None
    if parts:
        try:
            numbers = [int(x) for x in parts.replace(" ", "").split(",") if x]
        except ValueError:
            raise ConfigError(
                f"cannot read parts {parts!r}", hint="give part numbers, e.g. --part 3 or --part 1,11"
            ) from None
        missing = [n for n in numbers if not exercises(part=n)]
        if missing:
            have = sorted({int(n[:2]) for n in exercises()})
            raise ConfigError(
                f"part(s) {', '.join(map(str, missing))} have no registered exercise",
                hint=f"parts with exercises: {', '.join(map(str, have))}",
            )
    if list_only or answers is None:
        names = sorted({n for p in numbers for n in exercises(part=p)}) if numbers else exercises()
        for name in names:
            click.echo(f"{name:<20}  {describe(name)}")
        if answers is None and not list_only:
            click.echo("\nGive your answers with --answers FILE (YAML or JSON: exercise id -> answer).")
        return
    context = {"03-error-ratio": {"prom": prometheus}} if prometheus else None
    report = check_answers(load_answers(answers), parts=numbers, context=context, source=answers)
    for line in report.table().splitlines():
        if "  PASS " in line:
            line = line.replace("  PASS ", "  " + click.style("PASS", fg="green") + " ", 1)
        elif "  FAIL " in line or "  MISSING" in line:
            word = "FAIL" if "  FAIL " in line else "MISSING"
            line = line.replace(f"  {word}", "  " + click.style(word, fg="red"), 1)
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@click.command("export")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="HTML file (default: NOTEBOOK.html)."
)
def export_cmd(notebook: str, output: str | None) -> None:
    """Write an executed NOTEBOOK.ipynb as one HTML file that shows its outputs and plotly plots offline."""
    from .export import export_html

    result = export_html(notebook, output=output)
    click.echo(f"wrote {result}")


@click.command("progress")
@click.option("--part", type=int, default=None, help="Only this part's exercises, one row each.")
def progress_cmd(part: int | None) -> None:
    """Show your progress: per part, exercises attempted and passed (from your state folder)."""
    from .progress import by_part, progress_file, summary

    table = summary(part=part) if part is not None else by_part()
    click.echo(table.to_string())
    click.echo(f"\n(recorded in {progress_file()})")
