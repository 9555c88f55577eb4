"""Intermediate Kubernetes on DigitalOcean — the course's helper library.

The notebooks import this package and stay high level::

    import course_lib as cl
    settings = cl.settings(target="sandbox")
    cl.doctor()

Heavy dependencies (pandas, kubernetes, plotly, pydo) are imported only when first used, so
``import course_lib`` stays fast. Public names are listed in ``__all__`` and resolved lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import Secret, Settings, settings
from .errors import (
    ClusterError,
    ConfigError,
    CourseError,
    ProvisionError,
    QueryError,
    SandboxError,
    ToolMissingError,
    ValidationError,
)

__version__ = "0.1.0"

# name -> "module:attribute", imported on first access
_LAZY: dict[str, str] = {
    "doctor": "course_lib.doctor:doctor",
    "run_parts": "course_lib.runner:run_parts",
    "list_parts": "course_lib.runner:list_parts",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from .doctor import doctor
    from .runner import list_parts, run_parts

__all__ = [
    "ClusterError",
    "ConfigError",
    "CourseError",
    "ProvisionError",
    "QueryError",
    "SandboxError",
    "Secret",
    "Settings",
    "ToolMissingError",
    "ValidationError",
    "__version__",
    "doctor",
    "list_parts",
    "run_parts",
    "settings",
]
