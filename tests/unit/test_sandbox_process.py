"""Unit tests: ports, binaries, process groups, input validation of ``up`` and the status table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from course_lib import sandbox, tools
from course_lib.errors import ConfigError, PortInUseError, ToolMissingError
from course_lib.sandbox import _process as proc
from course_lib.sandbox import _stack
from course_lib.sandbox._cli import sandbox as sandbox_cli
from tests.conftest import make_exe


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_free_port_and_port_in_use() -> None:
    port = proc.free_port()
    assert not proc.port_in_use(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert proc.port_in_use(taken)
        with pytest.raises(PortInUseError) as err:
            proc.check_port("prometheus", taken)
        assert str(taken) in str(err.value) and "course sandbox down" in err.value.hint
        assert proc.free_port(exclude={taken}) != taken


def test_missing_binary_names_debian_package_and_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "no-cache"))
    with pytest.raises(ToolMissingError) as err:
        proc.find_binary("prometheus-alertmanager")
    assert "'prometheus-alertmanager'" in str(err.value) and "make setup" in err.value.hint
    assert "make tools" in err.value.hint and "alertmanager" in err.value.hint


def test_go_build_is_preferred_and_debian_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pins = tmp_path / "tools" / "pins.env"
    pins.parent.mkdir()
    pins.write_text('TOOLS="prometheus"\nPROMETHEUS_VERSION=v0.313.1\nPROMETHEUS_BINARY="prometheus promtool"\n')
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # its tools/pins.env
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    debian = make_exe(tmp_path / "usr-bin" / "promtool")
    make_exe(tmp_path / "usr-bin" / "prometheus-node-exporter")
    monkeypatch.setenv("PATH", str(debian.parent))
    assert proc.program("promtool") == proc.Program("promtool", str(debian), "Debian")
    built = tools.pinned_path("promtool")
    assert built is not None
    make_exe(built)
    assert proc.program("promtool") == proc.Program("promtool", str(built), "make tools")
    assert proc.find_binary("promtool") == str(built)
    # programs that make tools does not build always come from PATH
    assert proc.program("prometheus-node-exporter").origin == "Debian"


def test_up_refuses_missing_binary_before_any_side_effect(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, state_dir: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "no-cache"))
    with pytest.raises(ToolMissingError, match="Debian package 'prometheus'"):
        sandbox.up()
    assert not state_dir.exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"backfill_hours": -1}, "backfill_hours"),
        ({"ports": {"grafana": 3000}}, "unknown sandbox service"),
        ({"ports": {"prometheus": 80}}, "1024-65535"),
        ({"ports": {"prometheus": 19090, "alertmanager": 19090}}, "same port"),
        ({"rps": 1000}, "rps"),
    ],
)
def test_up_validates_input_first(kwargs: dict, match: str, state_dir: Path) -> None:
    with pytest.raises(ConfigError, match=match):
        sandbox.up(**kwargs)
    assert not state_dir.exists()


def test_spawn_and_stop_whole_process_group(tmp_path: Path) -> None:
    # a parent that starts a grandchild: both must go when the group is stopped
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); print('ok', flush=True); time.sleep(60)"
    sp = proc.spawn("demo", [sys.executable, "-c", script], log=tmp_path / "demo.log")
    assert proc.wait_until(lambda: "ok" in (tmp_path / "demo.log").read_text(), deadline=time.monotonic() + 10)
    members = proc.group_members(sp.pid)
    assert sp.pid in members and len(members) == 2
    assert proc.is_running(sp.pid, sp.start_time)
    assert not proc.stop(sp.pid, (sp.start_time or 0) + 1)  # wrong start time: a recycled pid is left alone
    assert proc.is_running(sp.pid)
    assert proc.stop(sp.pid, sp.start_time, timeout=2)
    assert not proc.is_running(sp.pid) and proc.group_members(sp.pid) == []


@pytest.mark.parametrize(("given", "seen"), [({}, tools.GO_GC_PERCENT), ({"GOGC": "off"}, "off")])
def test_spawned_programs_get_the_course_go_collector_target_unless_one_is_set(
    tmp_path: Path, given: dict[str, str], seen: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOGC"} | given
    script = "import os; print('GOGC=' + os.environ.get('GOGC', 'unset'), flush=True)"
    sp = proc.spawn("gc", [sys.executable, "-c", script], log=tmp_path / "gc.log", env=env)
    assert proc.wait_until(lambda: "GOGC=" in (tmp_path / "gc.log").read_text(), deadline=time.monotonic() + 10)
    assert (tmp_path / "gc.log").read_text().strip() == f"GOGC={seen}"
    proc.stop(sp.pid, sp.start_time, timeout=2)


def test_control_plane_programs_get_the_go_collector_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib.sandbox import _controlplane

    monkeypatch.delenv("GOGC", raising=False)
    env = _controlplane._env(tmp_path)
    assert env["GOGC"] == tools.GO_GC_PERCENT and env["GOMEMLIMIT"] == _controlplane.CONTROL_PLANE_GOMEMLIMIT
    monkeypatch.setenv("GOGC", "200")
    assert _controlplane._env(tmp_path)["GOGC"] == "200"


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); time.sleep(60)"
    )
    sp = proc.spawn("stubborn", [sys.executable, "-c", script], log=tmp_path / "s.log")
    assert proc.wait_until(lambda: "ok" in (tmp_path / "s.log").read_text(), deadline=time.monotonic() + 10)
    start = time.monotonic()
    assert proc.stop(sp.pid, sp.start_time, timeout=0.5)
    assert not proc.is_running(sp.pid) and time.monotonic() - start < 5


@pytest.mark.parametrize("commit", [True, False])
def test_atexit_stops_only_half_started_children(tmp_path: Path, commit: bool) -> None:
    code = (
        "from pathlib import Path; from course_lib.sandbox import _process as p;"
        f"s = p.spawn('x', ['sleep', '60'], log=Path({str(tmp_path / 'x.log')!r}));"
        f"{'p.committed([s.pid]);' if commit else ''} print(s.pid)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    pid = int(out.stdout.strip())
    try:
        # a child recorded in the state file outlives its parent; one of an unfinished start-up does not
        assert proc.is_running(pid) is commit
    finally:
        proc.stop(pid, None, timeout=1)
    assert not proc.is_running(pid)


def test_status_table_and_health() -> None:
    svc = (
        _stack.ServiceStatus("prometheus", 10, "http://127.0.0.1:1", True, True),
        _stack.ServiceStatus("checkout", 11, "http://127.0.0.1:2", True, False),
    )
    st = _stack.StackStatus(services=svc, state_file="/x", recorded=True)
    assert not st.healthy
    table = st.table().splitlines()
    assert table[0].split() == ["SERVICE", "PID", "URL", "HEALTH"]
    assert table[2].split()[-2:] == ["not", "answering"]
    assert _stack.StackStatus(services=svc[:1], state_file="/x", recorded=True).healthy
    assert not _stack.StackStatus(services=(), state_file="/x", recorded=False).healthy


def test_overview_adds_the_control_plane() -> None:
    healthy = _stack.StackStatus(
        services=(_stack.ServiceStatus("prometheus", 10, "http://127.0.0.1:1", True, True),),
        state_file="/x",
        recorded=True,
    )
    nothing = _stack.StackStatus(services=(), state_file="/x", recorded=False)
    plane = {"recorded": True, "healthy": False, "server": "https://127.0.0.1:6443", "nodes": 2, "kubeconfig": "/k"}
    sick = _stack.SandboxOverview(healthy, plane)
    assert sick.running and not sick.healthy
    assert "https://127.0.0.1:6443  2 nodes  NOT HEALTHY" in str(sick) and "prometheus" in str(sick)
    assert _stack.SandboxOverview(healthy, {**plane, "healthy": True}).healthy
    only_plane = _stack.SandboxOverview(nothing, plane)
    assert only_plane.running  # a control plane alone is still something to stop
    gone = _stack.SandboxOverview(nothing, {"recorded": False, "available": False})
    assert not gone.running and "not running (not built: `make tools`)" in str(gone)


def test_overview_reports_a_running_postgres_service_as_something_to_stop() -> None:
    nothing = _stack.StackStatus(services=(), state_file="/x", recorded=False)
    plane = {"recorded": False, "available": True}
    db = {
        "recorded": True,
        "healthy": True,
        "pgbouncer_port": 6432,
        "instances": [
            {"name": "production-db-1", "role": "failed", "port": 1, "running": False},
            {"name": "production-db-2", "role": "primary", "port": 2, "running": True},
        ],
    }
    only_db = _stack.SandboxOverview(nothing, plane, db)
    assert only_db.running
    assert "production-db-1 failed (stopped), production-db-2 primary; pgbouncer 127.0.0.1:6432" in str(only_db)
    assert not _stack.SandboxOverview(nothing, plane, {**db, "healthy": False}).healthy
    assert not _stack.SandboxOverview(nothing, plane).running  # no service recorded: nothing to stop


def test_cli_status_without_stack_exits_non_zero(state_dir: Path) -> None:
    result = CliRunner().invoke(sandbox_cli, ["status"])
    assert result.exit_code == 1 and "No sandbox stack is recorded" in result.output
    result = CliRunner().invoke(sandbox_cli, ["down"])
    assert result.exit_code == 0 and "Nothing was running" in result.output


def test_status_reports_dead_recorded_stack(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    _stack._write_state(
        {
            "version": _stack.STATE_VERSION,
            "workdir": str(state_dir / "gone"),
            "endpoints": {},
            "ports": {},
            "services": [
                {
                    "name": "prometheus",
                    "pid": 2**22 + 7,
                    "start_time": 1,
                    "url": "http://127.0.0.1:9",
                    "health_path": "/-/healthy",
                }
            ],
        }
    )
    st = sandbox.status()
    assert st.recorded and not st.healthy and not st.services[0].running
    result = CliRunner().invoke(sandbox_cli, ["status"])
    assert result.exit_code == 1 and "not running" in result.output
    (state_dir / "sandbox" / "run-dead01").mkdir(parents=True)  # left by an owner killed during start-up
    assert sandbox.down() == () and not _stack.state_file().exists()
    assert not list((state_dir / "sandbox").iterdir())
