"""OpenTofu, offline: format check, ``init`` from a local provider mirror, ``validate``, ``plan`` and the plan as data.

``tofu`` (OpenTofu, the open-source fork of Terraform; same language, same files) is built from its pinned source by
``make tools``. Nothing here talks to a provider registry or to DigitalOcean:

* **Providers come from a filesystem mirror** (:func:`mirror_dir`), a folder laid out as
  ``<mirror>/<host>/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-<type>_v<version>``. A CLI
  configuration file (:func:`cli_config`, passed as ``TF_CLI_CONFIG_FILE``) lists only that mirror and no
  ``direct`` block, so ``tofu init`` never goes online: a provider that is not in the mirror is an error naming
  the mirror, never a download.
* **No real token.** The DigitalOcean provider makes no API call when it is configured, so a plan of *new*
  resources needs none; :data:`DUMMY_TOKEN` is an obviously fake value that does not even look like a token.
* ``plan -refresh=false`` reads no existing state from the cloud; :func:`plan` saves the plan and reads it back
  with ``tofu show -json`` into :class:`Plan`.

An honest limit of this release: the DigitalOcean provider (``terraform-provider-digitalocean``) cannot be built
here — the Go module proxy does not serve that module — so the mirror holds no ``digitalocean/digitalocean``
and :func:`check` stops at ``init`` with OpenTofu's own message. Once the provider binary is placed in the mirror
(:func:`provider_mirror_path` says where), the same calls validate and plan the cluster offline.

Example:
    >>> from course_lib import iac, provision as prov
    >>> project = iac.offline_project(prov.ClusterSpec(name="course-ada"), "/tmp/tofu-ada", k8s_version="1.34.1-do.0")
    >>> iac.check(project).steps_table()  # doctest: +SKIP

Used in: notebook 01.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config
from .config import cache_dir
from .errors import ConfigError, ToolError
from .pins import DIGITALOCEAN_PROVIDER_VERSION

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .provision import ClusterSpec

#: The token the offline plan passes (as ``TF_VAR_do_token``): obviously fake and not shaped like a DO token.
DUMMY_TOKEN = "offline-plan-no-real-token"
#: Where OpenTofu looks providers up by default (the mirror repeats this host in its layout).
REGISTRY_HOST = "registry.opentofu.org"
_PLATFORM = "linux_amd64"
_SLUG = re.compile(r"^\d+\.\d+\.\d+-do\.\d+$")


def mirror_dir() -> Path:
    """The course's provider mirror: ``<cache>/tofu/providers`` (``make tools`` fills it; nothing is downloaded)."""
    return cache_dir() / "tofu" / "providers"


def provider_mirror_path(
    source: str = "digitalocean/digitalocean",
    version: str = DIGITALOCEAN_PROVIDER_VERSION,
    *,
    mirror: str | os.PathLike[str] | None = None,
) -> Path:
    """Where a provider binary must be placed in the mirror for ``tofu init`` to find it.

    Example:
        >>> provider_mirror_path(mirror="/m").as_posix()
        '/m/registry.opentofu.org/digitalocean/digitalocean/2.99.1/linux_amd64/terraform-provider-digitalocean_v2.99.1'
    """
    namespace, _, kind = source.partition("/")
    if not namespace or not kind or "/" in kind:
        raise ConfigError(f"provider source {source!r} is not NAMESPACE/TYPE", hint="e.g. 'digitalocean/digitalocean'")
    base = Path(mirror) if mirror is not None else mirror_dir()
    return base / REGISTRY_HOST / namespace / kind / version / _PLATFORM / f"terraform-provider-{kind}_v{version}"


def mirrored_providers(*, mirror: str | os.PathLike[str] | None = None) -> list[str]:
    """The providers present in the mirror, as ``host/namespace/type version``.

    Used in: notebook 01.
    """
    base = Path(mirror) if mirror is not None else mirror_dir()
    found = []
    for binary in sorted(base.glob(f"*/*/*/*/{_PLATFORM}/terraform-provider-*")):
        version_dir = binary.parent.parent
        kind_dir = version_dir.parent
        host, namespace, kind = kind_dir.parent.parent.name, kind_dir.parent.name, kind_dir.name
        found.append(f"{host}/{namespace}/{kind} {version_dir.name}")
    return found


def cli_config(*, mirror: str | os.PathLike[str] | None = None) -> str:
    """The OpenTofu CLI configuration that installs providers from the mirror only (no ``direct`` block).

    Example:
        >>> print(cli_config(mirror="/m"))  # doctest: +NORMALIZE_WHITESPACE
        provider_installation {
          filesystem_mirror {
            path    = "/m"
            include = ["*/*/*"]
          }
        }
    """
    base = Path(mirror) if mirror is not None else mirror_dir()
    return f'provider_installation {{\n  filesystem_mirror {{\n    path    = {json.dumps(str(base))}\n    include = ["*/*/*"]\n  }}\n}}\n'


@dataclass(frozen=True)
class TofuStep:
    """One ``tofu`` command and what it printed.

    Attributes:
        command: the command line without the program path (e.g. ``init -backend=false``).
        ok: whether it exited 0 (``fmt -check``: whether the files are formatted).
        output: its output (standard output then standard error), paths inside the project shortened to ``.``.
        seconds: how long it took.
    """

    command: str
    ok: bool
    output: str
    seconds: float

    def __str__(self) -> str:
        return f"tofu {self.command}: {'ok' if self.ok else 'FAILED'}\n{self.output}".strip()

    def grep(self, text: str) -> str:
        """The output's lines that contain ``text`` (e.g. ``"Apply complete"``), stripped and joined."""
        return "\n".join(line.strip() for line in self.output.splitlines() if text in line)


def _env(mirror: Path, workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    from .errors import SECRET_ENV_VARS

    config = workdir / ".terraform" / "course-cli.tfrc"  # inside the git-ignored .terraform folder
    config.parent.mkdir(exist_ok=True)
    config.write_text(cli_config(mirror=mirror))
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and not k.startswith("TF_VAR_")}
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_VAR_do_token": DUMMY_TOKEN,
        }
    )
    env.pop("TF_PLUGIN_CACHE_DIR", None)  # a plugin cache could hold providers from elsewhere
    env.update(extra or {})
    return env


def _tofu(
    args: Sequence[str], *, directory: Path, mirror: Path | None, timeout: float = 300.0, check: bool = False
) -> TofuStep:
    from .tools import run

    base = mirror if mirror is not None else mirror_dir()
    base.mkdir(parents=True, exist_ok=True)  # an empty mirror is a mirror; a missing one is a confusing error
    proc = run(
        "tofu",
        args,
        cwd=directory,
        env=_env(base, directory),
        inherit_env=False,  # _env is the whole environment: secrets and stray TF_VAR_* are left out on purpose
        timeout=timeout,
        ok_codes=None,
        what=f"tofu {' '.join(args)}",
        hint="offline runs should take seconds; check that the CLI config lists only the mirror",
    )
    output = (proc.stdout + ("\n" + proc.stderr if proc.stderr.strip() else "")).strip()
    output = output.replace(str(directory), ".").replace(str(base), "<mirror>")
    step = TofuStep(" ".join(args), proc.returncode == 0, output, proc.seconds)
    if check and not step.ok:
        raise ToolError(
            f"tofu {step.command} failed:\n{output[-3000:]}",
            hint=_hint(output),
            command="tofu " + step.command,
            exit_code=proc.returncode,
        )
    return step


def _hint(output: str) -> str:
    if "Failed to query available provider packages" in output or "not found in any of the search locations" in output:
        return (
            f"the provider is not in the local mirror ({mirror_dir()}); place its binary where "
            "iac.provider_mirror_path(...) says (the DigitalOcean provider cannot be built offline here)"
        )
    if "init" in output and ("required" in output or "Inconsistent dependency lock file" in output):
        return "run iac.init(directory) first"
    return "read OpenTofu's message above: it names the file, line and argument that is wrong"


def _directory(directory: str | os.PathLike[str]) -> Path:
    path = Path(directory).expanduser().resolve()
    if not path.is_dir() or not any(path.glob("*.tf")):
        raise ConfigError(
            f"{path} holds no .tf files", hint="write the project first (iac.offline_project or write_terraform)"
        )
    return path


def fmt_check(directory: str | os.PathLike[str]) -> TofuStep:
    """``tofu fmt -check -diff``: are the files parseable and in OpenTofu's canonical layout? (No mirror needed.)

    ``ok`` is false when a file would be reformatted (the diff is in ``output``) or does not parse.

    Used in: notebook 01.
    """
    path = _directory(directory)
    return _tofu(["fmt", "-check", "-diff", "-no-color"], directory=path, mirror=None)


def init(directory: str | os.PathLike[str], *, mirror: str | os.PathLike[str] | None = None) -> TofuStep:
    """``tofu init -backend=false`` with providers from the mirror only; writes ``.terraform.lock.hcl``.

    Raises:
        ToolError: OpenTofu failed (e.g. a provider is not in the mirror); its message is included.

    Used in: notebook 01.
    """
    path = _directory(directory)
    base = Path(mirror) if mirror is not None else None
    return _tofu(["init", "-backend=false", "-input=false", "-no-color"], directory=path, mirror=base, check=True)


def validate(directory: str | os.PathLike[str], *, mirror: str | os.PathLike[str] | None = None) -> TofuStep:
    """``tofu validate``: types, references and required arguments, checked against the providers' schemas.

    Raises:
        ToolError: the configuration is invalid (OpenTofu names the file and line).

    Used in: notebook 01.
    """
    path = _directory(directory)
    base = Path(mirror) if mirror is not None else None
    return _tofu(["validate", "-no-color"], directory=path, mirror=base, check=True)


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


def _first_line(step: TofuStep) -> str:
    for line in step.output.splitlines():
        text = line.strip().lstrip("│╷╵ ").strip()
        if text.startswith("Error:"):
            return text
    for line in step.output.splitlines():
        text = line.strip().lstrip("│╷╵ ").strip()
        if text and not text.startswith("Initializing"):
            return text
    return "(formatted)" if step.command.startswith("fmt") and step.ok else ""


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
        >>> resolve_version(ClusterSpec(name="x", version="1.34.1-do.0"))
        '1.34.1-do.0'
    """
    wanted = str(spec.version)
    if _SLUG.match(wanted):
        return wanted
    if options is None:
        from .provision import get_options

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
        k8s_version: a full DOKS version slug such as ``1.34.1-do.0`` (default: :func:`resolve_version`).

    Raises:
        ConfigError: ``k8s_version`` is not a full DOKS slug.

    Used in: notebook 01.
    """
    if k8s_version is None:
        k8s_version = resolve_version(spec)
    if not _SLUG.match(k8s_version):
        raise ConfigError(
            f"k8s_version {k8s_version!r} is not a full DOKS version slug",
            hint="use the form 1.34.1-do.0 (`doctl kubernetes options versions` lists them)",
        )
    from .provision import render_terraform

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


# --- state and locking on the sandbox's PostgreSQL (backend "pg") ---------------------------------------------

_STATE_MAIN = """\
# Stand-ins: terraform_data is built into OpenTofu (no provider to download). It plays the DigitalOcean
# cluster and node pool whose provider cannot be installed here; state, locking, plans and modules work the same.
terraform {
  backend "pg" {
    conn_str    = "__CONN__"
    schema_name = "__SCHEMA__"
  }
}

variable "node_count" {
  type    = number
  default = 2
}

variable "hold_seconds" {
  description = "how long the slow step of an apply takes (the lock is held meanwhile)"
  type        = number
  default     = 0
}

resource "terraform_data" "cluster" {
  input = { name = "__CLUSTER__", region = "nyc1" }
}

module "node_pool" {
  source  = "./modules/node_pool"
  cluster = terraform_data.cluster.output.name
  nodes   = var.node_count
}

resource "terraform_data" "slow_step" {
  triggers_replace = var.hold_seconds
  input            = var.hold_seconds

  provisioner "local-exec" {
    command = "sleep ${self.input}"
  }
}

output "nodes" {
  value = module.node_pool.names
}
"""

_STATE_MODULE = """\
variable "cluster" {
  type = string
}

variable "nodes" {
  type = number
}

resource "terraform_data" "node" {
  count = var.nodes
  input = "${var.cluster}-node-${count.index}"
}

output "names" {
  value = terraform_data.node[*].output
}
"""


def pg_state_project(
    directory: str | os.PathLike[str], *, conn_str: str, schema: str = "course_state", cluster: str = "course-cluster"
) -> Path:
    """Write a small root module whose state lives in PostgreSQL (OpenTofu's built-in ``pg`` backend): a
    ``terraform_data`` "cluster", a local module ``modules/node_pool`` with ``node_count`` nodes, and a slow step
    that holds the state lock for ``hold_seconds``.

    ``conn_str`` is a libpq URL, e.g. ``postgres://app@127.0.0.1:5432/app?sslmode=disable`` (the sandbox's
    database; on a team, a managed PostgreSQL with a password from ``PG_CONN_STR`` instead of the file).

    Used in: notebook 01.
    """
    config.validate_name(cluster, what="cluster")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ConfigError(f"schema {schema!r} is not a plain identifier", hint="e.g. schema='course_state'")
    out = Path(directory).expanduser().resolve()
    (out / "modules" / "node_pool").mkdir(parents=True, exist_ok=True)
    main = _STATE_MAIN.replace("__CONN__", conn_str).replace("__SCHEMA__", schema).replace("__CLUSTER__", cluster)
    (out / "main.tf").write_text(main)
    (out / "modules" / "node_pool" / "main.tf").write_text(_STATE_MODULE)
    return out


def tofu(directory: str | os.PathLike[str], *args: str, timeout: float = 300.0) -> TofuStep:
    """Run one ``tofu`` command in a project (offline CLI configuration; never raises on a non-zero exit: the
    step says ``ok=False``).

    Example:
        >>> iac.tofu(path, "state", "list")  # doctest: +SKIP

    Used in: notebook 01.
    """
    path = _directory(directory)
    words = 2 if args[:1] == ("state",) else 1  # flags go after the (sub)command, before its arguments
    return _tofu([*args[:words], "-no-color", *args[words:]], directory=path, mirror=None, timeout=timeout)


@dataclass(frozen=True)
class LockConflict:
    """Two ``tofu apply`` runs at once on one state, as they happened.

    Attributes:
        holder: the first apply (it held the lock during its slow step).
        refused: the second apply, started while the first ran (``-lock-timeout=0s``).
        locks: the advisory locks PostgreSQL showed meanwhile (``pg_locks`` + ``pg_stat_activity``).
        force_unlock: ``tofu force-unlock -force <ID>`` with the ID the refusal printed.
        refused_again: a third apply right after it, while the first still ran.
    """

    holder: TofuStep
    refused: TofuStep
    locks: Any
    force_unlock: TofuStep
    refused_again: TofuStep

    def table(self) -> Any:
        """One row per step: the command, whether it succeeded, and the line that says why."""
        import pandas as pd

        def says(step: TofuStep) -> str:
            for needle in ("Error acquiring the state lock", "successfully unlocked", "Apply complete"):
                for line in step.output.splitlines():
                    if needle in line:
                        return line.strip()
            return _first_line(step)

        rows = [
            ("1st apply (holds the lock)", self.holder.ok, says(self.holder)),
            ("2nd apply, meanwhile", self.refused.ok, says(self.refused)),
            ("force-unlock <ID>", self.force_unlock.ok, says(self.force_unlock)),
            ("3rd apply, meanwhile", self.refused_again.ok, says(self.refused_again)),
        ]
        return pd.DataFrame(rows, columns=["step", "ok", "says"]).set_index("step")


def lock_conflict(
    directory: str | os.PathLike[str], *, db: Any, hold_seconds: int = 6, timeout: float = 60.0
) -> LockConflict:
    """Start an apply whose slow step holds the state lock for ``hold_seconds``, and while it runs: a second
    apply (refused: the lock), a look at ``pg_locks``, ``tofu force-unlock`` with the ID from the refusal, and a
    third apply. With the ``pg`` backend the lock is a PostgreSQL advisory lock held by the first apply's database
    session: ``force-unlock`` from another process reports success but cannot release it (the third apply is
    refused too); it ends with that session — when the apply finishes, or is killed.

    Used in: notebook 01.
    """
    import subprocess
    import time

    from . import tools

    path = _directory(directory)
    binary = tools.find("tofu")
    if binary is None:
        from .errors import ToolMissingError

        raise ToolMissingError("tofu is not built", hint="run `make tools`", program="tofu")
    base = mirror_dir()
    base.mkdir(parents=True, exist_ok=True)
    args = ["apply", "-auto-approve", "-no-color", f"-var=hold_seconds={hold_seconds}"]
    start = time.monotonic()
    first = subprocess.Popen(
        [binary, *args], cwd=path, env=_env(base, path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    locks_sql = (
        "SELECT l.objid AS lock, l.pid AS holder_pid, l.granted, a.state, a.backend_type FROM pg_locks l "
        "JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'"
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            locks = db.query(locks_sql, user="postgres")
            if len(locks) and first.poll() is None:
                break
            if first.poll() is not None or time.monotonic() > deadline:
                raise ToolError("the first apply never held the lock", hint="read its output", command="tofu apply")
            time.sleep(0.1)
        again = ["apply", "-auto-approve", "-lock-timeout=0s", f"-var=hold_seconds={hold_seconds + 1}"]
        refused = tofu(path, *again)
        match = re.search(r"ID:\s+([0-9a-f-]{36})", refused.output)
        unlock = tofu(path, "force-unlock", "-force", match.group(1) if match else "unknown")
        refused_again = tofu(path, *again)
        out, _ = first.communicate(timeout=timeout)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    holder = TofuStep(
        " ".join(args), first.returncode == 0, out.replace(str(path), ".").strip(), time.monotonic() - start
    )
    return LockConflict(holder, refused, locks, unlock, refused_again)


__all__ = [
    "DIGITALOCEAN_PROVIDER_VERSION",
    "DUMMY_TOKEN",
    "REGISTRY_HOST",
    "CheckReport",
    "LockConflict",
    "Plan",
    "PlannedResource",
    "TofuStep",
    "check",
    "cli_config",
    "fmt_check",
    "init",
    "lock_conflict",
    "mirror_dir",
    "mirrored_providers",
    "offline_project",
    "pg_state_project",
    "plan",
    "provider_mirror_path",
    "resolve_version",
    "tofu",
    "validate",
]
