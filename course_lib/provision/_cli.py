"""``course provision``: cost estimates, valid options and leftover scans (a thin layer over the Python API)."""

from __future__ import annotations

import click


@click.group("provision")
def provision() -> None:
    """DigitalOcean: costs, options, leftovers."""


@provision.command("cost")
@click.option("--name", default="course-learner-cluster", show_default=True, help="Cluster name (DNS-1123).")
@click.option("--region", default="nyc1", show_default=True)
@click.option("--size", "node_size", default="s-2vcpu-4gb", show_default=True, help="Node size slug.")
@click.option("--count", "node_count", default=2, show_default=True, type=int, help="Nodes in the pool.")
@click.option("--version", default="latest", show_default=True)
@click.option("--ha/--no-ha", default=False, show_default=True, help="High-availability control plane.")
@click.option("--auto-scale", "max_nodes", type=int, default=None, help="Autoscale from 1 to this many nodes.")
@click.option("--load-balancers", default=2, show_default=True, type=int)
@click.option("--volumes-gb", default=30.0, show_default=True, type=float)
@click.option("--offline", is_flag=True, help="Use the dated snapshot even when a token is set.")
def cost_cmd(
    name: str,
    region: str,
    node_size: str,
    node_count: int,
    version: str,
    ha: bool,
    max_nodes: int | None,
    load_balancers: int,
    volumes_gb: float,
    offline: bool,
) -> None:
    """Estimate what a cluster costs per hour, day and month."""
    from . import ClusterSpec, estimate_cost, get_options

    spec = ClusterSpec.single_pool(
        name,
        region=region,
        size=node_size,
        count=node_count,
        version=version,
        ha=ha,
        auto_scale=max_nodes is not None,
        min_nodes=1 if max_nodes is not None else None,
        max_nodes=max_nodes,
    )
    est = estimate_cost(
        spec, load_balancers=load_balancers, volumes_gb=volumes_gb, options=get_options(live=False if offline else None)
    )
    click.echo(est.table().to_string(index=False))
    click.echo(str(est))


@provision.command("options")
@click.argument("what", type=click.Choice(["sizes", "regions", "versions"]), default="sizes")
@click.option("--offline", is_flag=True, help="Use the dated snapshot even when a token is set.")
def options_cmd(what: str, offline: bool) -> None:
    """List valid node sizes (with prices), regions or Kubernetes versions."""
    from . import get_options

    opts = get_options(live=False if offline else None)
    click.echo(opts.table(what).to_string(index=False))  # type: ignore[arg-type]
    if opts.source == "snapshot":
        click.echo(
            f"\n(offline snapshot of {opts.snapshot_date}; prices change — set DIGITALOCEAN_TOKEN for live data)"
        )


@provision.command("leftovers")
@click.option("--delete", is_flag=True, help="Delete the leftovers (default: dry run that only lists).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
def leftovers_cmd(delete: bool, yes: bool) -> None:
    """Find course- or cluster-tagged load balancers, volumes, snapshots and Droplets left behind."""
    from ..config import token
    from . import find_leftovers, leftover_plan

    if token() is None:
        plan = leftover_plan()
        click.echo("DIGITALOCEAN_TOKEN is not set: nothing was sent. With a token this scan reads:")
        click.echo(plan.table().to_string(index=False))
        click.echo(f"Rule: {plan.rule}")
        return
    report = find_leftovers(delete=False)
    click.echo(report.table().to_string(index=False) if report.items else "No course or cluster resources found.")
    click.echo(str(report))
    if delete and report.leftovers:
        if not yes:
            click.confirm(f"Delete {len(report.leftovers)} leftover(s) now?", abort=True)
        done = find_leftovers(delete=True)
        click.echo(f"Deleted: {', '.join(done.deleted) or 'nothing'}")
        for err in done.errors:
            click.echo(f"Could not delete {err}", err=True)
