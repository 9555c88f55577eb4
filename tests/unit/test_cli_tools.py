"""`course tools` and `course run` build only the Go tools the chosen parts need (issue #17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from course_lib.cli import cli


@pytest.fixture()
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GO_BIN", "/nonexistent/go")  # the build script then says Go is missing and builds nothing
    return tmp_path


def test_list_names_every_tool_its_parts_and_whether_it_is_built(empty_cache: Path) -> None:
    result = CliRunner().invoke(cli, ["tools", "--list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()}
    assert "missing" in rows["argocd"] and rows["argocd"].endswith("parts 2,9,10")
    assert rows["tofu"].endswith("parts 1")


def test_tools_for_one_part_asks_only_for_that_parts_tools(empty_cache: Path) -> None:
    result = CliRunner().invoke(cli, ["tools", "--parts", "7"])
    assert result.exit_code == 1
    assert "building etcd, helm, kubernetes, kwok for part(s) 7 first" in result.output
    assert "not built: etcd, helm, kubernetes, kwok" in result.output
    assert "argocd" not in result.output


@pytest.mark.parametrize(
    ("args", "message"), [(["--parts", "12"], "there is no part 12"), (["--parts", "x"], "cannot read parts")]
)
def test_bad_parts_are_refused_before_any_build(empty_cache: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["tools", *args])
    assert result.exit_code != 0 and message in str(result.exception or result.output)
    assert "building" not in result.output


def test_course_run_builds_the_missing_tools_of_its_parts_first_unless_told_not_to(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_BUILD_TOOLS", "1")
    # an unknown parameter stops the run before any kernel starts, after the build step
    args = ["run", "--parts", "7", "-p", "no_such_parameter=1"]
    result = CliRunner().invoke(cli, [*args, "--out", str(empty_cache / "runs")])
    assert "building etcd, helm, kubernetes, kwok for part(s) 7 first" in result.output
    assert "not built: etcd, helm, kubernetes, kwok; the notebooks that need them say what is missing" in result.output
    monkeypatch.setenv("COURSE_BUILD_TOOLS", "0")  # what the test session sets (tests/conftest.py)
    quiet = CliRunner().invoke(cli, [*args, "--out", str(empty_cache / "runs2")])
    assert "building" not in quiet.output
    assert "no_such_parameter" in str(quiet.exception)  # refused as before, without a build
