"""widgets.explorer: a widget with a live frontend, the figure without one."""

from __future__ import annotations

import ipywidgets as w
import plotly.graph_objects as go
import pytest
import responses

from course_lib import widgets
from course_lib.errors import ConfigError, QueryError
from course_lib.observe import Prometheus

URL = "http://prom.test:9090"
MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"status": "200"}, "values": [[1714564800, "4"], [1714564815, "5"]]},
            {"metric": {"status": "500"}, "values": [[1714564800, "1"], [1714564815, "0.5"]]},
        ],
    },
}


def test_outside_a_kernel_there_is_no_live_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert widgets.live_frontend() is False
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert widgets.live_frontend() is False


@responses.activate
def test_static_returns_the_figure() -> None:
    responses.get(f"{URL}/api/v1/query_range", json=MATRIX)
    fig = widgets.explorer(Prometheus(URL), default_query="sum by (status) (rate(x[1m]))")
    assert isinstance(fig, go.Figure) and [t.name for t in fig.data] == ["200", "500"]
    assert fig.layout.title.text == "sum by (status) (rate(x[1m]))"


@responses.activate
def test_static_query_error_raises() -> None:
    responses.get(
        f"{URL}/api/v1/query_range",
        status=400,
        json={"status": "error", "errorType": "bad_data", "error": "parse error"},
    )
    with pytest.raises(QueryError):
        widgets.explorer(Prometheus(URL), default_query="rate(", static=True)


@responses.activate
def test_widget_runs_and_reports_errors() -> None:
    responses.get(f"{URL}/api/v1/query_range", json=MATRIX)
    box = widgets.explorer(Prometheus(URL), static=False)
    assert isinstance(box, w.VBox)
    query, controls, status, _out = box.children
    assert status.value == "2 series, 4 samples"
    responses.replace(
        responses.GET,
        f"{URL}/api/v1/query_range",
        status=400,
        json={"status": "error", "errorType": "bad_data", "error": "parse error: x"},
    )
    query.value = "rate("
    controls.children[2].click()
    assert "parse error: x" in status.value and "How to fix" in status.value


def test_unknown_range_is_rejected() -> None:
    with pytest.raises(ConfigError, match="range"):
        widgets.explorer(Prometheus(URL), range_="2d")


def test_latest_only_skips_the_positions_in_between() -> None:
    import threading

    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def work(value: int) -> None:
        seen.append(value)
        if value == 1:
            started.set()
            assert release.wait(10)

    latest = widgets.LatestOnly(work, on_error=pytest.fail)
    latest.submit(1)
    assert started.wait(10)
    for value in (2, 3, 4):  # arrive while 1 is being worked on: only the newest waits
        latest.submit(value)
    assert not latest.wait_idle(0.05)
    release.set()
    assert latest.wait_idle(10)
    assert seen == [1, 4] and latest.skipped == 2
    latest.submit(5)  # idle again: a new worker starts
    assert latest.wait_idle(10) and seen == [1, 4, 5]


def test_latest_only_reports_errors_and_keeps_working() -> None:
    errors: list[Exception] = []
    seen: list[int] = []

    def work(value: int) -> None:
        if value < 0:
            raise ValueError(f"bad {value}")
        seen.append(value)

    latest = widgets.LatestOnly(work, on_error=errors.append)
    latest.submit(-1)
    assert latest.wait_idle(10)
    latest.submit(3)
    assert latest.wait_idle(10)
    assert [str(e) for e in errors] == ["bad -1"] and seen == [3]


def test_show_replaces_the_output_widgets_content() -> None:
    out = w.Output()
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    widgets.show(out, fig, "weights applied\n")
    first, second = out.outputs
    assert first["output_type"] == "display_data" and "application/vnd.plotly.v1+json" in first["data"]
    assert second == {"output_type": "stream", "name": "stdout", "text": "weights applied\n"}
    widgets.show(out, "only this")
    assert [o.get("text") for o in out.outputs] == ["only this"]
