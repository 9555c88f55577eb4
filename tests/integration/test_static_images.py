"""Static PNG twins of plotly outputs: drawn for real by kaleido in Debian's Chromium, with no network."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import nbformat
import pytest

from course_lib import export
from course_lib.errors import RunError

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(export.CHROMIUM).is_file(), reason="Debian's chromium is not installed (make setup)"),
]


def _notebook_with(figures: list[dict]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for figure in figures:
        cell = nbformat.v4.new_code_cell("plots.lines(frame)")
        cell.outputs = [nbformat.v4.new_output("display_data", data={export.PLOTLY_MIME: figure, "text/plain": "x"})]
        nb.cells.append(cell)
    return nb


def _figure(title: str, *, width: int | None = None) -> dict:
    import plotly.graph_objects as go
    import plotly.io as pio

    layout = {"title": {"text": title}, **({"width": width, "height": 300} if width else {})}
    return json.loads(pio.to_json(go.Figure(go.Bar(x=["a", "b"], y=[3, 5]), layout=layout)))


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_every_plotly_output_gets_a_png_of_its_own_size_and_a_second_pass_adds_none() -> None:
    nb = _notebook_with([_figure("default size"), _figure("sized", width=400)])
    assert export.add_static_images(nb) == 2
    sizes = [_png_size(cell.outputs[0].data["image/png"]) for cell in nb.cells]
    assert sizes == [export.STATIC_SIZE, (400, 300)]
    assert export.add_static_images(nb) == 0  # already there: left alone


def test_a_missing_browser_is_a_clear_error_before_anything_is_drawn(tmp_path: Path) -> None:
    nb = _notebook_with([_figure("x")])
    with pytest.raises(RunError, match="Chromium") as caught:
        export.add_static_images(nb, browser=str(tmp_path / "no-chromium"))
    assert "apt-get install chromium" in (caught.value.hint or "")
    assert "image/png" not in nb.cells[0].outputs[0].data
