"""``course list | run | doctor | notebooks``: thin click commands over runner.py and doctor.py."""

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
def run_cmd(
    parts: str | None,
    all_parts: bool,
    target: str,
    params: tuple[str, ...],
    out: str,
    jobs: int,
    matrix: str | None,
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
    )
    for r in report.results:
        mark = click.style("ok", fg="green") if r.status == "ok" else click.style("FAILED", fg="red")
        who = f"[{r.learner}] " if r.learner else ""
        click.echo(f"{mark:>14}  {r.seconds:7.1f} s  {who}{r.notebook}")
        if r.error:
            click.echo(f"{'':16}cell {r.failing_cell}: {r.error.splitlines()[0][:200]}")
    click.echo(f"\nReport: {report.out_dir}/report.html  ({report.seconds:.1f} s)")
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
