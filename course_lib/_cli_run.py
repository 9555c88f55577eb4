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
) -> None:
    """Run notebooks with papermill; write executed notebooks, report.json and report.html."""
    from .errors import ConfigError
    from .runner import parse_param_pairs, run_parts

    if all_parts and parts:
        raise ConfigError("give either --parts or --all, not both", hint="e.g. `course run --parts 0,3`")
    if not all_parts and not parts:
        raise ConfigError("say which parts to run", hint="use --all or --parts 0,3 (see `course list`)")
    report = run_parts(
        "all" if all_parts else parts,
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
    if target == "sandbox":
        from .sandbox import overview

        if overview().running:
            click.echo(
                "The sandbox is still running: `course sandbox status` shows it, `course sandbox down` stops it."
            )
    if not report.ok:
        sys.exit(1)


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
