"""Locating programs, running them, and the pinned-tool cache shared with scripts/build_tools.sh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import tools
from course_lib.errors import ToolError, ToolMissingError
from tests.conftest import make_exe

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_tools.sh"


@pytest.fixture()
def pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    file = tmp_path / "tools" / "pins.env"
    file.parent.mkdir()
    file.write_text(
        '# test pins\nTOOLS="faketool wrapped-tool"\nFAKETOOL_VERSION=v1.2.3\nFAKETOOL_PACKAGE=example.com/faketool/cmd/faketool\n'
        'FAKETOOL_LDFLAGS="-s -w -X main.version=v1.2.3"\nWRAPPED_TOOL_VERSION=v0.1.0\n'
        'WRAPPED_TOOL_PACKAGES="example.com/x/cmd/alpha example.com/x/cmd/beta"\nWRAPPED_TOOL_BINARY="alpha beta"\n'
    )
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # the one data override: its tools/pins.env
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return file


def test_which_finds_kubectl_in_the_venv() -> None:
    found = tools.which("kubectl")
    assert found == Path(sys.executable).parent / "kubectl"
    assert tools.version("kubectl").startswith("v1.")


def test_which_searches_path_then_cache(pins: Path, tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as info:
        tools.which("faketool", path="")
    assert "faketool" in str(info.value) and info.value.context["name"] == "faketool"
    pinned = tools.pinned_path("faketool")
    assert pinned is not None and pinned.parent.parent.name.startswith("faketool-")
    make_exe(pinned)
    assert tools.which("faketool", path="") == pinned
    on_path = make_exe(tmp_path / "bin" / "faketool")
    assert tools.which("faketool", path=str(on_path.parent)) == on_path
    assert tools.built("faketool") == pinned  # the cache only, whatever PATH holds
    assert tools.built("alpha") is None  # a program of a tool that is not built


def test_missing_helm_names_make_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tools.sys, "executable", str(tmp_path / "no-venv" / "python"))
    with pytest.raises(ToolMissingError) as info:
        tools.which("helm", path="")
    assert "make tools" in info.value.hint


def test_pin_hash_changes_with_pins_and_wrapper(pins: Path) -> None:
    before = tools.pin_hash("wrapped-tool")
    assert before is not None and len(before) == 12
    assert tools.pin_hash("faketool") != before
    assert tools.pin_hash("nothere") is None
    (pins.parent / "wrapped-tool").mkdir()
    (pins.parent / "wrapped-tool" / "go.mod").write_text("module example.com/wrapped\n")
    assert tools.pin_hash("wrapped-tool") != before
    assert tools.read_pins()["FAKETOOL_LDFLAGS"] == "-s -w -X main.version=v1.2.3"


def run_script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_script_and_python_agree_on_paths(pins: Path) -> None:
    (pins.parent / "wrapped-tool").mkdir()
    (pins.parent / "wrapped-tool" / "go.sum").write_text("example.com/x v1 h1:abc=\n")
    out = run_script("--list", env={})
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0]: line.split()[-1] for line in out.stdout.splitlines()}
    assert listed["faketool"] == str(tools.pinned_path("faketool"))
    assert listed["wrapped-tool"] == str(tools.pinned_path("alpha"))


def test_wrapper_packages_are_hashed_by_script_and_python(pins: Path) -> None:
    wrapper = pins.parent / "wrapped-tool"
    (wrapper / "shim").mkdir(parents=True)
    (wrapper / "go.mod").write_text("module example.com/wrapped\n")
    (wrapper / "tools.go").write_text("//go:build tools\npackage tools\n")  # top level: not a package of its own
    before = tools.pin_hash("wrapped-tool")
    (wrapper / "tools.go").write_text("//go:build tools\npackage tools // changed\n")
    assert tools.pin_hash("wrapped-tool") == before
    (wrapper / "shim" / "shim.go").write_text("package shim\n")
    with_shim = tools.pin_hash("wrapped-tool")
    assert with_shim != before
    (wrapper / "shim" / "shim.go").write_text("package shim // edited\n")
    assert tools.pin_hash("wrapped-tool") not in (before, with_shim)
    (wrapper / "shim" / "b.go").write_text("package shim\n")
    out = run_script("--list", env={})
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0]: line.split()[-1] for line in out.stdout.splitlines()}
    assert listed["wrapped-tool"] == str(tools.pinned_path("alpha"))


def test_script_without_go_explains_and_exits_zero(pins: Path) -> None:
    out = run_script("faketool", env={"GO_BIN": "/nonexistent/go"})
    assert out.returncode == 0
    assert "Go is not installed" in out.stdout and "make tools" in out.stdout


def test_script_builds_with_go_install_then_skips(pins: Path, tmp_path: Path) -> None:
    calls = tmp_path / "go-calls.txt"
    fake_go = make_exe(
        tmp_path / "fakego" / "go",
        f'echo "$@" >> {calls}\n'
        'if [ "$1" = version ]; then echo "go version go0.0 fake"; exit 0; fi\n'
        'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/faketool"; chmod +x "$GOBIN/faketool"',
    )
    env = {"GO_BIN": str(fake_go)}
    first = run_script("faketool", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "faketool v1.2.3: built faketool in" in first.stdout
    installed = [line for line in calls.read_text().splitlines() if line.startswith("install")]
    assert installed == ["install -ldflags=-s -w -X main.version=v1.2.3 example.com/faketool/cmd/faketool@v1.2.3"]
    assert tools.which("faketool", path="") == tools.pinned_path("faketool")
    second = run_script("faketool", env=env)
    assert "already built" in second.stdout
    assert len([ln for ln in calls.read_text().splitlines() if ln.startswith("install")]) == 1


def test_script_rejects_unknown_tool(pins: Path, tmp_path: Path) -> None:
    fake_go = make_exe(tmp_path / "fakego" / "go", 'echo "go version fake"')
    out = run_script("nope", env={"GO_BIN": str(fake_go)})
    assert out.returncode == 2 and "no NOPE_VERSION" in out.stdout


def test_run_raises_tool_error_with_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_exe(tmp_path / "bin" / "grumpy", 'echo "line one" >&2; echo "Error: chart is broken" >&2; exit 3')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ToolError) as info:
        tools.run("grumpy", ["lint"], hint="fix the chart")
    assert "Error: chart is broken" in info.value.message and info.value.context["exit_code"] == 3
    assert info.value.hint == "fix the chart"
    ok = make_exe(tmp_path / "bin" / "happy", 'echo "out"; echo "warn" >&2')
    result = tools.run(ok.name, [])
    assert (result.stdout, result.stderr) == ("out\n", "warn\n")


def test_script_builds_wrapper_module_with_several_programs(pins: Path, tmp_path: Path) -> None:
    wrapper = pins.parent / "wrapped-tool"
    wrapper.mkdir()
    (wrapper / "go.mod").write_text("module example.com/wrapped\n")
    calls = tmp_path / "go-calls.txt"
    fake_go = make_exe(
        tmp_path / "fakego" / "go",
        f'echo "$PWD $@" >> {calls}\n'
        'if [ "$1" = version ]; then echo "go version fake"; exit 0; fi\n'
        'out=""; prev=""; for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done\n'
        'for a in "$@"; do case "$a" in example.com/*) n="${a##*/}"; printf "#!/bin/sh\\necho %s\\n" "$n" > "$out$n";'
        ' chmod +x "$out$n";; esac; done',
    )
    out = run_script("wrapped-tool", env={"GO_BIN": str(fake_go)})
    assert out.returncode == 0, out.stdout + out.stderr
    build = [line for line in calls.read_text().splitlines() if " build " in line][0]
    assert build.startswith(str(wrapper)) and build.endswith("example.com/x/cmd/alpha example.com/x/cmd/beta")
    assert tools.which("beta", path="") == tools.pinned_path("beta")
    assert tools.pinned_path("beta").parent == tools.pinned_path("alpha").parent  # type: ignore[union-attr]
    assert tools.pinned_path("alpha").parent.parent.name.startswith("wrapped-tool-")  # type: ignore[union-attr]
    assert "already built" in run_script("wrapped-tool", env={"GO_BIN": str(fake_go)}).stdout


def _fake_go_install(tmp_path: Path, *, fail: str = "") -> Path:
    """A stand-in `go` whose `install PKG@V` writes an executable named after PKG's last element (or fails for
    ``fail``), logging each call with the time it started and ended."""
    calls = tmp_path / "go-calls.txt"
    return make_exe(
        tmp_path / "fakego" / "go",
        'if [ "$1" = version ]; then echo "go version fake"; exit 0; fi\n'
        f'for a in "$@"; do last="$a"; done; p="${{last%@*}}"; n="${{p##*/}}"; echo "start $n $(date +%s.%N)" >> {calls}; sleep 0.5\n'
        f'if [ "$n" = "{fail}" ]; then echo "cannot build $n" >&2; exit 1; fi\n'
        'printf "#!/bin/sh\\necho %s\\n" "$n" > "$GOBIN/$n"; chmod +x "$GOBIN/$n"\n'
        f'echo "end $n $(date +%s.%N)" >> {calls}',
    )


@pytest.fixture()
def three_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    file = tmp_path / "tools" / "pins.env"
    file.parent.mkdir()
    lines = ['TOOLS="aa bb cc"', 'BUILD_SECONDS="aa=10 bb=300 cc=40"']
    for name in ("aa", "bb", "cc"):
        lines += [f"{name.upper()}_VERSION=v1.0.0", f"{name.upper()}_PACKAGE=example.com/{name}/cmd/{name}"]
    file.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return file


def test_script_builds_two_at_a_time_longest_first_with_prefixed_lines(three_pins: Path, tmp_path: Path) -> None:
    out = run_script(env={"GO_BIN": str(_fake_go_install(tmp_path))})
    assert out.returncode == 0, out.stdout + out.stderr
    events = [line.split() for line in (tmp_path / "go-calls.txt").read_text().splitlines()]
    starts = [name for kind, name, _t in events if kind == "start"]
    # longest first (BUILD_SECONDS): the script launches bb, then cc, then aa when a slot frees up; bb and cc run
    # side by side, so which of them logs its start first is up to the scheduler
    assert set(starts[:2]) == {"bb", "cc"} and starts[2] == "aa"
    assert out.stdout.index("[tools] bb: starting") < out.stdout.index("[tools] cc: starting")
    when = {(kind, name): float(t) for kind, name, t in events}
    assert when[("start", "cc")] < when[("end", "bb")]  # bb and cc overlapped: two at a time
    assert "[tools] bb: starting (about 300s" in out.stdout
    assert "  [cc] [tools] cc v1.0.0: built cc in" in out.stdout
    assert tools.unbuilt(["aa", "bb", "cc"]) == []


def test_script_one_at_a_time_keeps_the_order_and_a_failure_does_not_stop_the_others(
    three_pins: Path, tmp_path: Path
) -> None:
    out = run_script(env={"GO_BIN": str(_fake_go_install(tmp_path, fail="bb")), "TOOLS_JOBS": "1"})
    assert out.returncode != 0
    assert "[tools] bb: FAILED (exit" in out.stdout and "cannot build bb" in out.stdout + out.stderr
    events = [line.split() for line in (tmp_path / "go-calls.txt").read_text().splitlines()]
    assert [name for kind, name, _t in events if kind == "start"] == ["aa", "bb", "cc"]
    assert tools.unbuilt(["aa", "bb", "cc"]) == ["bb"]


def test_script_refuses_a_bad_job_count(three_pins: Path, tmp_path: Path) -> None:
    out = run_script(env={"GO_BIN": str(_fake_go_install(tmp_path)), "TOOLS_JOBS": "0"})
    assert out.returncode == 2 and "TOOLS_JOBS must be a whole number >= 1, got '0'" in out.stdout
    assert not (tmp_path / "go-calls.txt").exists()


def test_build_from_python_builds_only_what_is_missing(
    three_pins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tools.unbuilt(["cc", "aa"]) == ["cc", "aa"]
    assert tools.expected_seconds("bb") == 300 and tools.expected_seconds("zz") is None
    with pytest.raises(ToolMissingError, match="no pins for zz"):
        tools.unbuilt(["aa", "zz"])
    monkeypatch.setenv("GO_BIN", str(_fake_go_install(tmp_path)))
    assert tools.build(["cc"]) == 0
    assert tools.unbuilt(["aa", "bb", "cc"]) == ["aa", "bb"]


def test_script_names_each_package_program_after_its_binary_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kyverno's case: Go would write both programs as `kubectl-kyverno` and `kyverno`, but the CLI is installed as
    # `kyverno` and cmd/kyverno as `kyverno-admission-controller`: names pair with packages by position.
    file = tmp_path / "tools" / "pins.env"
    (tmp_path / "tools" / "two").mkdir(parents=True)
    (tmp_path / "tools" / "two" / "go.mod").write_text("module example.com/two\n")
    file.write_text(
        'TOOLS="two"\nTWO_VERSION=v1.0.0\nTWO_PACKAGES="example.com/k/cmd/cli/kubectl-k example.com/k/cmd/k example.com/e/server/v3"\n'
        'TWO_BINARY="k k-controller etcdish"\n'
    )
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    fake_go = make_exe(
        tmp_path / "fakego" / "go",
        'if [ "$1" = version ]; then echo "go version fake"; exit 0; fi\n'
        'out=""; prev=""; for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done\n'
        'for a in "$@"; do case "$a" in example.com/*) n="${a##*/}"; case "$n" in v[0-9]*) n="${a%/*}"; n="${n##*/}";; esac;'
        ' mkdir -p "$out"; printf "#!/bin/sh\\necho %s\\n" "$a" > "$out$n"; chmod +x "$out$n";; esac; done',
    )
    out = run_script("two", env={"GO_BIN": str(fake_go)})
    assert out.returncode == 0, out.stdout + out.stderr
    bindir = tools.pinned_path("k").parent  # type: ignore[union-attr]
    assert sorted(p.name for p in bindir.iterdir()) == ["etcdish", "k", "k-controller"]
    said = {
        name: subprocess.run([bindir / name], capture_output=True, text=True).stdout.strip()
        for name in ("k", "k-controller", "etcdish")
    }
    assert said == {
        "k": "example.com/k/cmd/cli/kubectl-k",
        "k-controller": "example.com/k/cmd/k",
        "etcdish": "example.com/e/server/v3",
    }
