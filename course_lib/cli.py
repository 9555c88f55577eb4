"""The ``course`` command line: a thin layer that gathers options and calls the Python API.

Subcommands owned by a domain package live in that package's ``_cli.py`` and are imported only when
used, so ``course --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .errors import CourseError

# command name -> "module:attribute" of a click command or group
_LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("course_lib._cli_run:list_cmd", "List the course parts and their parameters."),
    "run": ("course_lib._cli_run:run_cmd", "Run notebooks with papermill and write a report."),
    "doctor": ("course_lib._cli_run:doctor_cmd", "Show what is installed and usable, with fixes."),
    "tools": ("course_lib._cli_run:tools_cmd", "Build the pinned Go tools some parts need (or list them)."),
    "notebooks": ("course_lib._cli_run:notebooks_cmd", "Build the committed notebooks from notebooks/src."),
    "sandbox": ("course_lib.sandbox._cli:sandbox", "Start, stop and inspect the local sandbox."),
    "validate": ("course_lib.manifests._cli:validate", "Validate every manifest the course renders."),
    "provision": ("course_lib.provision._cli:provision", "DigitalOcean: costs, options, leftovers."),
    "classroom": ("course_lib.classroom._cli:classroom", "Plan a class on JupyterHub (DOKS): values, nodes, cost."),
    "check": ("course_lib._cli_run:check_cmd", 'Check saved "Your turn" answers: a pass/fail table.'),
    "progress": ("course_lib._cli_run:progress_cmd", 'Your "Your turn" progress per part: attempted, passed.'),
    "export": ("course_lib._cli_run:export_cmd", "Export an executed notebook to HTML with its plots (offline)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            target, _ = _LAZY_COMMANDS[cmd_name]
            module, _, attr = target.partition(":")
            try:
                cmd: click.Command = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:  # a domain whose CLI is not built yet
                raise click.ClickException(f"`course {cmd_name}` is not available: {exc}") from None
            return cmd
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _LAZY_COMMANDS[name][1]) for name in sorted(_LAZY_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="course-lib")
def cli() -> None:
    """Intermediate Kubernetes on DigitalOcean — run, check and manage the course."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``course`` console script; turns course errors into clean messages."""
    try:
        return cli.main(args=argv, prog_name="course", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CourseError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
