"""The committed notebooks: built from their sources, executed, skeleton complete, no secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from course_lib import runner
from course_lib.runner import _plan
from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.md"))
BUILT = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SKELETON = [
    "## Overview",
    "## Prerequisites",
    "Time to learn",
    "Your turn",
    "## Troubleshooting",
    "## Cost & cleanup",
    "## Summary",
    "## What's next",
]
MAX_BYTES = 1_500_000


def test_every_source_is_built_and_every_notebook_has_a_source() -> None:
    assert SOURCES, "no notebook sources found"
    assert [p.stem for p in SOURCES] == [p.stem for p in BUILT]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(src: Path) -> None:
    built = nbformat.read(NOTEBOOKS / f"{src.stem}.ipynb", as_version=4)
    expected = runner.read_source(src)
    assert [(c.cell_type, c.source) for c in built.cells] == [(c.cell_type, c.source) for c in expected.cells], (
        f"{src.name} changed since the notebook was built: run `make notebooks`"
    )


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_notebook_is_executed_complete_and_small(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    never_run = [i for i, c in enumerate(code) if c.execution_count is None]
    assert not never_run, f"{path.name}: code cells {never_run} were never executed (run `make notebooks`)"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: committed with an error output: {errors[0].get('evalue')}"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    missing = [s for s in SKELETON if s not in text]
    assert not missing, f"{path.name} lacks skeleton sections: {missing}"
    assert text.lstrip().startswith("# "), "a notebook starts with its title"


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_every_committed_plot_also_shows_without_javascript(path: Path) -> None:
    """GitHub and nbviewer run no JavaScript: each plotly output carries a PNG twin (``course notebooks build``)."""
    from course_lib.export import PLOTLY_MIME

    nb = nbformat.read(path, as_version=4)
    blank = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if PLOTLY_MIME in output.get("data", {}) and "image/png" not in output.get("data", {})
    ]
    assert not blank, f"{path.name}: cells {blank} hold a plotly figure without a PNG (run `make notebooks`)"


#: words that make a "DRY RUN" in the prose a condition ("… or DRY RUN when `make tools` has not built it")
_CONDITIONAL = re.compile(r"\b(when|where|without|unless|if)\b")


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_expected_output_says_dry_run_only_where_the_output_does(path: Path) -> None:
    """An "Expected output" that promises a DRY RUN must match the committed output (the sandbox has a real API
    server, so a plan in the prose and ``created`` in the output means the prose is stale)."""
    nb = nbformat.read(path, as_version=4)
    stale = []
    for i, cell in enumerate(nb.cells):
        text = cell.source
        if cell.cell_type != "markdown" or "Expected output" not in text or "DRY RUN" not in text:
            continue
        before = next((c for c in reversed(nb.cells[:i]) if c.cell_type == "code"), None)
        shown = json.dumps(before.outputs if before else [], ensure_ascii=False)
        sentence = text[text.index("Expected output") :].split("DRY RUN")[0][-120:]
        if "DRY RUN" not in shown and not _CONDITIONAL.search(sentence):
            stale.append(text[:100])
    assert not stale, f"{path.name}: the prose promises a DRY RUN the output does not show: {stale}"


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_parameters_cell_is_tagged_and_holds_no_secret(path: Path) -> None:
    (part,) = [p for p in runner.list_parts(NOTEBOOKS) if p.path == path]
    names = part.parameter_names
    assert "target" in names, f"{path.name}: the parameters cell must define `target`"
    assert not [n for n in names if _plan._SECRET_PARAM.search(n)]


def test_no_committed_token_shaped_strings() -> None:
    pattern = re.compile(r"dop_v1_[0-9a-f]{64}")
    for path in [*BUILT, *SOURCES]:
        assert not pattern.search(path.read_text()), path


@pytest.mark.notebooks
@pytest.mark.timeout(1800)  # twelve notebooks in one run (each cell has its own timeout): a hang guard, not a timing
def test_runner_over_every_notebook_leaks_no_token(tmp_path: Path, fake_token: str) -> None:
    """Run the whole course with a recognisable token in the environment: it must appear in no file written.

    It runs with the exercises' solutions in place of the placeholders, so every check is exercised with the right
    answer in every notebook it runs, and every break-and-fix drill with its fix (the committed notebooks show the
    placeholders' "not attempted yet")."""
    from tests.conftest import PARTS_WITHOUT_TOOLS, missing_tools

    from course_lib.sandbox import isolated

    parts = "all" if not missing_tools() else sorted(PARTS_WITHOUT_TOOLS)  # the others need `make tools`
    with isolated():  # its own sandbox: nbval in this session later starts from a fresh one, as the build did
        report = runner.run_parts(parts, target="sandbox", out=tmp_path / "runs", progress=False, solutions=True)
    failures = [(r.notebook, r.error) for r in report.results if r.status != "ok"]
    assert not failures, failures
    not_passed = []
    for r in report.results:
        executed = nbformat.read(r.output, as_version=4)
        for cell in executed.cells:
            if cell.cell_type == "code" and ('cl.check("' in cell.source or "drill.check()" in cell.source):
                shown = json.dumps(cell.outputs, ensure_ascii=False)
                if "✅ Correct" not in shown:
                    not_passed.append((r.notebook, cell.source.splitlines()[-1], shown[:300]))
    assert not not_passed, not_passed
    assert not [r.notebook for r in report.results if r.redacted], "a notebook printed the token (redacted)"
    written = [f for f in (tmp_path / "runs").rglob("*") if f.is_file()]
    assert len(written) >= len(report.results) + 2  # notebooks + report.json + report.html
    for f in written:
        assert fake_token not in f.read_text(errors="replace"), f"token found in {f}"
