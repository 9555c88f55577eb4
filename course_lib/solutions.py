"""Solutions to the "Your turn" exercises, kept outside the learners' notebooks.

A learner's notebook holds, in each cell tagged ``exercise``, a placeholder line ``variable = ...  # what to
write``. The solutions live in ``course_lib/data/solutions/NN.yaml`` (one file per part: exercise id →
``variable`` and ``code``), for instructors and for the course's own test runs: :func:`inject` replaces each
placeholder line with its solution's code, and ``course run --solutions`` runs notebooks that way.

Example:
    >>> sorted(load(4))  # an exercise and a break-and-fix drill's fix
    ['04-canary-75-25', '04-route-wrong-port']
    >>> load(4)["04-canary-75-25"].variable
    'my_weights'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

#: The tag of an exercise cell.
EXERCISE_TAG = "exercise"


@dataclass(frozen=True)
class Solution:
    """One exercise's solution: ``code`` replaces the placeholder line of its cell.

    An exercise's placeholder is ``variable = ...``; a break-and-fix drill's (``variable`` empty, ``drill: true`` in
    the file) is the comment line ``# your turn (drill NN-name): …``, replaced by the commands that fix it.
    """

    exercise: str
    variable: str
    code: str

    @property
    def placeholder(self) -> re.Pattern[str]:
        """The placeholder line this solution replaces."""
        return placeholder(self.variable) if self.variable else drill_placeholder(self.exercise)


def placeholder(variable: str) -> re.Pattern[str]:
    """The placeholder line of an exercise cell: ``variable = ...`` with an optional comment."""
    return re.compile(rf"(?m)^{re.escape(variable)} = \.\.\.(\s*#.*)?$")


def drill_placeholder(drill_id: str) -> re.Pattern[str]:
    """The placeholder line of a drill's cell: ``# your turn (drill NN-name): what to do``."""
    return re.compile(rf"(?m)^# your turn \(drill {re.escape(drill_id)}\).*$")


def load(part: int) -> dict[str, Solution]:
    """The solutions of one part (empty when the part has no exercise)."""
    import yaml

    from ._resources import data_path

    path = data_path("solutions", f"{part:02d}.yaml")
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return {
        name: Solution(name, "" if entry.get("drill") else str(entry["variable"]), str(entry["code"]))
        for name, entry in sorted(data.items())
    }


def exercise_cells(notebook: Any) -> list[Any]:
    """The code cells tagged ``exercise``."""
    return [
        c for c in notebook.cells if c.cell_type == "code" and EXERCISE_TAG in c.get("metadata", {}).get("tags", [])
    ]


def inject(notebook: Any, part: int) -> list[str]:
    """Put each solution's code in place of its placeholder line (in place); returns the exercises solved.

    Raises:
        ConfigError: an exercise cell holds no placeholder that a solution of this part fills (a solution file
            out of step with the notebook).
    """
    solutions = list(load(part).values())
    solved: list[str] = []
    for cell in exercise_cells(notebook):
        match = next((s for s in solutions if s.placeholder.search(cell.source)), None)
        if match is None:
            raise ConfigError(
                f"part {part}: an exercise cell has no placeholder a solution fills:\n{cell.source}",
                hint=f"give it a line `variable = ...` (a drill: `# your turn (drill NN-name): ...`) and the solution "
                f"in course_lib/data/solutions/{part:02d}.yaml",
            )
        found = match.placeholder.search(cell.source)
        assert found is not None  # matched above
        cell.source = cell.source[: found.start()] + match.code.rstrip("\n") + cell.source[found.end() :]
        solutions.remove(match)
        solved.append(match.exercise)
    return solved


__all__ = ["EXERCISE_TAG", "Solution", "drill_placeholder", "exercise_cells", "inject", "load", "placeholder"]
