"""Part 0's course map prints every part's parameters, so a build that changes them also rebuilds part 0."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_lib.runner._build import build_notebooks

_SOURCE = """---
jupyter:
  kernelspec:
    name: python3
    display_name: Python 3
    language: python
---

# Part {n}

```python tags=["parameters"]
{params}
```
"""


def _write(src: Path, n: int, params: str) -> None:
    (src / f"{n:02d}_part.md").write_text(_SOURCE.format(n=n, params=params), encoding="utf-8")


@pytest.fixture
def notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src").mkdir()
    _write(tmp_path / "src", 0, 'target = "sandbox"')
    _write(tmp_path / "src", 1, 'target = "sandbox"')
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(tmp_path))
    build_notebooks(execute_cells=False, progress=False)
    return tmp_path


def test_changed_parameters_rebuild_part_0(notebooks: Path) -> None:
    _write(notebooks / "src", 1, 'target = "sandbox"\nconfirm = False')
    built = build_notebooks("1", execute_cells=False, progress=False)
    assert [p.name for p in built] == ["01_part.ipynb", "00_part.ipynb"]
    cells = nbformat.read(notebooks / "01_part.ipynb", as_version=4).cells
    assert "confirm = False" in cells[-1].source


def test_unchanged_parameters_leave_part_0_alone(notebooks: Path) -> None:
    built = build_notebooks("1", execute_cells=False, progress=False)
    assert [p.name for p in built] == ["01_part.ipynb"]
