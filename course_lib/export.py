"""Readable, offline HTML exports of executed notebooks, with their plotly figures drawn.

The notebooks store plotly figures as the ``application/vnd.plotly.v1+json`` mime type (``course_lib.session``
sets that renderer, which JupyterLab draws natively). nbconvert's HTML exporter does not know that type, so a
plain ``jupyter nbconvert --to html`` shows no plot. :class:`PlotlyPreprocessor` turns each such output into a
``<div>`` plus a ``Plotly.newPlot`` call, and :func:`export_html` writes one self-contained file that embeds the
installed plotly package's own ``plotly.min.js`` exactly once (only when there is a figure), loads nothing from
the network (no require.js, MathJax, mermaid or widget manager from a CDN), and therefore opens offline.

Example:
    >>> from course_lib.export import export_html
    >>> result = export_html("runs/20261126-0800-abc123/03_observability.ipynb")  # doctest: +SKIP
    >>> result.figures  # doctest: +SKIP
    5

Used in: ``course run`` (an HTML file next to every executed notebook, linked from report.html) and
``course export``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, RunError, redact

#: The mime type plotly's ``plotly_mimetype`` renderer writes into notebooks.
PLOTLY_MIME = "application/vnd.plotly.v1+json"

_TEMPLATE_NAME = "course_export.html.j2"
# Extends nbconvert's "lab" page and removes everything it would fetch from a CDN; adds plotly.js once.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.course_plotly_js or resources.course_plotly_src -%}
<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
{%- if resources.course_plotly_src -%}
<script type="text/javascript" id="course-plotly-js" src="{{ resources.course_plotly_src | e }}"></script>
{%- else -%}
<script type="text/javascript" id="course-plotly-js">{{ resources.course_plotly_js }}</script>
{%- endif -%}
{%- endif -%}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


@dataclass(frozen=True)
class ExportResult:
    """One written HTML file.

    Attributes:
        path: the HTML file.
        notebook: the notebook it was made from.
        figures: plotly figures drawn in it (plotly.js is embedded only when this is > 0).
        seconds: how long the export took.
        size_bytes: size of the HTML file.
    """

    path: Path
    notebook: Path
    figures: int
    seconds: float
    size_bytes: int

    def __str__(self) -> str:
        return f"{self.path} ({self.figures} figure(s), {self.size_bytes / 1e6:.1f} MB, {self.seconds:.2f} s)"


def plotly_js() -> str:
    """The ``plotly.min.js`` bundled with the installed plotly package (the same version that made the figures)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:  # pragma: no cover - plotly is a dependency
        raise RunError("plotly is not installed", hint="pip install plotly (it is a course dependency)") from None
    return get_plotlyjs().replace("</script", "<\\/script")


def _script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>`` can end it early)."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def figure_html(figure: dict[str, Any], div_id: str) -> str:
    """The ``<div>`` and ``Plotly.newPlot`` call that draw one figure (plotly.js must be on the page)."""
    layout = figure.get("layout") or {}
    height = layout.get("height") if isinstance(layout.get("height"), int | float) else 450
    config = {"responsive": True, "displaylogo": False, **(figure.get("config") or {})}
    return (
        f'<div id="{div_id}" class="plotly-graph-div course-plotly" style="height:{height}px; width:100%;"></div>\n'
        '<script type="text/javascript">\n'
        f'Plotly.newPlot("{div_id}", {_script_json(figure.get("data") or [])}, {_script_json(layout)}, '
        f"{_script_json(config)});\n"
        "</script>"
    )


def _preprocessor_class() -> type:
    from nbconvert.preprocessors import Preprocessor

    class PlotlyPreprocessor(Preprocessor):  # type: ignore[misc]
        """Replace every plotly JSON output with HTML that draws it, and count them in ``resources``."""

        def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            resources["course_figures"] = 0
            prefix = resources.get("course_id_prefix", "fig")
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    data = (
                        output.get("data") if output.get("output_type") in ("display_data", "execute_result") else None
                    )
                    if not data or PLOTLY_MIME not in data:
                        continue
                    figure = data[PLOTLY_MIME]
                    if isinstance(figure, str):  # some writers store it as a JSON string
                        figure = json.loads(figure)
                    resources["course_figures"] += 1
                    div_id = f"{prefix}-{resources['course_figures']}"
                    output["data"] = {"text/html": figure_html(figure, div_id)}
            return nb, resources

    return PlotlyPreprocessor


def _nbconvert_data_dir() -> list[str]:
    """The ``share/jupyter/nbconvert/templates`` folder of the installed nbconvert, wherever it was installed.

    nbconvert looks for its templates in the Jupyter data paths of the running Python; when nbconvert comes from
    another prefix (``pip --user``, a venv that borrows a parent's packages) they are not there.
    """
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution("nbconvert")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - nbconvert is a dependency
        return []
    for file in dist.files or ():
        if str(file).replace("\\", "/").endswith("nbconvert/templates/lab/index.html.j2"):
            return [str(Path(str(dist.locate_file(file))).resolve().parents[1])]
    return []


def shared_plotly_js(folder: str | Path) -> Path:
    """Write the installed plotly's ``plotly.min.js`` into ``folder`` once (named by its version) and return it.

    For many exports in one folder tree (a classroom run): each HTML file then loads this one file by a relative
    path instead of embedding its own ~4.6 MB copy, and still opens offline as long as the folder stays together.
    """
    import plotly

    path = Path(folder) / f"plotly-{plotly.__version__}.min.js"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(plotly_js(), encoding="utf-8")
        os.replace(tmp, path)  # atomic: parallel exports never see half a file
    return path


def notebook_html(
    nb: Any, *, title: str = "", id_prefix: str = "course-fig", plotly_src: str | None = None
) -> tuple[str, int]:
    """Render an nbformat notebook to HTML; returns ``(html, number_of_figures)``.

    plotly.js is embedded (self-contained file) unless ``plotly_src`` gives a URL, e.g. a relative path to the file
    :func:`shared_plotly_js` wrote.
    """
    import jinja2
    from nbconvert import HTMLExporter

    nb = nb.copy() if hasattr(nb, "copy") else nb
    nb.metadata.pop("widgets", None)  # the widget manager would come from a CDN; widgets need a kernel anyway
    templates = _nbconvert_data_dir()
    exporter = HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        extra_template_basedirs=templates,  # finds "lab" and its base templates by name
        extra_template_paths=templates,  # resolves {% extends 'base/...' %} inside them
        exclude_anchor_links=True,
    )
    counter = _preprocessor_class()()
    nb, counted = counter.preprocess(nb, {"course_id_prefix": id_prefix})
    figures = int(counted["course_figures"])
    resources: dict[str, Any] = {"metadata": {"name": title or "notebook"}}
    if figures and plotly_src:
        resources["course_plotly_src"] = plotly_src
    elif figures:
        resources["course_plotly_js"] = plotly_js()
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body, figures


def export_html(
    notebook: str | Path, *, output: str | Path | None = None, plotly_js_file: str | Path | None = None
) -> ExportResult:
    """Write an executed notebook as one HTML file that shows its outputs and plots offline.

    Args:
        notebook: an ``.ipynb`` file (executed, with outputs).
        output: the HTML file to write; default: next to the notebook, with ``.html``.
        plotly_js_file: a ``plotly.min.js`` on disk (:func:`shared_plotly_js`) to load by relative path instead
            of embedding plotly.js; default: embedded, so the file works on its own.

    Returns:
        An :class:`ExportResult` with the path, the number of figures and the time taken.

    Raises:
        ConfigError: the notebook does not exist or is not a notebook (nothing is written).

    Example:
        >>> export_html("notebooks/03_observability.ipynb", output="/tmp/03.html").figures  # doctest: +SKIP
        6

    Used in: ``course run`` (``--html``, the default) and ``course export``.
    """
    import nbformat

    start = time.perf_counter()
    src = Path(notebook)
    if src.suffix != ".ipynb" or not src.is_file():
        raise ConfigError(
            f"{str(src)!r} is not a notebook file",
            hint="give an executed .ipynb, e.g. runs/<run-id>/00_welcome_and_setup.ipynb",
        )
    try:
        nb = nbformat.read(src, as_version=4)
    except Exception as exc:  # nbformat raises several types for unreadable JSON
        raise ConfigError(
            f"cannot read notebook {str(src)!r}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
            hint="is it a Jupyter notebook (.ipynb JSON)? Re-run it with `course run` if it was cut short",
        ) from None
    dest = Path(output) if output else src.with_suffix(".html")
    if dest.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"output {str(dest)!r} should end in .html", hint="e.g. -o 03_observability.html")
    title = next(
        (
            line[2:].strip()
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("# ")
        ),
        src.stem,
    )
    src_url = None
    if plotly_js_file is not None:
        script = Path(plotly_js_file)
        if not script.is_file():
            raise ConfigError(f"{str(script)!r} does not exist", hint="write it first with shared_plotly_js(folder)")
        src_url = Path(os.path.relpath(script.resolve(), dest.resolve().parent)).as_posix()
    body, figures = notebook_html(nb, title=title, id_prefix=f"fig-{src.stem}", plotly_src=src_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(redact(body), encoding="utf-8")
    return ExportResult(
        path=dest,
        notebook=src,
        figures=figures,
        seconds=round(time.perf_counter() - start, 3),
        size_bytes=dest.stat().st_size,
    )


#: Where the static images' browser is (Debian's ``chromium`` package, which ``make setup`` installs).
CHROMIUM = "/usr/bin/chromium"
#: A proxy nothing listens on (the discard port of loopback): the image browser can load nothing from the network.
_NO_NETWORK_PROXY = "127.0.0.1:9"
#: Size of the static twin of a figure that sets none itself (plotly's own default is 700 x 500).
STATIC_SIZE = (900, 500)


def add_static_images(nb: Any, *, browser: str = CHROMIUM) -> int:
    """Give every plotly output of an executed notebook an ``image/png`` twin, drawn by kaleido (MIT) in Chromium.

    JupyterLab draws the plotly mime type itself; GitHub and nbviewer run no JavaScript and show the PNG instead of
    a blank space. The browser loads the installed plotly's own ``plotly.min.js`` from a file, MathJax is off, and
    any request it would still make goes to a proxy on 127.0.0.1 that refuses it: building images needs no network.

    Returns:
        the number of images added (outputs that already have one are left alone).

    Raises:
        RunError: Chromium is missing or a figure cannot be drawn (names the cell and how to fix it).

    Example:
        >>> import nbformat
        >>> add_static_images(nbformat.v4.new_notebook())
        0

    Used in: ``course notebooks build``.
    """
    import tempfile

    pending = [
        (index, output)
        for index, cell in enumerate(nb.cells)
        if cell.get("cell_type") == "code"
        for output in cell.get("outputs", [])
        if PLOTLY_MIME in output.get("data", {}) and "image/png" not in output.get("data", {})
    ]
    if not pending:
        return 0
    if not Path(browser).is_file():
        raise RunError(
            f"the static images need Chromium at {browser}, which is missing",
            hint="make setup installs Debian's chromium package (or: apt-get install chromium)",
        )
    import base64

    import kaleido

    with tempfile.TemporaryDirectory(prefix="course-kaleido-") as tmp:
        script = Path(tmp) / "plotly.min.js"
        from plotly.offline import get_plotlyjs

        script.write_text(get_plotlyjs(), encoding="utf-8")
        kaleido.start_sync_server(
            path=browser, plotlyjs=str(script), mathjax=False, proxy_server=_NO_NETWORK_PROXY, silence_warnings=True
        )
        try:
            for index, output in pending:
                figure = output["data"][PLOTLY_MIME]
                layout = figure.get("layout", {})
                opts = {
                    "format": "png",
                    "width": layout.get("width", STATIC_SIZE[0]),
                    "height": layout.get("height", STATIC_SIZE[1]),
                }
                try:
                    png = kaleido.calc_fig_sync(dict(figure), opts=opts)
                except Exception as exc:  # kaleido raises its own and choreographer's errors
                    raise RunError(
                        f"cell {index}: its plotly figure could not be drawn as an image: {type(exc).__name__}: {exc}",
                        hint="run the notebook in JupyterLab to see the figure; report it if it draws there",
                    ) from None
                output["data"]["image/png"] = base64.b64encode(png).decode("ascii")
        finally:
            kaleido.stop_sync_server(silence_warnings=True)
    return len(pending)


__all__ = [
    "CHROMIUM",
    "PLOTLY_MIME",
    "STATIC_SIZE",
    "add_static_images",
    "ExportResult",
    "export_html",
    "figure_html",
    "notebook_html",
    "plotly_js",
    "shared_plotly_js",
]
