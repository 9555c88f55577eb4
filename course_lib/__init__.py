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
    CostLimitError,
    CourseError,
    ExerciseError,
    ProvisionError,
    QueryError,
    SandboxError,
    ToolMissingError,
    ValidationError,
)

__version__ = "0.1.0"

# name -> "module:attribute", imported on first access
_LAZY: dict[str, str] = {
    "doctor": "course_lib._doctor:doctor",
    "start": "course_lib.session:start",
    "check": "course_lib.exercises:check",
    "run_parts": "course_lib.runner:run_parts",
    "list_parts": "course_lib.runner:list_parts",
}


#: submodules reachable as attributes (``cl.runner``, ``cl.sandbox`` ...), imported on first access
_SUBMODULES = {
    "cluster",
    "config",
    "drills",
    "errors",
    "exercises",
    "export",
    "capstone",
    "charts",
    "gitops",
    "policy",
    "postgres",
    "regions",
    "traffic",
    "manifests",
    "observe",
    "plots",
    "progress",
    "provision",
    "runner",
    "sandbox",
    "session",
    "solutions",
    "tools",
    "widgets",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        submodule = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = submodule
        return submodule
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from ._doctor import doctor
    from .exercises import check
    from .runner import list_parts, run_parts
    from .session import start

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
    "CostLimitError",
    "ExerciseError",
    "ValidationError",
    "__version__",
    "doctor",
    "list_parts",
    "run_parts",
    "settings",
    "start",
    "check",
]
