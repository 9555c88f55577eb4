"""The observe clients against a real Prometheus: Debian's 2.42 and the 3.x that ``make tools`` builds.

Every test runs once per program that is present (the other one is skipped with a reason). The fixture runs
Prometheus on 127.0.0.1 with a free port and a temporary data directory. It scrapes itself
and a real HTTP metrics endpoint (``prometheus_client``) that counts checkout requests by status, and loads one
alerting rule with a short ``for`` so the pending → firing path happens within seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import tools
from course_lib.errors import ExerciseError, QueryError
from course_lib.observe import ERROR_RATIO_REFERENCE, Prometheus, check_error_ratio

pytestmark = pytest.mark.integration

#: where each Prometheus comes from → its binary (None when absent)
PROMETHEUS = {"debian": shutil.which("prometheus", path="/usr/bin:/usr/local/bin"), "go": tools.built("prometheus")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def checkout_metrics() -> Iterator[int]:
    """A real metrics endpoint with checkout_requests_total{status}; 1 in 5 requests fails."""
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    registry = CollectorRegistry()
    counter = Counter("checkout_requests", "Checkout requests by status.", ["status"], registry=registry)
    port = _free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.wait(0.05):
            n += 1
            counter.labels(status="500" if n % 5 == 0 else "200").inc()

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    yield port
    stop.set()
    worker.join(timeout=2)
    server.shutdown()


@pytest.fixture(scope="module", params=["debian", "go"], ids=["debian-2.x", "make-tools-3.x"])
def origin(request: pytest.FixtureRequest) -> str:
    """Which Prometheus the module's tests run against."""
    if PROMETHEUS[request.param] is None:
        why = "apt-get install prometheus" if request.param == "debian" else "`make tools` builds it from Go modules"
        pytest.skip(f"this Prometheus is not installed ({why})")
    return str(request.param)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory, checkout_metrics: int, origin: str) -> Iterator[Prometheus]:
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    port = _free_port()
    (workdir / "rules.yml").write_text(
        """
groups:
  - name: checkout.rules
    interval: 1s
    rules:
      - alert: CheckoutErrors
        expr: sum(rate(checkout_requests_total{status="500"}[10s])) > 0
        for: 2s
        labels: {severity: warning}
        annotations: {summary: "checkout requests are failing"}
"""
    )
    (workdir / "prometheus.yml").write_text(
        f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{workdir / "rules.yml"}]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: checkout
    static_configs: [{{targets: ["127.0.0.1:{checkout_metrics}"]}}]
"""
    )
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [
            str(PROMETHEUS[origin]),
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = Prometheus(f"http://127.0.0.1:{port}", timeout=5)
    try:
        deadline = time.monotonic() + 30
        while not client.ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prometheus did not become ready:\n{(workdir / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        # Prometheus applies scrape targets a few seconds after /-/ready: wait for data, not for readiness.
        enough = 'count_over_time(checkout_requests_total{status="500"}[1m]) >= 6'
        while client.query(enough).empty or client.query(ERROR_RATIO_REFERENCE).empty:
            if time.monotonic() > deadline + 30:
                pytest.fail("no checkout samples after 60 s")
            time.sleep(0.5)
        yield client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _wait_for(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.5)


def test_instant_query_and_targets(prom: Prometheus) -> None:
    up = prom.query("up")
    assert set(up["job"].astype(str)) == {"prometheus", "checkout"}
    assert up["value"].tolist() == [1.0, 1.0]
    targets = _wait_for(lambda: (t := prom.targets()) is not None and (t["health"] == "up").all() and t)
    assert list(targets["job"]) == ["checkout", "prometheus"]
    assert "checkout" in prom.label_values("job") and "status" in prom.labels()
    assert set(prom.series("checkout_requests_total")["status"]) == {"200", "500"}


def test_buildinfo_names_the_release_that_runs(prom: Prometheus, origin: str) -> None:
    info = prom.buildinfo()
    assert info.major == (3 if origin == "go" else 2), info
    assert info.go_version.startswith("go1.")
    if origin == "go":  # the release data/tools/pins.env pins and stamps (module v0.313.1 is Prometheus 3.13.1)
        stamped = re.search(r"version\.Version=(\S+)", tools.read_pins()["PROMETHEUS_LDFLAGS"])
        assert stamped is not None and info.version == stamped.group(1) and info.branch == "HEAD"


def test_range_query_steps_and_labels(prom: Prometheus) -> None:
    frame = prom.query_range("sum by (status) (rate(checkout_requests_total[5s]))", start="-4s", end="now", step="1s")
    assert set(frame["status"].astype(str)) == {"200", "500"}
    assert str(frame["timestamp"].dt.tz) == "UTC"
    per_status = frame[frame["status"] == "200"]["timestamp"]
    assert (per_status.diff().dropna() == per_status.diff().dropna().iloc[0]).all()
    assert per_status.diff().dropna().iloc[0].total_seconds() == 1.0
    assert (frame["value"] > 0).all()


def test_promql_error_from_the_real_server(prom: Prometheus) -> None:
    with pytest.raises(QueryError) as info:
        prom.query("sum(rate(checkout_requests_total[5m])")
    assert info.value.error_type == "bad_data"  # type: ignore[attr-defined]
    assert "parse error" in info.value.error  # type: ignore[attr-defined]


def test_alert_goes_pending_then_firing_and_shows_in_timeline(prom: Prometheus) -> None:
    rules = prom.rules(type="alert")
    assert rules["name"].tolist() == ["CheckoutErrors"] and rules["for_s"].iloc[0] == 2.0
    firing = _wait_for(lambda: (a := prom.alerts()).empty is False and (a["state"] == "firing").any() and a)
    assert firing.loc[0, "alertname"] == "CheckoutErrors" and firing.loc[0, "severity"] == "warning"
    timeline = prom.alert_timeline(start="-60s", step="1s")
    states = timeline[timeline["alertname"] == "CheckoutErrors"]["state"].tolist()
    assert states[:2] == ["pending", "firing"]


def test_exercise_check_right_and_wrong_on_live_data(prom: Prometheus) -> None:
    right = 'sum(rate(checkout_requests_total{status="500"}[5m])) / sum(rate(checkout_requests_total[5m]))'
    result = check_error_ratio(prom, right)
    assert 0.05 < result.value < 0.5  # the traffic fails one request in five
    with pytest.raises(ExerciseError) as no_sum:
        check_error_ratio(prom, 'rate(checkout_requests_total{status="500"}[5m]) / rate(checkout_requests_total[5m])')
    assert "divided by itself" in no_sum.value.hint
    with pytest.raises(ExerciseError) as percent:
        check_error_ratio(prom, f"100 * ({right})")
    assert "drop the * 100" in percent.value.hint


def test_unreachable_after_shutdown_is_clear() -> None:
    with pytest.raises(QueryError, match="could not reach"):
        Prometheus(f"http://127.0.0.1:{_free_port()}", timeout=1).query("up")
