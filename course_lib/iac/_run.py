"""Part 1's OpenTofu runner: the provider mirror, the offline CLI configuration, one ``tofu`` command and its
output (:class:`TofuStep`), ``fmt -check``, ``init`` and ``validate``. See :mod:`course_lib.iac`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import cache_dir
from ..errors import ConfigError, ToolError
from ..pins import DIGITALOCEAN_PROVIDER_VERSION

#: The token the offline plan passes (as ``TF_VAR_do_token``): obviously fake and not shaped like a DO token.
DUMMY_TOKEN = "offline-plan-no-real-token"
#: Where OpenTofu looks providers up by default (the mirror repeats this host in its layout).
REGISTRY_HOST = "registry.opentofu.org"
_PLATFORM = "linux_amd64"


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
    from ..errors import SECRET_ENV_VARS

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
    from ..tools import run

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
