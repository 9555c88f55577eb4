"""Exercises arrive unsolved: placeholders in the notebooks, solutions outside them, hints that climb a ladder
without giving the answer, progress kept per learner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

import course_lib as cl
from course_lib import progress, solutions
from course_lib.config import using_state_dir
from course_lib.exercises import exercises, hints

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARTS = [int(p.name[:2]) for p in NOTEBOOKS]


@pytest.fixture(autouse=True)
def own_progress(tmp_path: Path):
    with using_state_dir(tmp_path):
        yield


def test_every_exercise_has_a_solution_and_a_ladder() -> None:
    solved = {name for part in PARTS for name in solutions.load(part)}
    assert solved == set(exercises())
    for name in exercises():
        assert len(hints(name)) >= 2, name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_committed_notebook_holds_a_solved_exercise(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    part = int(path.name[:2])
    wanted = solutions.load(part)
    cells = solutions.exercise_cells(notebook)
    assert len(cells) == len(wanted), f"{path.name}: {len(cells)} exercise cells, {len(wanted)} solutions"
    for solution in wanted.values():
        holder = [c for c in cells if solution.placeholder.search(c.source)]
        assert holder, f"{path.name}: no placeholder {solution.placeholder.pattern!r} for {solution.exercise}"
        code = solution.code.strip()
        assert code not in holder[0].source, f"{path.name}: {solution.exercise} arrives solved"
        for cell in notebook.cells:  # nor anywhere else in the notebook
            assert code not in cell.source, f"{path.name}: the solution of {solution.exercise} is in a cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_committed_check_says_not_attempted_yet(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    checks = [
        c for c in notebook.cells if c.cell_type == "code" and re.search(r'cl\.check\("|drill\.check\(\)', c.source)
    ]
    assert checks
    for cell in checks:
        text = json.dumps(cell.outputs)
        assert "Not yet attempted" in text and "Correct" not in text, cell.source


def test_injection_puts_the_solution_in_place_of_the_placeholder() -> None:
    notebook = nbformat.read(ROOT / "notebooks" / "03_observability.ipynb", as_version=4)
    solved = solutions.inject(notebook, 3)
    assert solved == ["03-dashboard-panel", "03-error-ratio"]
    dashboard = solutions.exercise_cells(notebook)[0].source
    assert "from grafana_foundation_sdk.builders import prometheus, timeseries" in dashboard  # given lines stay
    assert "answer = ..." not in dashboard and ".unit(" in dashboard


def test_injection_refuses_a_cell_no_solution_fills() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("mystery = ...", metadata={"tags": ["exercise"]}))
    with pytest.raises(cl.ConfigError, match="placeholder"):
        solutions.inject(notebook, 4)


def test_the_placeholder_is_not_attempted_and_is_not_counted_as_a_try() -> None:
    result = cl.check("04-canary-75-25", ...)
    assert not result.passed and not result.attempted and "Not yet attempted" in str(result)
    assert result.hint  # says what to write
    [row] = [r for r in progress.summary(part=4).to_dict("records") if r["exercise"] == "04-canary-75-25"]
    assert row == {
        "part": 4,
        "exercise": "04-canary-75-25",
        "kind": "exercise",
        "attempted": False,
        "passed": False,
        "tries": 0,
    }


def test_the_hint_ladder_climbs_and_never_gives_the_answer() -> None:
    wrong = {"v1": 90, "v2": 20}
    first, second, third, fourth = (cl.check("04-canary-75-25", wrong) for _ in range(4))
    ladder = hints("04-canary-75-25")
    assert ladder[0] not in first.hint
    assert second.hint.endswith(ladder[0]) and third.hint.endswith(ladder[1]) and fourth.hint.endswith(ladder[-1])
    assert [first.tries, second.tries, third.tries, fourth.tries] == [1, 2, 3, 4]
    right = cl.check("04-canary-75-25", {"v1": 75, "v2": 25})
    assert right.passed and right.tries == 5
    table = progress.summary(part=4)
    row = table[table.exercise == "04-canary-75-25"].iloc[0]
    assert bool(row.attempted) and bool(row.passed) and row.tries == 5


def test_no_rung_of_any_ladder_holds_its_solutions_code() -> None:
    for part in PARTS:
        for name, solution in solutions.load(part).items():
            answer_lines = [ln.strip() for ln in solution.code.splitlines() if len(ln.strip()) > 12]
            for rung in hints(name):
                assert not [ln for ln in answer_lines if ln in rung], (name, rung)


def test_course_check_on_a_file_leaves_progress_alone(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("04-canary-75-25: {v1: 75, v2: 25}\n")
    report = cl.exercises.check_answers(cl.exercises.load_answers(answers), parts=[4])
    assert report.ok
    assert progress.load() == {}


def test_progress_by_part_counts_attempted_and_passed() -> None:
    cl.check("04-canary-75-25", {"v1": 75, "v2": 25})
    cl.check("11-leftover-kinds", ["droplet"])
    table = progress.by_part()[["exercises", "attempted", "passed", "fixed"]]
    assert table.loc[4].to_dict() == {"exercises": 1, "attempted": 1, "passed": 1, "fixed": 0}
    assert table.loc[11].to_dict() == {"exercises": 1, "attempted": 1, "passed": 0, "fixed": 0}
    assert table.loc[0].to_dict() == {"exercises": 1, "attempted": 0, "passed": 0, "fixed": 0}


def test_course_progress_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    from course_lib.cli import main

    cl.check("04-canary-75-25", {"v1": 75, "v2": 25})
    main(["progress"])
    out = capsys.readouterr().out
    assert re.search(r"(?m)^4\s+1\s+1\s+1\s+\d+\s+0$", out) and "progress.json" in out
