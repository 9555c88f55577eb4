"""The HTML exporter: plotly JSON outputs become drawn figures, plotly.js is embedded once, nothing from a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from click.testing import CliRunner

from course_lib.cli import cli
from course_lib.errors import ConfigError
from course_lib.export import PLOTLY_MIME, export_html, figure_html, plotly_js, shared_plotly_js


def _bundle(fig: go.Figure) -> dict:
    """Exactly what ``plotly_mimetype`` (the renderer course_lib.session sets) puts into a notebook."""
    return pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())


def _notebook(path: Path, figures: int, *, extra_text: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    cells = [nbformat.v4.new_markdown_cell("# Plots for the test\n\nSome $x^2$ maths.")]
    for i in range(figures):
        cell = nbformat.v4.new_code_cell(f"fig{i}")
        fig = go.Figure(go.Bar(x=["a", "b"], y=[i + 1, 2]), layout={"title": {"text": f"figure {i}</script>"}})
        cell.outputs = [nbformat.v4.new_output("display_data", data=_bundle(fig))]
        cells.append(cell)
    text = nbformat.v4.new_code_cell("print('hello')")
    text.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello from a cell\n" + extra_text)]
    cells.append(text)
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def _external_resources(html: str) -> list[str]:
    """src/href attributes of elements that a browser would fetch from the network."""
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, flags=re.I)
    return [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t, flags=re.I)]


def test_figures_are_drawn_and_plotly_js_is_embedded_once(tmp_path: Path) -> None:
    src = _notebook(tmp_path / "03_plots.ipynb", figures=3)
    result = export_html(src)
    assert result.path == tmp_path / "03_plots.html" and result.figures == 3
    html = result.path.read_text()
    assert html.count('id="course-plotly-js"') == 1
    assert html.count(plotly_js()[:200]) == 1  # the bundle itself, once
    assert html.count('class="plotly-graph-div course-plotly"') == 3
    assert html.count("Plotly.newPlot(") == 3 + plotly_js().count("Plotly.newPlot(")
    assert PLOTLY_MIME not in html.replace(plotly_js(), "")  # no raw JSON mime left behind
    assert "figure 2<\\/script>" in html and "figure 2</script>" not in html  # a title cannot end the script early
    assert "hello from a cell" in html
    assert "<title>Plots for the test</title>" in html
    assert _external_resources(html) == []  # no require.js, MathJax, mermaid or widget manager from a CDN
    assert result.size_bytes == result.path.stat().st_size and result.seconds > 0


def test_shared_plotly_js_is_written_once_and_loaded_by_relative_path(tmp_path: Path) -> None:
    import plotly

    script = shared_plotly_js(tmp_path / "run")
    assert script.name == f"plotly-{plotly.__version__}.min.js" and script.read_text() == plotly_js()
    written = script.stat().st_mtime_ns
    assert shared_plotly_js(tmp_path / "run") == script and script.stat().st_mtime_ns == written  # not again

    (tmp_path / "run" / "ada").mkdir()
    src = _notebook(tmp_path / "run" / "ada" / "03_plots.ipynb", figures=2)
    result = export_html(src, plotly_js_file=script)
    html = result.path.read_text()
    assert f'id="course-plotly-js" src="../{script.name}"' in html
    assert plotly_js()[:200] not in html and result.size_bytes < 1_000_000  # the bundle is not copied in
    assert html.count('class="plotly-graph-div course-plotly"') == 2 and _external_resources(html) == []
    embedded = export_html(src, output=tmp_path / "alone.html")
    assert embedded.size_bytes > result.size_bytes + len(plotly_js()) // 2
    with pytest.raises(ConfigError, match="does not exist"):
        export_html(src, plotly_js_file=tmp_path / "missing.js")


def test_a_notebook_without_figures_carries_no_plotly_js(tmp_path: Path) -> None:
    result = export_html(_notebook(tmp_path / "00_text.ipynb", figures=0), output=tmp_path / "out" / "text.html")
    html = result.path.read_text()
    assert result.figures == 0 and "course-plotly-js" not in html
    assert result.size_bytes < 1_000_000 and "hello from a cell" in html


def test_figure_html_escapes_and_keeps_height() -> None:
    out = figure_html({"data": [{"type": "bar", "name": "</script><b>"}], "layout": {"height": 320}}, "f-1")
    assert 'id="f-1"' in out and "height:320px" in out
    assert "</script><b>" not in out and out.count("</script>") == 1
    payload = out.split("Plotly.newPlot(", 1)[1]
    assert json.loads(payload.split(", ", 1)[1].split(", {", 1)[0].replace("<\\/", "</"))[0]["name"] == "</script><b>"


def test_secrets_are_scrubbed_from_the_html(tmp_path: Path, fake_token: str) -> None:
    src = _notebook(tmp_path / "01_leak.ipynb", figures=0, extra_text=f"token {fake_token}\n")
    html = export_html(src).path.read_text()
    assert fake_token not in html and "token ***" in html


@pytest.mark.parametrize(
    ("name", "content", "output", "message"),
    [
        ("missing.ipynb", None, None, "is not a notebook file"),
        ("notes.txt", "hello", None, "is not a notebook file"),
        ("broken.ipynb", "{not json", None, "cannot read notebook"),
        ("ok.ipynb", "nb", "ok.pdf", "should end in .html"),
    ],
)
def test_bad_input_is_refused_before_writing(
    tmp_path: Path, name: str, content: str | None, output: str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "nb":
        _notebook(path, figures=0)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        export_html(path, output=tmp_path / output if output else None)
    assert message in err.value.message and err.value.hint
    assert not list(tmp_path.glob("*.html")) and not (tmp_path / "ok.pdf").exists()


def test_course_export_command(tmp_path: Path) -> None:
    src = _notebook(tmp_path / "04_plots.ipynb", figures=1)
    runner = CliRunner()
    done = runner.invoke(cli, ["export", str(src), "-o", str(tmp_path / "x.html")])
    assert done.exit_code == 0, done.output
    assert "x.html (1 figure(s)" in done.output and (tmp_path / "x.html").is_file()
    default = runner.invoke(cli, ["export", str(src)])
    assert default.exit_code == 0 and (tmp_path / "04_plots.html").is_file()
