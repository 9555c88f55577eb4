"""Discovery: the course notebooks, their parts and their ``parameters`` cells (papermill's public
``inspect_notebook``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..parts import parse

_PART_FILE = re.compile(r"^(\d\d)_([a-z0-9_]+)\.ipynb$")


#: Where to get the notebooks when none are found (named in the error).
_NOTEBOOKS_HINT = (
    "the installed course_lib carries the library and its data, not the notebooks: run from the course repository "
    "(or a folder with its notebooks/), from inside that notebooks/ folder, or set COURSE_NOTEBOOKS=/path/to/notebooks"
)


def _holds_parts(folder: Path) -> bool:
    return folder.is_dir() and any(_PART_FILE.match(p.name) for p in folder.glob("*.ipynb"))


def notebooks_dir() -> Path:
    """The folder with the course notebooks (``NN_name.ipynb``, sources in its ``src/``).

    In order: ``$COURSE_NOTEBOOKS``; the checkout this package runs from (``notebooks/`` beside ``course_lib/``,
    as in an editable install); ``./notebooks`` in the current folder; the current folder itself when it holds
    the notebooks (a kernel started by JupyterLab runs there). A wheel does not ship the notebooks: learners
    open, edit and keep them, so they come from the course repository or a download of its ``notebooks/``.

    Raises:
        ConfigError: none of these holds a course notebook; the hint says where to point it.
    """
    override = os.environ.get("COURSE_NOTEBOOKS")
    if override:
        return Path(override)
    beside = (
        Path(__file__).resolve().parents[2] / "notebooks"
    )  # not package data: the checkout (course_lib/runner/ is two up)
    if beside.is_dir():
        return beside
    for folder in (Path.cwd() / "notebooks", Path.cwd()):
        if _holds_parts(folder):
            return folder
    where = ", ".join(str(p) for p in (beside, Path.cwd() / "notebooks", Path.cwd()))
    raise ConfigError(
        f"no course notebooks found (COURSE_NOTEBOOKS is not set; looked in {where})", hint=_NOTEBOOKS_HINT
    )


@dataclass(frozen=True)
class Parameter:
    """One entry of a notebook's ``parameters`` cell."""

    name: str
    default: str
    type: str
    help: str = ""


@dataclass(frozen=True)
class Part:
    """One course notebook."""

    number: int
    slug: str
    title: str
    path: Path
    parameters: tuple[Parameter, ...]

    @property
    def parameter_names(self) -> set[str]:
        return {p.name for p in self.parameters}


def _title(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _read_part(path: Path) -> Part:
    import nbformat
    from papermill.inspection import inspect_notebook

    match = _PART_FILE.match(path.name)
    assert match, path
    nb = nbformat.read(path, as_version=4)
    params = tuple(
        Parameter(name=p["name"], default=p["default"], type=p["inferred_type_name"], help=p["help"])
        for p in inspect_notebook(str(path)).values()
    )
    return Part(int(match.group(1)), match.group(2), _title(nb), path, params)


def list_parts(directory: Path | None = None) -> list[Part]:
    """All course notebooks in order, with their titles and parameters.

    Used in: notebook 00, ``course list``.
    """
    directory = directory or notebooks_dir()
    paths = sorted(p for p in directory.glob("*.ipynb") if _PART_FILE.match(p.name))
    return [_read_part(p) for p in paths]


def parts_table(parts: Sequence[Part] | None = None) -> Any:
    """The parts as a pandas DataFrame (number, title, parameters)."""
    import pandas as pd

    parts = list_parts() if parts is None else parts
    columns = ["part", "notebook", "title", "parameters"]
    return pd.DataFrame(
        [
            {
                "part": p.number,
                "notebook": p.path.name,
                "title": p.title,
                "parameters": ", ".join(f"{x.name}={x.default}" for x in p.parameters),
            }
            for p in parts
        ],
        columns=columns,
    ).set_index("part")


def parse_parts(spec: str | Iterable[int] | None, available: Sequence[Part]) -> list[Part]:
    """Select parts by a spec like ``"0,3"``, ``"all"`` or a list of numbers (:func:`course_lib.parts.parse`);
    unknown numbers are an error."""
    by_number = {p.number: p for p in available}
    return [by_number[n] for n in parse(spec, by_number)]
