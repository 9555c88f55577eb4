"""Where the data course_lib reads at run time lives: ``course_lib/data``, found through ``importlib.resources``.

The folder ships inside the package (the wheel carries it), so a checkout, an editable install and an installed
wheel all find it the same way::

    course_lib/data/
      crds/           authored CRD schemas that manifests.validate checks custom kinds against
      digitalocean/   the dated DigitalOcean snapshot (sizes, prices, options) used without a token
      rules-tests/    promtool unit tests of the course's alert rules
      kyverno-tests/  a Kyverno CLI test suite (policy, resources, expected verdicts)
      charts/         the course's Helm chart (Part 6)
      kustomize/      the kustomize base and overlays (Part 7)
      tools/          pins.env and the Go wrapper modules that `make tools` (scripts/build_tools.sh) builds;
                      course_lib.tools hashes the same files to find the built programs

One override, for tests and for trying changed data without reinstalling: ``COURSE_DATA_DIR`` names a folder laid
out like ``course_lib/data``, which then replaces it as a whole. ``scripts/build_tools.sh`` honours the same
variable. Module constants derived from it (``manifests.CRD_DIR`` …) are computed when their module is imported.

Example:
    >>> data_path("crds", "objectmeta.json").name
    'objectmeta.json'
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

#: The one environment variable that points the library at another data folder.
DATA_DIR_ENV = "COURSE_DATA_DIR"

#: What to do when a data file is missing (named in the errors of the modules that read them).
MISSING_HINT = (
    f"reinstall course-lib (its wheel ships course_lib/data), or set {DATA_DIR_ENV} to a folder laid out like it"
)


def data_root() -> Path:
    """The data folder: ``$COURSE_DATA_DIR`` when set, else the package's own ``course_lib/data``."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    from importlib.resources import files

    root = files("course_lib") / "data"
    if not isinstance(root, Path):  # imported from a zip: helm, promtool and kyverno need real files
        raise ConfigError(
            "course_lib is imported from an archive, so its data folder is not a real directory",
            hint=f"install it with pip (which unpacks it), or set {DATA_DIR_ENV} to an unpacked course_lib/data",
        )
    return root


def data_path(*parts: str) -> Path:
    """A path inside the data folder, e.g. ``data_path("tools", "pins.env")`` (it need not exist)."""
    return data_root().joinpath(*parts)


def checkout_path(*parts: str) -> Path | None:
    """A file of the course repository beside the package (e.g. ``scripts/build_tools.sh``), or ``None`` where the
    package is installed without its repository (a wheel carries data, not the repository's scripts)."""
    from importlib.resources import files

    package = files("course_lib")
    if not isinstance(package, Path):
        return None
    candidate = package.parent.joinpath(*parts)
    return candidate if candidate.exists() else None


__all__ = ["DATA_DIR_ENV", "MISSING_HINT", "checkout_path", "data_path", "data_root"]
