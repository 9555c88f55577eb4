"""``course classroom plan``: a thin click layer over :func:`course_lib.classroom.plan_classroom`."""

from __future__ import annotations

import click


@click.group("classroom")
def classroom() -> None:
    """Host a class on JupyterHub (Zero to JupyterHub on DOKS): plan it, with its cost."""


@classroom.command("plan")
@click.option("--learners", type=int, required=True, help="Learners in the class (1-500).")
@click.option("--image", required=True, help="The single-user image repo2docker builds, as name:tag.")
@click.option("--region", default="nyc1", show_default=True, help="DOKS region slug.")
@click.option("--node-size", default=None, help="Node size slug (default: the cheapest per hour for the class).")
@click.option(
    "--max-hourly-cost", type=float, default=5.0, show_default=True, help="Cost guard: USD per hour, worst case."
)
@click.option(
    "--public", is_flag=True, help="A public LoadBalancer for the hub (billed; configure a real authenticator first)."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for values.yaml and plan.json.")
def plan_cmd(
    learners: int, image: str, region: str, node_size: str | None, max_hourly_cost: float, public: bool, out: str
) -> None:
    """Write Helm values for JupyterHub on DOKS, size a node pool for LEARNERS and price it (creates nothing)."""
    from ..pins import JUPYTERHUB_CHART
    from . import plan_classroom, repo2docker_command

    plan = plan_classroom(
        learners, image=image, region=region, node_size=node_size, max_hourly_cost=max_hourly_cost, public=public
    )
    files = plan.write(out)
    click.echo(plan.summary())
    click.echo(f"\nwrote {files['values']} and {files['plan']}")
    click.echo("\n1. Build and push the single-user image from this repository (where Docker runs; postBuild")
    click.echo("   compiles the Go tools, about 40 minutes on 2 cores):")
    click.echo(f"   {repo2docker_command(plan.image)}")
    click.echo("2. Create the cluster (billable; the estimate above is what it costs):")
    click.echo(f"   {plan.doctl_command()}")
    click.echo(f"3. Check the values with the real chart {JUPYTERHUB_CHART.version} (the course checked the keys it")
    click.echo("   writes against a schema of them; this renders every template):")
    click.echo(f"   {plan.template_command(files['values'])}")
    click.echo("4. Install:")
    for line in plan.helm_command(files["values"]).splitlines():
        click.echo(f"   {line}")
    click.echo(
        "\nThe chart's default authenticator is `dummy` (any name and password log in). Before learners get the "
        "address, set hub.config for a real one (e.g. OAuth, its client secret in a Kubernetes Secret) — the plan "
        "writes no credentials.\nEach learner's sandbox runs inside their pod as uid 1000, without Docker or "
        "privileges: kube-apiserver, etcd, kwok, Prometheus and PostgreSQL run as ordinary processes (PostgreSQL "
        "needs `unshare --user` only as root, so not here); no container runs inside the pod, exactly as on Binder."
    )
