"""The package's data folder: one helper finds it, one environment variable overrides it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import course_lib
from course_lib import _resources, tools
from course_lib.manifests import _validate

PACKAGE = Path(course_lib.__file__).resolve().parent
SCRIPT = PACKAGE.parent / "scripts" / "build_tools.sh"


def test_data_lives_in_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_resources.DATA_DIR_ENV, raising=False)
    root = _resources.data_root()
    assert root == PACKAGE / "data"
    for folder in ("crds", "digitalocean", "rules-tests", "kyverno-tests", "charts", "kustomize", "tools"):
        assert (root / folder).is_dir(), folder
    assert tools.pins_file() == root / "tools" / "pins.env" and tools.pins_file().is_file()
    assert root / "crds" == _validate.CRD_DIR


def test_one_variable_overrides_every_look_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib.provision import _options

    monkeypatch.setenv(_resources.DATA_DIR_ENV, str(tmp_path))
    assert _resources.data_path("crds", "x.json") == tmp_path / "crds" / "x.json"
    assert tools.pins_file() == tmp_path / "tools" / "pins.env"
    assert _options.data_dir() == tmp_path / "digitalocean"


def test_no_module_finds_files_relative_to_itself() -> None:
    """Data is found through course_lib._resources only; the notebooks (not package data) are the one exception."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE).as_posix()
        if ("__file__" in text and rel != "runner/_discover.py") or re.search(r"\.parents\[\d\]\s*/\s*\"data\"", text):
            offenders.append(rel)
        if re.search(r"COURSE_(CRD_DIR|TOOLS_PINS|REPO)\b", text):
            offenders.append(f"{rel} (a retired override)")
    assert not offenders


def test_build_script_and_library_read_the_same_packaged_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_resources.DATA_DIR_ENV, raising=False)
    env = {k: v for k, v in os.environ.items() if k != _resources.DATA_DIR_ENV}
    out = subprocess.run(["bash", str(SCRIPT), "--list"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    listed = {line.split()[0]: line.split()[-1] for line in out.stdout.splitlines()}
    assert set(listed) == set(tools.read_pins()["TOOLS"].split())
    for tool, path in listed.items():  # same bytes hashed: pins lines plus the wrapper go.mod / go.sum
        binary = (tools.read_pins().get(tool.upper().replace("-", "_") + "_BINARY") or tool).split()[0]
        assert path == str(tools.pinned_path(binary)), tool


def test_nothing_is_left_at_the_old_places() -> None:
    """A merge from a branch older than the move follows edits of moved files (pins.env included), but a *new* file
    such as ``tools/<name>/go.mod`` stays where that branch put it, where neither the build nor the wheel sees it."""
    checkout = PACKAGE.parent
    if not (checkout / "pyproject.toml").is_file():
        pytest.skip("not a checkout")
    stray = sorted(
        p.relative_to(checkout).as_posix()
        for folder in ("data", "tools")
        for p in (checkout / folder).rglob("*")
        if p.is_file()
    )
    assert not stray, f"git mv these under course_lib/data/ (the package's data folder): {stray}"
