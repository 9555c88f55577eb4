"""The first code cell of every notebook: ``settings = cl.start(target=target)``.

It validates the parameters, sets display defaults that keep notebooks small and readable (plotly
figures as their JSON mime type, which JupyterLab renders natively; pandas without truncated columns),
and returns the :class:`~course_lib.config.Settings` for the session.

Used in: every notebook.
"""

from __future__ import annotations

from typing import Any

from .config import Settings


def start(*, target: str = "sandbox", **kwargs: Any) -> Settings:
    """Validate the notebook's parameters and prepare the display.

    Example:
        >>> settings = start(target="sandbox")   # doctest: +SKIP
        >>> settings.target
        'sandbox'
    """
    settings = Settings(target=target, **kwargs)  # type: ignore[arg-type]
    try:
        import plotly.io as pio

        pio.renderers.default = "plotly_mimetype"
    except ImportError:  # pragma: no cover - plotly is a dependency
        pass
    try:
        import pandas as pd

        pd.set_option("display.max_colwidth", 120)
        pd.set_option("display.width", 160)
    except ImportError:  # pragma: no cover
        pass
    return settings


__all__ = ["start"]
