"""Part 6 and 7's files: the course's checkout chart and kustomize tree copied into a working directory, a
``tree``-like listing, one file's text, an environment's values, a generator literal and the ConfigMaps each
Deployment loads. See :mod:`course_lib.charts`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._resources import data_path
from ..errors import ConfigError

DATA_DIR = data_path()
CHART_SOURCE = DATA_DIR / "charts" / "checkout"
KUSTOMIZE_SOURCE = DATA_DIR / "kustomize"
ENVIRONMENTS = ("dev", "prod")

#: The configmap template with its ``range`` never closed: what ``helm lint`` reports in the exercise of Part 6.
BROKEN_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "checkout.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "checkout.labels" . | nindent 4 }}
data:
  ENVIRONMENT: {{ .Values.environment | quote }}
  {{- range $key, $value := .Values.config }}
  {{ $key }}: {{ $value | quote }}
"""


# --- files ------------------------------------------------------------------------------------------


def _fresh(target: Path) -> Path:
    if target.exists():
        raise ConfigError(f"{str(target)!r} exists already", hint="choose another directory or name, or delete it")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def write_chart(directory: str | os.PathLike[str], *, name: str = "checkout", broken: bool = False) -> Path:
    """Copy the course's checkout chart into ``directory/name`` and return the chart folder.

    Args:
        directory: the working directory.
        name: the folder name (the chart's own name stays ``checkout``).
        broken: replace ``templates/configmap.yaml`` with :data:`BROKEN_CONFIGMAP` (for the exercise).

    Raises:
        ConfigError: ``directory/name`` exists already.

    Used in: notebook 06.
    """
    from ..config import validate_name

    target = _fresh(Path(directory).expanduser() / validate_name(name, what="chart folder"))
    shutil.copytree(CHART_SOURCE, target)
    if broken:
        (target / "templates" / "configmap.yaml").write_text(BROKEN_CONFIGMAP)
    return target


@dataclass(frozen=True)
class KustomizeTree:
    """A kustomize base with its overlays, written into a working directory.

    Attributes:
        root: the folder holding ``base/`` and ``overlays/``.
    """

    root: Path

    @property
    def base(self) -> Path:
        return self.root / "base"

    def overlay(self, name: str) -> Path:
        """The folder of one overlay, e.g. ``tree.overlay("prod")``.

        Raises:
            ConfigError: no such overlay (the valid names are listed).
        """
        path = self.root / "overlays" / name
        if not path.is_dir():
            names = sorted(p.name for p in (self.root / "overlays").iterdir() if p.is_dir())
            raise ConfigError(f"no overlay named {name!r}", hint=f"choose one of: {', '.join(names)}")
        return path

    def __str__(self) -> str:
        return listing(self.root)


def write_kustomize_tree(directory: str | os.PathLike[str], *, name: str = "kustomize") -> KustomizeTree:
    """Copy the course's kustomize base and dev/prod overlays into ``directory/name``.

    Raises:
        ConfigError: ``directory/name`` exists already.

    Used in: notebook 07.
    """
    target = _fresh(Path(directory).expanduser() / name)
    shutil.copytree(KUSTOMIZE_SOURCE, target)
    return KustomizeTree(target)


def listing(root: str | os.PathLike[str]) -> str:
    """A ``tree``-like listing of the files under ``root`` (files first, then folders, each sorted by name).

    Example:
        >>> print(listing(CHART_SOURCE).splitlines()[0])
        checkout/
    """
    base = Path(root)
    lines = [f"{base.name}/"]

    def walk(folder: Path, indent: str) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: (p.is_dir(), p.name))
        for i, entry in enumerate(entries):
            last = i == len(entries) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{entry.name}{'/' if entry.is_dir() else ''}")
            if entry.is_dir():
                walk(entry, indent + ("    " if last else "│   "))

    walk(base, "")
    return "\n".join(lines)


def read(root: str | os.PathLike[str], relative: str) -> str:
    """The text of one file of a chart or kustomize tree.

    Raises:
        ConfigError: no such file (the files that exist are listed).
    """
    base = Path(root)
    path = base / relative
    if not path.is_file():
        files = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        raise ConfigError(f"no file {relative!r} in {base.name}", hint=f"files: {', '.join(files)}")
    return path.read_text()


def environment_values(chart: str | os.PathLike[str], environment: str) -> dict[str, Any]:
    """The values of ``values-<environment>.yaml`` in a chart, as a dict for ``helm_template``.

    Raises:
        ConfigError: unknown environment.

    Used in: notebook 06.
    """
    import yaml

    path = Path(chart) / f"values-{environment}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"the chart has no values-{environment}.yaml", hint=f"environments: {', '.join(ENVIRONMENTS)}"
        )
    return dict(yaml.safe_load(path.read_text()) or {})


def set_literal(overlay: str | os.PathLike[str], key: str, value: str, *, generator: str = "checkout-config") -> Path:
    """Set ``KEY=value`` in an overlay's ``configMapGenerator`` literals (add or replace) and save the file.

    Used in: notebook 07 (a changed ConfigMap gets a new hash suffix, so the Deployment rolls).
    """
    import yaml

    path = Path(overlay) / "kustomization.yaml"
    doc = yaml.safe_load(path.read_text())
    for gen in doc.get("configMapGenerator") or []:
        if gen.get("name") == generator:
            literals = [lit for lit in gen.get("literals") or [] if not lit.startswith(f"{key}=")]
            gen["literals"] = [*literals, f"{key}={value}"]
            break
    else:
        raise ConfigError(f"{path.parent.name} has no configMapGenerator {generator!r}", hint="check the overlay")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def config_refs(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """For each Deployment: the ConfigMaps that exist and the one its pods load (``envFrom``).

    Used in: notebook 07.
    """
    maps = [o["metadata"]["name"] for o in objects if o.get("kind") == "ConfigMap"]
    rows = []
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name", "")
                rows.append(
                    {
                        "deployment": obj["metadata"]["name"],
                        "loads ConfigMap": ref,
                        "exists": ref in maps,
                    }
                )
    return rows
