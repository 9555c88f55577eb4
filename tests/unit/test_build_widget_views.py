"""``course notebooks build`` keeps no ipywidgets view in a committed notebook (GitHub, nbviewer, JupyterLab)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_lib.runner import clean_executed
from course_lib.runner._build import WIDGET_VIEW, drop_widget_views

ROOT = Path(__file__).resolve().parents[2]
STATE = "application/vnd.jupyter.widget-state+json"
PLOTLY = "application/vnd.plotly.v1+json"


def _view(model_id: str, text: str | None) -> dict:
    data: dict = {WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}}
    if text is not None:
        data["text/plain"] = text
    return new_output("display_data", data=data)


def test_views_go_their_text_stays_other_outputs_are_untouched() -> None:
    plot = new_output("display_data", data={PLOTLY: {"data": []}, "image/png": "iVBORw0KGgo="})
    nb = new_notebook(
        cells=[
            new_code_cell("bar", outputs=[_view("a1", "  0%|          | 0/3"), new_output("stream", text="done\n")]),
            new_code_cell("slider", outputs=[_view("b2", None), plot]),
            new_code_cell("nothing", outputs=[]),
        ],
        metadata={"widgets": {STATE: {"state": {"a1": {}, "b2": {}}, "version_major": 2, "version_minor": 0}}},
    )
    assert drop_widget_views(nb) == 2
    first, second, third = (c.outputs for c in nb.cells)
    assert [o.get("data") for o in first] == [{"text/plain": "  0%|          | 0/3"}, None]
    assert first[1].text == "done\n"
    assert len(second) == 1 and set(second[0].data) == {PLOTLY, "image/png"}  # the view had nothing to fall back on
    assert third == []
    assert "widgets" not in nb.metadata
    assert drop_widget_views(nb) == 0  # nothing left to drop


def test_other_widget_metadata_is_kept() -> None:
    nb = new_notebook(metadata={"widgets": {STATE: {"state": {}}, "x-other": {"k": 1}}})
    drop_widget_views(nb)
    assert nb.metadata["widgets"] == {"x-other": {"k": 1}}


def test_a_real_kernel_run_that_shows_a_widget_builds_without_its_view(tmp_path: Path) -> None:
    """nbclient (papermill's engine) saves the view and the widget state; the build keeps neither."""
    from nbclient import NotebookClient

    nb = new_notebook(
        cells=[new_code_cell("import ipywidgets as w\nw.IntSlider(value=7, description='canary %')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (out,) = nb.cells[0].outputs
    assert WIDGET_VIEW in out.data and STATE in nb.metadata.get("widgets", {})  # what nbclient really writes
    built = json.loads(nbformat.writes(clean_executed(nb)))
    (out,) = built["cells"][0]["outputs"]
    assert set(out["data"]) == {"text/plain"} and "IntSlider" in "".join(out["data"]["text/plain"])
    assert "widgets" not in built["metadata"]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_hold_no_widget_view_and_no_widget_state(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    views = [
        i for i, cell in enumerate(nb["cells"]) for out in cell.get("outputs", []) if WIDGET_VIEW in out.get("data", {})
    ]
    assert not views, f"{path.name}: cells {views} keep widget views; rebuild with `course notebooks build`"
    assert STATE not in nb["metadata"].get("widgets", {}), f"{path.name} keeps saved widget state"


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("03_observability.ipynb", "widgets.explorer("),
        ("04_networking_mesh.ipynb", "cl.widgets.canary_slider("),
        ("04_networking_mesh.ipynb", "cl.widgets.live_canary_slider("),
    ],
)
def test_widget_cells_show_a_static_figure_with_an_image(name: str, call: str) -> None:
    """Where the learner gets a widget in JupyterLab, the committed notebook shows its plot (and a PNG for GitHub)."""
    nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "code" and call in "".join(c["source"])]
    kinds = [set(o.get("data", {})) for o in cell["outputs"]]
    assert any({PLOTLY, "image/png"} <= k for k in kinds), kinds
