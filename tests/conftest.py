"""Shared fixtures: isolated state/cache dirs so tests never touch a learner's real sandbox."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

FAKE_TOKEN = "dop_v1_" + "5eed" * 16  # recognisable, token-shaped, never a real token


@pytest.fixture
def fake_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", FAKE_TOKEN)
    return FAKE_TOKEN


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN", raising=False)


def pytest_configure(config: pytest.Config) -> None:
    # One state dir per test session: the sandbox state file of a learner's own machine is never touched.
    if "COURSE_STATE_DIR" not in os.environ:
        import tempfile

        os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-test-state-")
    # `course run` invoked by a test never compiles Go tools (`make test` built them first; a test of the build
    # itself, tests/unit/test_cli_tools.py, asks for it explicitly)
    os.environ.setdefault("COURSE_BUILD_TOOLS", "0")


REPO = Path(__file__).resolve().parents[1]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop whatever the tests and the notebooks they ran started in this session's state dir."""
    from course_lib.config import state_dir

    if not str(state_dir()).startswith(os.environ.get("TMPDIR", "/tmp")):
        return  # never touch a learner's own sandbox
    from course_lib import sandbox
    from course_lib.sandbox import _controlplane

    sandbox.down()
    _controlplane.cluster_down()


#: Parts whose committed outputs were produced with every `make tools` program present (helm, the control plane,
#: VictoriaLogs ...). Without them these notebooks still run, but their outputs differ (dry runs, "not built" notes).
PARTS_WITHOUT_TOOLS = {0, 11}


def missing_tools() -> list[str]:
    """Programs of `course_lib/data/tools/pins.env`'s TOOLS that are not built on this machine."""
    from course_lib import tools

    pins = tools.read_pins()
    wanted: list[str] = []
    for tool in pins.get("TOOLS", "").split():
        wanted += (pins.get(tool.upper().replace("-", "_") + "_BINARY") or tool).split()
    return [name for name in wanted if not tools.available(name)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = missing_tools()
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs {', '.join(missing)}: run `make tools` (builds them from Go modules)")
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb" and path.name[:2].isdigit() and int(path.name[:2]) not in PARTS_WITHOUT_TOOLS:
            item.add_marker(skip)


def pids_running(binary: str) -> list[int]:
    """Live processes in /proc whose executable is ``binary`` (zombies excluded): what "nothing left running" checks."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(Path(entry.path, "exe"))
            state = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if exe == os.path.realpath(binary) and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def shell_env_kept() -> Iterator[None]:
    """``KUBECONFIG`` and ``PATH`` as they were, afterwards: ``use_in_shell()`` sets both for the whole process, and a
    module-scoped fixture cannot use ``monkeypatch``."""
    old = {k: os.environ.get(k) for k in ("KUBECONFIG", "PATH")}
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_exe(path: Path, body: str = "echo hello") -> Path:
    """A small executable shell script at ``path`` (a stand-in program for tests of how programs are found/run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make_notebook(path: Path, title: str, params: str, body: list[str]) -> Path:
    """Write a small real notebook: a title, a tagged ``parameters`` cell, then one code cell per ``body`` item."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_markdown_cell(f"# {title}"), nbformat.v4.new_code_cell(params)]
    cells[1].metadata["tags"] = ["parameters"]
    cells += [nbformat.v4.new_code_cell(src) for src in body]
    nb.cells = cells
    nbformat.write(nb, path)
    return path
