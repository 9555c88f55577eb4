"""Part 3's checkout app for real: the Express app (Node.js, its locked npm dependencies) runs as a sandbox
process on 127.0.0.1 and reports every checkout over DogStatsD (hot-shots, UDP) to a loopback listener, as it
would to the Datadog Agent's hostPort on a cluster. The seed's monitors read the metric and tags that arrive. Once
stopped (``express_down`` or ``course sandbox down``) no app process is left in /proc and nothing arrives."""

from __future__ import annotations

import shutil
import urllib.error
from pathlib import Path

import pytest

from course_lib import observe, sandbox
from course_lib.sandbox import _express
from tests.conftest import pids_running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="Node.js is not installed"),
]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) of the TCP sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def _app_pids() -> list[int]:
    """The live node processes running the installed checkout app."""
    found = []
    for pid in pids_running(shutil.which("node") or "node"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            continue
        if str(_express.install_dir()) in cmdline:
            found.append(pid)
    return found


def test_the_app_sends_the_metric_the_monitors_read_and_stops_with_the_sandbox() -> None:
    monitors = observe.seed_monitors()
    with observe.DogStatsdListener() as listener:
        app = sandbox.express_up(statsd_port=listener.port, latency_ms=40)
        try:
            assert _express.installed()
            answers = [app.checkout() for _ in range(5)]
            assert all(a["ok"] is True for a in answers)
            port = int(app.url.rsplit(":", 1)[1])
            assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
            latencies = listener.wait("custom.checkout.latency", 5)
            listener.wait("custom.checkout.requests", 5)
            sample = latencies[0]
            assert sample.type == "d"  # a distribution: stored under its own name, which the monitors read
            assert {"service:checkout-api", "env:course", "route:/checkout"} <= set(sample.tags)
            assert all(19 <= d.value <= 1000 for d in latencies)  # 0.5x..1.5x of 40 ms, plus the event loop
            inputs = observe.monitor_inputs(monitors, listener.received())
            assert {i.monitor for i in inputs} == {"latency_anomaly", "latency_high"}
            observe.check_monitor_inputs(inputs)  # every app-metric monitor is fed
            assert sandbox.express_up(statsd_port=listener.port, latency_ms=40).reused
            assert _app_pids()
        finally:
            stopped = sandbox.down()
        assert "express-app" in stopped
        assert _app_pids() == []
        before = len(listener.received())
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            app.checkout(timeout=2)
        assert len(listener.received()) == before  # nothing sends once the app is stopped


def test_monitors_for_another_service_are_not_fed_by_this_app() -> None:
    with observe.DogStatsdListener() as listener:
        app = sandbox.express_up(statsd_port=listener.port, latency_ms=10, service="payments")
        try:
            app.checkout()
            listener.wait("custom.checkout.latency", 1)
            inputs = observe.monitor_inputs(observe.seed_monitors(), listener.received())
            assert [i.fed for i in inputs] == [False, False]
            with pytest.raises(Exception, match="latency_anomaly reads custom.checkout.latency"):
                observe.check_monitor_inputs(inputs)
        finally:
            sandbox.express_down()
    assert _app_pids() == []
