"""``course sandbox up|down|status`` — a thin layer over :mod:`course_lib.sandbox`."""

from __future__ import annotations

import json

import click


@click.group()
def sandbox() -> None:
    """Start, stop and inspect the local sandbox (Prometheus, Alertmanager, demo services)."""


@sandbox.command()
@click.option("--backfill-hours", type=float, default=0.0, show_default=True, help="Hours of simulated history.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Start-up deadline in seconds.")
def up(backfill_hours: float, timeout: float) -> None:
    """Start the sandbox (or reuse a healthy one) and print its endpoints."""
    from ._stack import up as _up

    stack = _up(timeout=timeout, backfill_hours=backfill_hours)
    click.echo("Reusing the running sandbox." if stack.reused else "Sandbox started.")
    for name, url in vars(stack.endpoints).items():
        click.echo(f"  {name:<14} {url}")


@sandbox.command()
def down() -> None:
    """Stop every sandbox process and delete its temporary files."""
    from ._stack import down as _down

    stopped = _down()
    click.echo(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Print each service's pid, URL and health; exit 1 when the stack is not healthy."""
    from ._stack import as_dict
    from ._stack import status as _status

    st = _status()
    click.echo(json.dumps(as_dict(st), indent=2) if as_json else st.table())
    if not st.healthy:
        raise click.exceptions.Exit(1)
