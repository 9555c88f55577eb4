"""Import the ``kubernetes`` package on first use, without its optional ``kubernetes_validate`` hook.

``kubernetes/__init__.py`` imports ``kubernetes.dynamic``, which tries ``import kubernetes_validate``; that
pulls in ``jsonschema`` and, through its format checkers, ``rfc3987_syntax``, which compiles a grammar at
import time (seconds on the course machine). The course never calls ``DynamicClient.validate``
(manifest validation lives in ``course_lib.manifests``), so the first import of ``kubernetes`` here hides
``kubernetes_validate`` for that one import. If something imported ``kubernetes_validate`` earlier, nothing
is hidden and nothing changes.

Used in: every ``Cluster`` method that talks to a server.
"""

from __future__ import annotations

import sys
from types import ModuleType


def load_kubernetes() -> ModuleType:
    """Return the ``kubernetes`` package, importing it quickly the first time."""
    if "kubernetes" in sys.modules:
        return sys.modules["kubernetes"]
    hide = "kubernetes_validate" not in sys.modules
    if hide:
        sys.modules["kubernetes_validate"] = None  # type: ignore[assignment]  # makes the import raise ImportError
    try:
        import kubernetes
    finally:
        if hide and sys.modules.get("kubernetes_validate", 0) is None:
            del sys.modules["kubernetes_validate"]
    return kubernetes


__all__ = ["load_kubernetes"]
