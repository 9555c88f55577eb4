"""Interactive explorers built with ipywidgets, with a static fallback for papermill and HTML exports.

In JupyterLab :func:`explorer` returns a small PromQL workbench (query, range, step → plot and table). Where no
live frontend can draw widgets — a papermill/nbclient batch run, an HTML export, a plain Python shell, or
``COURSE_STATIC_WIDGETS=1`` — it returns the rendered plotly figure of the default query instead, so the
executed notebook still shows a result.

Example:
    >>> widgets.explorer(prom, default_query="sum by (status) (rate(checkout_requests_total[1m]))")  # doctest: +SKIP

Used in: notebook 03.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, CourseError

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from .observe import Prometheus

#: Ranges offered by the explorer's dropdown.
RANGES = ("5m", "15m", "1h", "6h")
STATIC_ENV = "COURSE_STATIC_WIDGETS"


def live_frontend() -> bool:
    """True when code runs in a Jupyter kernel that a live frontend drives.

    nbclient (and so papermill) sends every cell with ``allow_stdin=False``; JupyterLab and the classic notebook
    send ``True``. ``COURSE_STATIC_WIDGETS=1`` forces the static path.
    """
    if os.environ.get(STATIC_ENV, "").lower() in ("1", "true", "yes"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return False
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    kernel = getattr(shell, "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


def run_query(prom: Prometheus, query: str, *, start: str, step: str) -> tuple[Any, go.Figure]:
    """Run one explorer query: the range frame and its figure."""
    from . import plots

    frame = prom.query_range(query, start=f"-{start.lstrip('-')}", end="now", step=step)
    fig = plots.lines(frame, title=query if len(query) <= 70 else query[:67] + "...")
    return frame, fig


def explorer(
    prom: Prometheus,
    *,
    default_query: str = "sum by (status) (rate(checkout_requests_total[1m]))",
    range_: str = "15m",
    step: str = "15s",
    static: bool | None = None,
    max_rows: int = 8,
) -> Any:
    """A PromQL explorer: edit the query, pick a range and step, press Run, see a plot and the last rows.

    Args:
        prom: the Prometheus client to ask.
        default_query: the query shown (and run) first.
        range_: how far back to look, one of ``RANGES``.
        step: resolution (``"15s"``, ``"1m"`` ...).
        static: ``True`` returns the figure of ``default_query``; ``False`` the widget; ``None`` decides with
            :func:`live_frontend`.
        max_rows: rows of the result table shown under the plot.

    Returns:
        An ``ipywidgets.VBox`` in a live frontend, else a ``plotly`` Figure.

    Raises:
        ConfigError: unknown range (before anything runs).
        QueryError: in static mode, when Prometheus rejects ``default_query``.

    Used in: notebook 03.
    """
    if range_ not in RANGES:
        raise ConfigError(f"unknown range {range_!r}", hint=f"choose one of {', '.join(RANGES)}")
    if static is None:
        static = not live_frontend()
    if static:
        _, fig = run_query(prom, default_query, start=range_, step=step)
        return fig
    return _build_widget(prom, default_query=default_query, range_=range_, step=step, max_rows=max_rows)


def _build_widget(prom: Prometheus, *, default_query: str, range_: str, step: str, max_rows: int) -> Any:
    import ipywidgets as w
    from IPython.display import display

    query = w.Textarea(value=default_query, description="PromQL", layout=w.Layout(width="100%", height="60px"))
    rng = w.Dropdown(options=list(RANGES), value=range_, description="Range")
    stp = w.Text(value=step, description="Step", layout=w.Layout(width="180px"))
    run = w.Button(description="Run", button_style="primary", icon="play")
    status = w.HTML()
    out = w.Output()

    def on_run(_: Any = None) -> None:
        out.clear_output(wait=True)
        try:
            frame, fig = run_query(prom, query.value, start=rng.value, step=stp.value)
        except CourseError as exc:
            hint = f"<br><i>How to fix:</i> {html.escape(exc.hint)}" if exc.hint else ""
            status.value = f"<span style='color:#d62728'>{html.escape(exc.message)}</span>{hint}"
            return
        series = frame.drop(columns=["timestamp", "value"]).drop_duplicates().shape[0] if not frame.empty else 0
        status.value = f"{series} series, {len(frame)} samples"
        with out:
            display(fig)
            display(frame.tail(max_rows))

    run.on_click(on_run)
    box = w.VBox([query, w.HBox([rng, stp, run]), status, out])
    box.run = on_run  # type: ignore[attr-defined]  # lets tests and notebooks trigger a run
    on_run()
    return box


__all__ = ["RANGES", "STATIC_ENV", "explorer", "live_frontend", "run_query"]
