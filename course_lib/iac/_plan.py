"""Part 1's offline plan: ``tofu plan`` read back as data (:class:`Plan`), the fmt → init → validate → plan
report (:func:`check`), the DOKS version slug and the DigitalOcean-only project written for it. See
:mod:`course_lib.iac`."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ToolError
from ..pins import DIGITALOCEAN_PROVIDER_VERSION
from ._run import TofuStep, _directory, _first_line, _tofu, fmt_check, init, validate

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..provision import ClusterSpec

_SLUG = re.compile(r"^\d+\.\d+\.\d+-do\.\d+$")


@dataclass(frozen=True)
class PlannedResource:
    """One resource change in a saved plan.

    Attributes:
        address: e.g. ``digitalocean_kubernetes_cluster.k8s_cluster``.
        type: the resource type.
        actions: OpenTofu's actions, e.g. ``("create",)``.
        after: the planned attribute values (unknown-until-apply values are absent).
    """

    address: str
    type: str
    actions: tuple[str, ...]
    after: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A saved plan, read back with ``tofu show -json``.

    Attributes:
        resources: the resource changes.
        summary: OpenTofu's summary line, e.g. ``Plan: 1 to add, 0 to change, 0 to destroy.``
        text: the human-readable plan output (for display; trim it with :meth:`excerpt`).
        raw: the whole JSON plan.
    """

    resources: tuple[PlannedResource, ...]
    summary: str
    text: str
    raw: Mapping[str, Any]

    def resource(self, address: str) -> PlannedResource:
        """The planned change of one resource (``KeyError`` lists the addresses that exist)."""
        for res in self.resources:
            if res.address == address:
                return res
        raise KeyError(f"{address} is not in the plan; it has {[r.address for r in self.resources]}")

    def excerpt(self, address: str | None = None) -> str:
        """The plan output for one resource (or all) plus the summary line, without the noise around it."""
        lines = self.text.splitlines()
        if address is None:
            legend = {"  + create", "  - destroy", "  ~ update in-place", "-/+ destroy and then create replacement"}
            keep = [ln for ln in lines if ln.startswith(("  #", "  +", "  -", "  ~", "    ")) and ln not in legend]
            return "\n".join([*keep, "", self.summary]).strip()
        out: list[str] = []
        inside = False
        for line in lines:
            if line.startswith("  # "):
                inside = line.startswith(f"  # {address} ")
            if inside:
                out.append(line)
                if line == "    }":
                    inside = False
        return "\n".join([*out, "", self.summary]).strip()

    def table(self) -> pd.DataFrame:
        """One row per resource: address, action."""
        import pandas as pd

        return pd.DataFrame(
            [{"address": r.address, "action": "+".join(r.actions)} for r in self.resources],
            columns=["address", "action"],
        )


def plan(
    directory: str | os.PathLike[str],
    *,
    mirror: str | os.PathLike[str] | None = None,
    variables: Mapping[str, str | int | bool] | None = None,
) -> Plan:
    """``tofu plan -refresh=false -out=…`` then ``tofu show -json``: what would be created, offline.

    The DigitalOcean token variable gets :data:`DUMMY_TOKEN` through the environment; ``variables`` are passed as
    ``-var name=value`` (never pass a secret here).

    Raises:
        ConfigError: a variable named like a token or secret.
        ToolError: the plan failed (OpenTofu's message is included).

    Used in: notebook 01.
    """
    for name in variables or {}:
        if any(word in name.lower() for word in ("token", "secret", "password", "key")):
            raise ConfigError(
                f"variable {name!r} looks like a secret",
                hint="secrets never go on a command line; the offline plan uses a dummy token by itself",
            )
    path = _directory(directory)
    base = Path(mirror) if mirror is not None else None
    args = ["plan", "-refresh=false", "-input=false", "-lock=false", "-no-color", "-out=course.tfplan"]
    for name, value in (variables or {}).items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args.append(f"-var={name}={text}")
    planned = _tofu(args, directory=path, mirror=base, check=True)
    shown = _tofu(["show", "-json", "course.tfplan"], directory=path, mirror=base, check=True)
    raw = json.loads(shown.output)
    resources = tuple(
        PlannedResource(
            str(rc.get("address")),
            str(rc.get("type")),
            tuple((rc.get("change") or {}).get("actions") or ()),
            (rc.get("change") or {}).get("after") or {},
        )
        for rc in raw.get("resource_changes") or []
    )
    summary = next(
        (ln.strip() for ln in planned.output.splitlines() if ln.strip().startswith(("Plan:", "No changes."))), ""
    )
    return Plan(resources, summary, planned.output, raw)


@dataclass(frozen=True)
class CheckReport:
    """The offline workflow on one project: fmt, init, validate, plan — stopping at the first failure.

    Attributes:
        steps: the commands that ran, in order.
        plan: the saved plan when every step passed, else ``None``.
    """

    steps: tuple[TofuStep, ...]
    plan: Plan | None

    @property
    def ok(self) -> bool:
        """Every step passed."""
        return self.plan is not None and all(s.ok for s in self.steps)

    def steps_table(self) -> pd.DataFrame:
        """One row per step: command, result, and the first meaningful line of its output."""
        import pandas as pd

        rows = [
            {"step": f"tofu {s.command.split(' ')[0]}", "result": "ok" if s.ok else "failed", "says": _first_line(s)}
            for s in self.steps
        ]
        return pd.DataFrame(rows, columns=["step", "result", "says"])


def check(
    directory: str | os.PathLike[str],
    *,
    mirror: str | os.PathLike[str] | None = None,
    variables: Mapping[str, str | int | bool] | None = None,
) -> CheckReport:
    """Run fmt → init → validate → plan offline and report each step; a failing step is reported, not raised.

    Raises:
        ToolMissingError: ``tofu`` is not built (run ``make tools``).

    Used in: notebook 01.
    """
    steps = [fmt_check(directory)]
    if not steps[0].ok:
        return CheckReport(tuple(steps), None)
    for action in (init, validate):
        try:
            steps.append(action(directory, mirror=mirror))
        except ToolError as exc:
            cmd = str(exc.context.get("command", action.__name__)).removeprefix("tofu ")
            steps.append(TofuStep(cmd, False, exc.message.split("\n", 1)[-1], 0.0))
            return CheckReport(tuple(steps), None)
    try:
        result = plan(directory, mirror=mirror, variables=variables)
    except ToolError as exc:
        cmd = str(exc.context.get("command", "plan")).removeprefix("tofu ")
        steps.append(TofuStep(cmd, False, exc.message.split("\n", 1)[-1], 0.0))
        return CheckReport(tuple(steps), None)
    steps.append(TofuStep("plan -refresh=false", True, result.summary, 0.0))
    return CheckReport(tuple(steps), result)


def _offline_providers() -> str:
    return (
        "# providers.tf - the DigitalOcean part only, for an offline `tofu plan` (course_lib.iac).\n"
        "terraform {\n"
        '  required_version = ">= 1.6"\n\n'
        "  required_providers {\n"
        "    digitalocean = {\n"
        '      source  = "digitalocean/digitalocean"\n'
        f'      version = "{DIGITALOCEAN_PROVIDER_VERSION}"\n'
        "    }\n"
        "  }\n"
        "}\n\n"
        'provider "digitalocean" {\n'
        "  token = var.do_token\n"
        "}\n"
    )


def resolve_version(spec: ClusterSpec, *, options: Any = None) -> str:
    """The full DOKS version slug for ``spec.version`` (``latest``, a minor like ``1.33``, or a full slug).

    ``options`` is :func:`course_lib.provision.get_options` (default: the course's dated snapshot, offline).

    Raises:
        ConfigError: no version of the catalogue matches.

    Example:
        >>> from course_lib.provision import ClusterSpec
        >>> resolve_version(ClusterSpec(name="x", version="1.37.2-do.0"))
        '1.37.2-do.0'
    """
    wanted = str(spec.version)
    if _SLUG.match(wanted):
        return wanted
    if options is None:
        from ..provision import get_options

        options = get_options(live=False)
    slugs = [str(v.slug) for v in options.versions]
    matching = slugs if wanted == "latest" else [s for s in slugs if s.startswith(wanted + ".")]
    if not matching:
        raise ConfigError(f"no DOKS version matches {wanted!r}", hint=f"use one of {', '.join(slugs)}")
    return matching[0]


def offline_project(
    spec: ClusterSpec, directory: str | os.PathLike[str] | None = None, *, k8s_version: str | None = None
) -> Path:
    """Write the DigitalOcean part of the generated Terraform project, ready for an offline plan.

    The files are those of :func:`course_lib.provision.write_terraform` (``variables.tf``, ``main.tf``,
    ``outputs.tf``) with two changes that keep the plan offline: ``providers.tf`` declares only the DigitalOcean
    provider (the helm and kubernetes providers need a running cluster and are not in the mirror), and the
    ``digitalocean_kubernetes_versions`` data source — which would call the API during the plan — becomes a
    ``k8s_version`` variable with the given version slug.

    Args:
        spec: the cluster spec.
        directory: where to write (created if needed); default: a new temporary folder.
        k8s_version: a full DOKS version slug such as ``1.37.2-do.0`` (default: :func:`resolve_version`).

    Raises:
        ConfigError: ``k8s_version`` is not a full DOKS slug.

    Used in: notebook 01.
    """
    if k8s_version is None:
        k8s_version = resolve_version(spec)
    if not _SLUG.match(k8s_version):
        raise ConfigError(
            f"k8s_version {k8s_version!r} is not a full DOKS version slug",
            hint="use the form 1.37.2-do.0 (`doctl kubernetes options versions` lists them)",
        )
    from ..provision import render_terraform

    files = render_terraform(spec)
    main = files["main.tf"]
    data_block = re.compile(r'data "digitalocean_kubernetes_versions" "current" \{.*?\n\}\n\n?', re.S)
    main = data_block.sub("", main)
    main = main.replace("data.digitalocean_kubernetes_versions.current.latest_version", "var.k8s_version")
    variables = files["variables.tf"] + (
        '\nvariable "k8s_version" {\n'
        '  description = "Full DOKS version slug (the data source that looks it up needs the API)"\n'
        "  type        = string\n"
        f"  default     = {json.dumps(k8s_version)}\n"
        "}\n"
    )
    out = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="tofu-offline-"))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "providers.tf": _offline_providers(),
        "variables.tf": variables,
        "main.tf": main,
        "outputs.tf": files["outputs.tf"],
    }.items():
        (out / name).write_text(text)
    return out
