"""The first code cell of every notebook: ``settings = cl.start(target=target)``.

It validates the parameters, sets display defaults that keep notebooks small and readable (plotly
figures as their JSON mime type, which JupyterLab renders natively; pandas without truncated columns),
and returns the :class:`~course_lib.config.Settings` for the session.

Used in: every notebook.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .config import Settings

_RENDERER = "plotly_mimetype"


def start(*, target: str = "sandbox", **kwargs: Any) -> Settings:
    """Validate the notebook's parameters and prepare the display.

    Example:
        >>> settings = start(target="sandbox")
        >>> settings.target
        'sandbox'
    """
    settings = Settings(target=target, **kwargs)  # type: ignore[arg-type]
    _plotly_mimetype()
    try:
        import pandas as pd

        pd.set_option("display.max_colwidth", 120)
        pd.set_option("display.width", 160)
    except ImportError:  # pragma: no cover
        pass
    return settings


__all__ = ["start"]


def _plotly_mimetype() -> None:
    """Make plotly render figures as their mime type, without loading plotly's renderers in the first cell.

    They import nbformat, and through it jsonschema's format checkers, which compile a grammar: about 2.5 s that
    notebooks without a plot need not pay. ``PLOTLY_RENDERER`` is read when they load (at the first figure).
    (Loading them in a background thread would hide the wait, but concurrent imports of the same packages can
    deadlock, so the course does not.)
    """
    if "plotly.io._renderers" in sys.modules:  # already loaded: the variable is not read again
        sys.modules["plotly.io._renderers"].renderers.default = _RENDERER
    else:
        os.environ["PLOTLY_RENDERER"] = _RENDERER
