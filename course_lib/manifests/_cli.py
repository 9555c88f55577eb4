"""``course validate``: render every manifest the course produces (or read a YAML file) and validate it.

Exit codes: 0 all objects valid, 1 at least one invalid object, 2 unusable input (unreadable file, bad
YAML, unknown Kubernetes version).

Used in: CI (``make test``) and by learners checking their own YAML (``course validate --file my.yaml``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..errors import CourseError


class _InputError(click.ClickException):
    exit_code = 2


@click.command("validate")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Validate this YAML file (multi-document allowed) instead of the course's manifests. Repeatable; '-' reads stdin.",
)
@click.option("--kube-version", default=None, help="Kubernetes minor for built-in kinds (default: the course's pin).")
@click.option("--schemas", is_flag=True, help="List the CRD schemas and the upstream versions they were written from.")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the summary line.")
@click.option(
    "--server",
    is_flag=True,
    help="Let the sandbox's API server judge (server-side dry run against upstream's CRDs; starts or reuses its "
    "control plane); kinds without an upstream CRD keep the authored schema.",
)
def validate(files: tuple[Path, ...], kube_version: str | None, schemas: bool, quiet: bool, server: bool) -> None:
    """Validate every manifest the course renders, or the given YAML files."""
    from . import _registry, _validate, _yaml

    if schemas:
        for row in _validate.crd_schemas():
            click.echo(f"{row['apiVersion']:<34} {row['kind']:<20} {row['upstream']} {row['upstream_version']}")
        return
    version = kube_version or _validate.DEFAULT_KUBE_VERSION
    started = time.perf_counter()
    try:
        if files:
            objects = []
            for path in files:
                if str(path) == "-":
                    objects.extend(_yaml.from_yaml(sys.stdin.read(), source="<stdin>"))
                else:
                    objects.extend(_yaml.read_yaml_file(path))
            if not objects:
                raise _InputError("no Kubernetes objects found in the given file(s)")
        else:
            objects = [obj for objs in _registry.render_all().values() for obj in objs]
        if server:
            from ..session import start

            with start(target="sandbox") as session:
                if not session.capabilities.live_api:
                    raise _InputError(f"--server needs the sandbox control plane: {session.capabilities.reason}")
                report = session.validate(objects)
        else:
            report = _validate.validate(objects, kube_version=version)
    except CourseError as exc:
        raise _InputError(str(exc)) from None
    elapsed = time.perf_counter() - started
    if quiet:
        for failure in report.failures:
            click.echo(f"{failure.kind} {failure.namespace + '/' if failure.namespace else ''}{failure.name}: FAIL")
            for message in failure.errors:
                click.echo(f"    - {message}")
        click.echo(report.table().splitlines()[-1])
    else:
        click.echo(report.table())
    click.echo(f"({elapsed:.2f} s)", err=True)
    if not report.ok:
        sys.exit(1)
