"""Integration tests: the real sandbox stack (Prometheus 3 and Alertmanager as `make tools` builds them, else Debian's
2.42 and 0.25; node_exporter, Pushgateway and the Python services) as child processes. Each test module gets its
own COURSE_STATE_DIR."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import sandbox
from course_lib.errors import PortInUseError, SandboxError, ToolMissingError
from course_lib.sandbox import _process as proc
from course_lib.sandbox import _stack
from tests.conftest import make_exe

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    """A process exists in /proc and is not a zombie (PID 1 here does not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _poll(check, timeout: float, interval: float = 0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _notes(stack: sandbox.Stack, status: str, alertname: str = "CheckoutHighLatency") -> list[dict]:
    """Notifications about one alert (a busy machine may also fire HighNodeCPU)."""
    return [
        n
        for n in stack.webhook_notifications()
        if n["status"] == status and n.get("groupLabels", {}).get("alertname") == alertname
    ]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("sandbox-state")
    old = os.environ.get("COURSE_STATE_DIR")
    os.environ["COURSE_STATE_DIR"] = str(path)
    yield path
    sandbox.down()
    if old is None:
        os.environ.pop("COURSE_STATE_DIR", None)
    else:
        os.environ["COURSE_STATE_DIR"] = old


@pytest.fixture(scope="module")
def stack(state_dir: Path) -> sandbox.Stack:
    return sandbox.up(timeout=60)


def test_up_gives_checkout_rate_and_is_reused(stack: sandbox.Stack) -> None:
    assert not stack.reused
    from course_lib import tools

    urls = {
        name: url
        for name, url in vars(stack.endpoints).items()
        if name != "victorialogs" or tools.available("victoria-logs")
    }
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values()), urls
    # the log store runs exactly when `make tools` built it
    assert bool(stack.endpoints.victorialogs) == tools.available("victoria-logs")
    stack.wait_for_data("rate(checkout_requests_total[1m])", timeout=30)
    result = stack.query('sum(rate(checkout_requests_total{status="200"}[1m]))')
    assert result and float(result[0]["value"][1]) > 0
    again = sandbox.up()
    assert again.reused and again.endpoints == stack.endpoints
    assert sandbox.status().healthy


def _exe(pid: int) -> str:
    return os.path.realpath(f"/proc/{pid}/exe")


def test_metrics_programs_are_the_go_builds_when_built(stack: sandbox.Stack) -> None:
    from course_lib import observe, tools

    pids = {s.name: s.pid for s in sandbox.status().services}
    prometheus, alertmanager = tools.built("prometheus"), tools.built("alertmanager")
    prom = observe.Prometheus(stack.endpoints.prometheus).buildinfo()
    am = observe.Alertmanager(stack.endpoints.alertmanager).buildinfo()
    if prometheus is not None:  # the release data/tools/pins.env pins: Prometheus 3, the HTTP API without a web UI
        assert prom.major == 3 and _exe(pids["prometheus"]) == os.path.realpath(prometheus), prom
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{stack.endpoints.prometheus}/query", timeout=5)
    else:
        assert prom.major == 2 and _exe(pids["prometheus"]) == os.path.realpath(proc.find_binary("prometheus"))
    if alertmanager is not None:  # v0.31.1 compiles its UI in: the page is there
        assert am.version == tools.read_pins()["ALERTMANAGER_VERSION"].lstrip("v"), am
        assert _exe(pids["alertmanager"]) == os.path.realpath(alertmanager)
        with urllib.request.urlopen(f"{stack.endpoints.alertmanager}/", timeout=5) as page:
            assert b"<title>Alertmanager</title>" in page.read()
    else:
        assert am.version.startswith("0.25"), am


def test_targets_come_from_service_monitors(stack: sandbox.Stack) -> None:
    def targets() -> dict[str, str]:
        with urllib.request.urlopen(f"{stack.endpoints.prometheus}/api/v1/targets", timeout=5) as resp:
            active = json.load(resp)["data"]["activeTargets"]
        return {t["scrapePool"]: t["health"] for t in active}

    got = _poll(lambda: (t := targets()) and all(h == "up" for h in t.values()) and len(t) == 5 and t, 30)
    assert got, targets()
    assert set(got) == {
        "prometheus",
        "serviceMonitor/default/checkout/0",
        "serviceMonitor/default/traffic-generator/0",
        "serviceMonitor/monitoring/node-exporter/0",
        "serviceMonitor/monitoring/pushgateway/0",
    }
    assert "serviceMonitor/default/checkout/0" in stack.prometheus_yaml
    assert "for: 10s" in stack.rules_yaml and "for: 5m" in stack.real_rules_yaml


def test_rules_loaded_with_live_for(stack: sandbox.Stack) -> None:
    with urllib.request.urlopen(f"{stack.endpoints.prometheus}/api/v1/rules", timeout=5) as resp:
        groups = json.load(resp)["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert rules["CheckoutHighLatency"]["duration"] == 10
    assert rules["HighNodeCPU"]["duration"] == 10
    assert "instance:node_cpu:rate:sum" in rules
    assert _poll(lambda: stack.query("instance:node_cpu:rate:sum"), 20)


def test_latency_alert_pending_firing_webhook_resolved(stack: sandbox.Stack) -> None:
    stack.wait_for_data(timeout=30)
    stack.clear_notifications()
    assert stack.inject(latency_ms=600) == sandbox.Faults(latency_ms=600.0, error_rate=0.0)
    try:

        def state() -> str:
            result = stack.query('ALERTS{alertname="CheckoutHighLatency"}')
            return result[0]["metric"]["alertstate"] if result else ""

        assert _poll(lambda: state() == "pending", 20, 0.1), "alert never went pending"
        assert state() == "pending"  # for: 10s keeps it pending for a while
        assert _poll(lambda: state() == "firing", 30, 0.2), "alert never fired"
        firing = _poll(lambda: _notes(stack, "firing"), 20)
        assert firing and firing[0]["alerts"][0]["labels"]["alertname"] == "CheckoutHighLatency"
        assert firing[0]["alerts"][0]["annotations"]["sandbox_variant"].endswith("for: 5m → 10s")
    finally:
        stack.inject()
    resolved = _poll(lambda: _notes(stack, "resolved"), 60)
    assert resolved and resolved[0]["alerts"][0]["status"] == "resolved"


def test_a_reused_stack_is_not_stopped_by_its_context_manager(stack: sandbox.Stack) -> None:
    with sandbox.up() as reused:
        assert reused.reused
    assert sandbox.status().healthy  # the owner's stack still runs
    assert sandbox.up().reused


def test_errors_and_traffic_control(stack: sandbox.Stack) -> None:
    assert stack.set_traffic(rps=10) == 10.0
    stack.inject(error_rate=1.0)
    try:
        assert _poll(lambda: stack.query('rate(checkout_requests_total{status="500"}[5s]) > 0'), 20)
    finally:
        stack.inject()
        stack.set_traffic(rps=5)


def test_dead_service_is_reported_and_replaced_by_up(stack: sandbox.Stack) -> None:
    before = {s.name: s.pid for s in sandbox.status().services}
    os.kill(before["checkout"], signal.SIGKILL)
    assert _poll(lambda: not sandbox.status().healthy, 5)
    st = sandbox.status()
    assert [s.name for s in st.services if not s.running] == ["checkout"]
    fresh = sandbox.up()
    assert not fresh.reused and fresh.endpoints != stack.endpoints
    assert not any(_alive(pid) for pid in before.values())
    assert sandbox.status().healthy


def test_down_leaves_no_process(state_dir: Path) -> None:
    from course_lib import tools

    expected = {n for n in _stack.SERVICE_NAMES if n != "victorialogs" or tools.available("victoria-logs")}
    stack = sandbox.up()
    pids = [s.pid for s in sandbox.status().services]
    assert len(pids) == len(expected) and all(pid and _alive(pid) for pid in pids)
    stopped = sandbox.down()
    assert set(stopped) - {"control-plane"} == expected
    assert not any(_alive(pid) for pid in pids if pid)
    assert not _stack.state_file().exists() and not stack.workdir.exists()
    assert not sandbox.status().recorded
    assert sandbox.down() == ()


def test_debian_is_the_fallback_without_the_go_builds(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from course_lib import observe

    if not all(os.access(f"/usr/bin/{n}", os.X_OK) for n in ("prometheus", "prometheus-alertmanager")):
        pytest.skip("Debian's prometheus and prometheus-alertmanager are not installed")
    sandbox.down()
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "empty-cache"))  # as on a machine without Go
    try:
        fallback = sandbox.up(timeout=60)
        assert observe.Prometheus(fallback.endpoints.prometheus).buildinfo().major == 2
        assert observe.Alertmanager(fallback.endpoints.alertmanager).buildinfo().version.startswith("0.25")
        fallback.wait_for_data("rate(checkout_requests_total[1m])", timeout=30)
    finally:
        sandbox.down()


def test_orphans_of_a_killed_owner_are_found_and_cleaned(state_dir: Path) -> None:
    code = (
        "import json, time; from course_lib import sandbox; s = sandbox.up(timeout=60);"
        "print(json.dumps([x.pid for x in sandbox.status().services]), flush=True); time.sleep(600)"
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        line = owner.stdout.readline() if owner.stdout else ""
        pids = json.loads(line)
    finally:
        owner.kill()  # SIGKILL: no atexit, no cleanup in the owner
        owner.wait()
    from course_lib import tools

    assert len(pids) == 7 + tools.available("victoria-logs")
    st = sandbox.status()  # the stack outlives its owner and is still found
    assert st.recorded and st.healthy, st.table()
    assert sandbox.up().reused  # and reused
    sandbox.down()
    assert _poll(lambda: not any(_alive(p) for p in pids), 5)
    assert not proc.marked_pids(str(_stack.state_file()))


def test_concurrent_up_from_two_kernels_starts_one_stack(state_dir: Path) -> None:
    code = "from course_lib import sandbox; s = sandbox.up(timeout=60); print(s.endpoints.prometheus, s.reused)"
    owners = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [o.communicate(timeout=90)[0].split() for o in owners]
    try:
        assert outputs[0][0] == outputs[1][0]  # same Prometheus URL
        assert sorted(o[1] for o in outputs) == ["False", "True"]  # one started it, the other reused it
    finally:
        sandbox.down()


def test_backfill_gives_history_at_once(state_dir: Path) -> None:
    stack = sandbox.up(backfill_hours=2)
    try:
        assert stack.backfill_hours == 2
        url = f"{stack.endpoints.prometheus}/api/v1/query_range?" + urllib.parse.urlencode(
            {
                "query": 'sum(rate(checkout_requests_total{simulated="true"}[5m]))',
                "start": time.time() - 7200 + 600,
                "end": time.time() - 60,
                "step": 300,
            }
        )
        with urllib.request.urlopen(url, timeout=10) as resp:
            values = json.load(resp)["data"]["result"][0]["values"]
        assert len(values) >= 20
        assert all(3.0 < float(v) < 8.0 for _, v in values)  # about 5 rps with the hourly wave
    finally:
        sandbox.down()


def test_fixed_port_in_use_is_refused(state_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUseError) as err:
            sandbox.up(ports={"prometheus": port})
    assert err.value.context["port"] == port
    assert not _stack.state_file().exists() and not proc.marked_pids(str(_stack.state_file()))


def test_missing_binary_is_refused(state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("prometheus", "prometheus-node-exporter", "prometheus-pushgateway"):
        (tmp_path / name).symlink_to(proc.find_binary(name))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "no-cache"))  # no Go-built alertmanager either
    with pytest.raises(ToolMissingError) as err:
        sandbox.up()
    assert "prometheus-alertmanager" in str(err.value) and "make setup" in err.value.hint
    assert not _stack.state_file().exists()


def test_failing_service_leaves_nothing_half_started(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("prometheus", "prometheus-node-exporter", "prometheus-pushgateway"):
        (tmp_path / name).symlink_to(proc.find_binary(name))
    make_exe(tmp_path / "prometheus-alertmanager", "echo 'boom: cannot read config' >&2\nexit 3")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "no-cache"))  # the broken program is the one found
    with pytest.raises(SandboxError) as err:
        sandbox.up(timeout=30)
    assert "alertmanager" in str(err.value) and "boom: cannot read config" in str(err.value)
    assert not _stack.state_file().exists()
    assert not proc.marked_pids(str(_stack.state_file()))
    assert not list((state_dir / "sandbox").glob("run-*"))
