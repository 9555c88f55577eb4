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
@click.option(
    "--cluster/--no-cluster",
    default=True,
    show_default=True,
    help="Also start the Kubernetes control plane (when `make tools` has built it).",
)
@click.option("--nodes", type=int, default=3, show_default=True, help="Simulated nodes of the control plane.")
def up(backfill_hours: float, timeout: float, cluster: bool, nodes: int) -> None:
    """Start the sandbox (or reuse a healthy one) and print its endpoints."""
    from . import _controlplane as cp
    from ._stack import up as _up

    stack = _up(timeout=timeout, backfill_hours=backfill_hours)
    click.echo("Reusing the running sandbox." if stack.reused else "Sandbox started.")
    for name, url in vars(stack.endpoints).items():
        if url:
            click.echo(f"  {name:<14} {url}")
    if not cluster:
        return
    if not cp.available():
        click.echo(
            f"Kubernetes control plane: not built ({', '.join(cp.missing_binaries())}); run `make tools`. "
            "Until then deploy cells run as dry runs."
        )
        return
    plane = cp.cluster_up(nodes=nodes)
    click.echo(f"  {'kubernetes':<14} {plane.server}  ({plane.nodes} simulated nodes)")
    click.echo(f"  {'kubeconfig':<14} {plane.kubeconfig}")


@sandbox.command()
def crds() -> None:
    """Fetch upstream's CRDs from the projects' Go modules for the sandbox's API server (`make tools` runs it)."""
    from ._crds import main

    raise SystemExit(main())


@sandbox.command(name="npm")
def npm_install() -> None:
    """Install Part 3's checkout app and its locked npm packages into the cache (`make tools` runs it)."""
    from ..errors import CourseError
    from ._express import install, installed

    try:
        had = installed()
        path = install()
    except CourseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"checkout app: {'already installed' if had else 'installed'} in {path}")


@sandbox.command()
def down() -> None:
    """Stop every sandbox process (Traefik and its backends too) and delete its temporary files."""
    from ._stack import down as _down

    stopped = _down()
    click.echo(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Print each service's pid, URL and health; exit 1 when the stack is not healthy."""
    from ._stack import as_dict, overview

    now = overview()
    if as_json:
        on_demand = [dict(zip(("group", "name", "pid", "running", "ready"), row, strict=True)) for row in now.on_demand]
        payload = {
            **as_dict(now.stack),
            "control_plane": dict(now.control_plane),
            "postgres": dict(now.postgres),
            "on_demand": on_demand,
            "argocd": dict(now.argocd),
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(str(now))
    if not now.healthy:
        raise click.exceptions.Exit(1)
