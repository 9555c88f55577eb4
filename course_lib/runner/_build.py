"""``course notebooks build``: jupytext sources to the committed ``.ipynb``, executed on a private sandbox."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, RunError, redact, secret_values
from ._discover import notebooks_dir
from ._execute import _kernel_config

_VOLATILE_CELL_META = ("papermill", "execution")
#: An ipywidgets view: a reference to a model that lives in a kernel (or in saved widget state).
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def source_paths(parts: str | Iterable[int] | None = None) -> list[Path]:
    """The jupytext sources ``notebooks/src/NN_*.md``, optionally filtered by part number."""
    src = notebooks_dir() / "src"
    paths = sorted(src.glob("[0-9][0-9]_*.md"))
    if parts in (None, "all"):
        return paths
    wanted = {int(x) for x in (parts.split(",") if isinstance(parts, str) else parts)}
    known = {int(p.name[:2]) for p in paths}
    if wanted - known:
        raise ConfigError(
            f"no notebook source for part(s) {sorted(wanted - known)}",
            hint=f"sources exist for: {sorted(known)}",
        )
    return [p for p in paths if int(p.name[:2]) in wanted]


def read_source(path: Path) -> Any:
    """Read a jupytext Markdown source into an nbformat notebook."""
    import jupytext

    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def clean_executed(nb: Any) -> Any:
    """Drop metadata that changes on every execution (papermill timings, random cell ids), keep outputs.

    Widget views are dropped too (see :func:`drop_widget_views`).
    """
    nb.metadata.pop("papermill", None)
    drop_widget_views(nb)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"  # stable ids: a rebuild changes only what really changed
        for key in _VOLATILE_CELL_META:
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags") == []:
            cell.metadata.pop("tags")
    return nb


def drop_widget_views(nb: Any) -> int:
    """Remove every ipywidgets view output (and the saved widget state) from ``nb``; return how many went.

    A committed notebook is read without its kernel: on GitHub and nbviewer (no kernel, no widget manager) and in
    JupyterLab before the cells run, where a view whose model is not in the running kernel shows "Error displaying
    widget: model not found" and logs the error to the browser console. Saving the widget state instead would draw
    frozen widgets that do nothing when moved. The course's widgets return a static figure in batch runs
    (:func:`course_lib.widgets.live_frontend`), so what a reader sees is that figure and, for any other widget
    (a progress bar, say), the ``text/plain`` fallback of its output, which is kept. An output left with no data
    at all is removed.

    Used by ``course notebooks build`` (through :func:`clean_executed`).
    """
    dropped = 0
    for cell in nb.cells:
        outputs = cell.get("outputs")
        if not outputs:
            continue
        kept = []
        for output in outputs:
            data = output.get("data")
            if data and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                dropped += 1
                if not data:
                    continue
            kept.append(output)
        cell["outputs"] = kept
    widgets = nb.metadata.get("widgets")
    if widgets is not None:
        widgets.pop("application/vnd.jupyter.widget-state+json", None)
        if not widgets:
            nb.metadata.pop("widgets")
    return dropped


def build_notebooks(
    parts: str | Iterable[int] | None = None, *, execute_cells: bool = True, progress: bool = True
) -> list[Path]:
    """Build ``notebooks/NN_*.ipynb`` from their sources and execute them on a fresh, private sandbox.

    The sandbox (stack and control plane) is started for the build and stopped afterwards, so the committed
    outputs never depend on what a sandbox that happens to be running holds.

    Used by ``make notebooks`` / ``course notebooks build``.
    """
    import nbformat
    from tqdm.auto import tqdm

    from ..sandbox import isolated

    for src in source_paths():  # every part must exist as a notebook so part 0's course map is complete
        placeholder = notebooks_dir() / f"{src.stem}.ipynb"
        if not placeholder.exists():
            nbformat.write(read_source(src), placeholder)
    chosen = source_paths(parts)
    before = _parameters_of(chosen)
    built: list[Path] = []
    with isolated(prefix="course-build-"):
        for src in tqdm(chosen, desc="building notebooks", unit="nb", disable=not progress):
            built.append(_build_one(src, execute_cells=execute_cells))
        part_0 = [p for p in source_paths() if p.name.startswith("00_")]
        if part_0 and part_0[0] not in chosen and _parameters_of(chosen) != before:
            # part 0's course map prints every part's parameters: it is stale once one of them changed
            built.append(_build_one(part_0[0], execute_cells=execute_cells))
    return built


def _parameters_of(sources: list[Path]) -> dict[str, list[str]]:
    """The ``parameters`` cell lines of the built notebooks beside these sources (what part 0's table reads)."""
    import nbformat

    found: dict[str, list[str]] = {}
    for src in sources:
        path = notebooks_dir() / f"{src.stem}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.exists() else None
        cells = [c.source for c in (nb.cells if nb else []) if "parameters" in c.metadata.get("tags", [])]
        found[src.stem] = cells
    return found


def _build_one(src: Path, *, execute_cells: bool) -> Path:
    """Convert one source, execute it in a temporary folder, and write the cleaned notebook in place."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from ..export import add_static_images

    target = notebooks_dir() / f"{src.stem}.ipynb"
    with tempfile.TemporaryDirectory(prefix="course-nb-") as tmp:
        raw = Path(tmp) / target.name
        nbformat.write(read_source(src), raw)
        out = Path(tmp) / f"out-{target.name}"
        if execute_cells:
            try:
                with _kernel_config() as kernel_config:
                    papermill.execute_notebook(
                        str(raw), str(out), kernel_name="python3", progress_bar=False, cwd=tmp, config=kernel_config
                    )
            except PapermillExecutionError as exc:
                raise RunError(
                    f"{src.name} failed in cell {exc.cell_index}: {exc.ename}: {exc.evalue}",
                    hint="fix the source or the library, then build again",
                    notebook=src.name,
                ) from None
        else:
            shutil.copy(raw, out)
        executed = clean_executed(nbformat.read(out, as_version=4))
        if execute_cells:  # GitHub and nbviewer run no JavaScript: each plotly output gets a PNG twin
            add_static_images(executed)
    text = redact(nbformat.writes(executed)) + "\n"
    if any(v in text for v in secret_values()):  # pragma: no cover - redact() guarantees this
        raise RunError("a secret survived redaction", hint="report this as a bug")
    target.write_text(text, encoding="utf-8")
    return target
