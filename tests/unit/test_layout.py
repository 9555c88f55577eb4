"""The package's shape (CONTRIBUTING's map): modules stay small, the layers import downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import course_lib

ROOT = Path(course_lib.__file__).parent
MAX_LINES = 600
#: Modules allowed over MAX_LINES, each with its reason.
BIG = {
    "cluster/_cluster.py": "one object: Cluster, whose ~880 lines are the course's kubectl verbs",
}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "data" not in p.relative_to(ROOT).parts)


def _imports(path: Path) -> set[str]:
    """Dotted course_lib modules that ``path`` imports (top level or inside functions), resolved."""
    package = ".".join(("course_lib", *path.relative_to(ROOT).with_suffix("").parts))
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + "._"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: -node.level] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("course_lib")}


def test_no_module_is_over_the_limit_without_a_reason() -> None:
    big = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _modules()}
    over = {name: n for name, n in big.items() if n > MAX_LINES and name not in BIG}
    assert not over, f"split these (or give a reason in BIG): {over}"
    assert all(big.get(name, 0) > MAX_LINES for name in BIG), "a module in BIG is small now: drop it from BIG"


def test_the_cluster_layer_never_imports_the_sandbox() -> None:
    bad = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("course_lib.sandbox"))
        for p in (ROOT / "cluster").rglob("*.py")
    }
    assert not {k: v for k, v in bad.items() if v}


def test_sim_imports_only_sim_and_errors() -> None:
    allowed = ("course_lib.sim", "course_lib.errors")
    bad = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if not m.startswith(allowed))
        for p in (ROOT / "sim").rglob("*.py")
    }
    assert not {k: v for k, v in bad.items() if v}
