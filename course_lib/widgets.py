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

import contextlib
import html
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import plots, traffic
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


class LatestOnly:
    """Run ``work(value)`` on a background thread for the latest value submitted, skipping the ones in between.

    A widget callback that takes seconds (a slider that applies a weight and sends real requests) must not run
    once per intermediate position: with the keyboard, or a drag, a learner sends several positions in a row and
    the kernel would work through all of them, in order, before drawing the last. ``submit`` returns at once; a
    worker thread, started when one is needed and gone when nothing is pending, runs ``work`` with the newest
    value; values submitted while it runs replace each other, so at most one waits. An exception from ``work``
    goes to ``on_error`` (a widget shows it) instead of vanishing into the kernel's log.

    The worker updates widgets from its thread: trait changes (``status.value = ...``, ``out.outputs = ...``,
    see :func:`show`) are sent over the kernel's thread-safe IOPub channel; the ``with out:`` capture, which
    belongs to the cell being executed, is not used there.

    Example:
        >>> seen = []
        >>> latest = LatestOnly(seen.append, on_error=print)
        >>> latest.submit(5); latest.wait_idle(5)
        True
        >>> seen
        [5]

    Used in: notebook 04 (the live canary slider).
    """

    def __init__(self, work: Callable[[Any], None], *, on_error: Callable[[Exception], None]) -> None:
        self._work = work
        self._on_error = on_error
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._pending: list[Any] = []  # at most one value: the latest
        self.skipped = 0

    def submit(self, value: Any) -> None:
        """Ask for ``value`` to be worked on (replacing a value still waiting); never blocks."""
        with self._lock:
            if self._pending:
                self.skipped += 1
            self._pending[:] = [value]
            if not self._idle.is_set():
                return  # the running worker picks it up when it is done
            self._idle.clear()
        threading.Thread(target=self._run, name="course-latest-only", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._idle.set()
                    return
                value = self._pending.pop()
            try:
                self._work(value)
            except Exception as exc:  # noqa: BLE001 - shown by on_error, never lost
                with contextlib.suppress(Exception):  # a failing reporter must not stop the worker
                    self._on_error(exc)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is running or waiting (True), or ``timeout`` seconds passed (False)."""
        return self._idle.wait(timeout)


def show(out: Any, *objects: Any) -> None:
    """Replace what the ``ipywidgets.Output`` ``out`` shows with ``objects``, in one update, from any thread.

    Each object becomes the mime bundle the notebook would show for it (its ``_repr_mimebundle_``, as a plotly
    figure has, else IPython's formatters); a ``str`` becomes plain text output.

    Used in: notebook 04 (the live canary slider).
    """
    from IPython.core.interactiveshell import InteractiveShell

    formatter = InteractiveShell.instance().display_formatter
    outputs: list[dict[str, Any]] = []
    for obj in objects:
        if isinstance(obj, str):
            outputs.append({"output_type": "stream", "name": "stdout", "text": obj})
            continue
        # the object's own bundle first: a plotly figure's _ipython_display_ would display it *in the cell* and
        # leave the formatter's result empty
        bundle = obj._repr_mimebundle_(include=None, exclude=None) if hasattr(obj, "_repr_mimebundle_") else None
        if bundle:
            data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        elif formatter is not None:
            data, metadata = formatter.format(obj)
        else:  # pragma: no cover - an InteractiveShell always has one
            data, metadata = {"text/plain": repr(obj)}, {}
        outputs.append({"output_type": "display_data", "data": data, "metadata": metadata})
    out.outputs = tuple(outputs)


# --- part 4: the canary sliders ------------------------------------------------------------------------


def canary_slider(
    *,
    initial: int = 10,
    requests: int = 1000,
    seed: int = 4,
    namespace: str = "shop",
    host: str = "checkout",
    static: bool | None = None,
) -> Any:
    """A canary slider: move it and the VirtualService/TraefikService weights are rebuilt, validated and simulated.

    Where no live frontend can draw widgets (papermill, HTML export, ``COURSE_STATIC_WIDGETS=1``) it returns the
    simulation figure for ``initial`` instead, so the executed notebook still shows a result.

    Args:
        initial: canary share the slider starts at.
        requests: simulated requests per position.
        seed: random seed of the simulation.
        namespace: namespace of the objects.
        host: the Service the canary splits.
        static: ``True`` returns the figure; ``False`` the widget; ``None`` decides with
            :func:`course_lib.widgets.live_frontend`.

    Raises:
        ConfigError: ``initial`` or ``requests`` out of range (before anything is built).

    Used in: notebook 04.
    """
    traffic.canary_weights(initial)
    sim = traffic.simulate_split(initial, requests=requests, seed=seed)
    if static is None:
        static = not live_frontend()
    if static:
        return plots.split_figure(sim)
    return _build_slider(initial=initial, requests=requests, seed=seed, namespace=namespace, host=host)


def _build_slider(*, initial: int, requests: int, seed: int, namespace: str, host: str) -> Any:
    import ipywidgets as w
    from IPython.display import display

    slider = w.IntSlider(value=initial, min=0, max=100, step=5, description="canary %", continuous_update=False)
    status = w.HTML()
    out = w.Output()

    def on_change(_: Any = None) -> None:
        plan = traffic.canary_plan(slider.value, namespace=namespace, host=host)
        sim = traffic.simulate_split(slider.value, requests=requests, seed=seed)
        color = "#1a7f37" if plan.ok else "#cf222e"
        status.value = f"<span style='color:{color}'>{html.escape(str(plan))}</span><br>{html.escape(str(sim))}"
        status.value = status.value.replace("\n", "<br>")
        out.clear_output(wait=True)
        with out:
            display(plots.split_figure(sim))
            print(plan.to_yaml())

    slider.observe(on_change, names="value")
    box = w.VBox([slider, status, out])
    box.update = on_change  # type: ignore[attr-defined]  # lets tests trigger a redraw
    box.slider = slider  # type: ignore[attr-defined]
    on_change()
    return box


def live_canary_slider(
    cluster: Any, edge: traffic.Edge, *, initial: int = 10, requests: int = 200, static: bool | None = None
) -> Any:
    """A slider that drives the *real* canary: each position applies the TraefikService weight, sends ``requests``
    real requests through Traefik and plots what they hit. Without a live frontend (batch runs) it returns
    :func:`course_lib.plots.sweep_figure` of a :func:`course_lib.traffic.weight_sweep` instead.

    A position takes a few seconds (the apply, Traefik picking the weight up from the API server, the requests),
    so the work runs off the kernel's main thread and only for the newest position (:class:`LatestOnly`):
    moving the slider across five stops measures where it stopped, not all five in turn; the status says at once
    what is being measured. Each position uses the Traefik that runs *now* (drill 8.7 restarts it on new ports);
    when none runs, or a step fails, the status says so and how to fix it.

    Used in: notebook 04.
    """
    traffic.canary_weights(initial)
    if static is None:
        static = not live_frontend()
    if static:
        return plots.sweep_figure(traffic.weight_sweep(cluster, edge, requests=requests, restore=initial))
    return _build_live_slider(cluster, edge, initial=initial, requests=requests)


def _running_traefik(edge: traffic.Edge) -> Any:
    """The Traefik running now for ``edge``'s API server (a restart has new ports), or None."""
    from .sandbox import traefik_endpoints

    now = traefik_endpoints()
    return now if now is not None and now.kubeconfig == edge.traefik.kubeconfig else None


def _build_live_slider(cluster: Any, edge: traffic.Edge, *, initial: int, requests: int) -> Any:
    import time

    import ipywidgets as w

    from .errors import CourseError, SandboxError

    slider = w.IntSlider(value=initial, min=0, max=100, step=5, description="v2 weight", continuous_update=False)
    status = w.HTML()
    out = w.Output()

    def measure(percent: int) -> None:
        started = time.monotonic()
        status.value = html.escape(
            f"measuring {percent}%: applying the weight, then {requests} real requests through Traefik ..."
        )
        traefik = _running_traefik(edge)
        if traefik is None:
            raise SandboxError(
                "Traefik is not running (drill 8.7, the clean-up cell or `course sandbox down` stopped it)",
                hint="start it again with `edge = traffic.start_edge(cluster)`, run this cell again, then move "
                "the slider",
            )
        traffic.set_canary_weight(cluster, traefik.api, percent, namespace=edge.namespace, labels=edge.labels)
        run = traffic.measure_split(traefik.web, canary_percent=percent, requests=requests, z=traffic.Z99)
        show(out, plots.observed_split_figure(run))
        status.value = html.escape(f"{run} ({time.monotonic() - started:.1f} s)")

    def failed(exc: Exception) -> None:
        message, hint = (
            (exc.message, exc.hint) if isinstance(exc, CourseError) else (f"{type(exc).__name__}: {exc}", "")
        )
        fix = f"<br><i>How to fix:</i> {html.escape(hint)}" if hint else ""
        status.value = f"<span style='color:#cf222e'>{html.escape(message)}</span>{fix}"

    latest = LatestOnly(measure, on_error=failed)
    slider.observe(lambda change: latest.submit(change["new"]), names="value")
    box = w.VBox([slider, status, out])
    box.update = lambda: latest.submit(slider.value)  # type: ignore[attr-defined]
    box.slider = slider  # type: ignore[attr-defined]
    box.worker = latest  # type: ignore[attr-defined]  # lets tests wait for the last position
    measure(initial)  # in the cell itself: Run All shows it before the next cell runs, and a failure is the cell's
    return box


__all__ = [
    "RANGES",
    "STATIC_ENV",
    "LatestOnly",
    "canary_slider",
    "explorer",
    "live_canary_slider",
    "live_frontend",
    "run_query",
    "show",
]
