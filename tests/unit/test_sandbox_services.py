"""Unit tests of the sandbox's Python services, served in-process on a free port."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry

from course_lib.sandbox import _checkout, _traffic, _webhook


def _serve(handler: type) -> tuple[str, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def _call(method: str, url: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def checkout() -> Iterator[tuple[str, _checkout.CheckoutApp]]:
    app = _checkout.CheckoutApp(CollectorRegistry(), seed=1)
    url, server = _serve(_checkout.make_handler(app))
    yield url, app
    server.shutdown()


def _sample(app: _checkout.CheckoutApp, name: str, labels: dict[str, str] | None = None) -> float:
    return app.registry.get_sample_value(name, labels or {}) or 0.0


def test_checkout_counts_and_times_requests(checkout: tuple[str, _checkout.CheckoutApp]) -> None:
    url, app = checkout
    for _ in range(3):
        assert _call("GET", f"{url}/checkout")[0] == 200
    assert _sample(app, "checkout_requests_total", {"status": "200"}) == 3
    assert _sample(app, "checkout_request_duration_seconds_count") == 3
    assert _sample(app, "checkout_request_duration_seconds_bucket", {"le": "0.4"}) == 3  # healthy: all under 400 ms
    status, text = _call("GET", f"{url}/metrics")
    assert status == 200 and 'checkout_requests_total{status="500"} 0.0' in text


def test_checkout_injects_latency_and_errors(checkout: tuple[str, _checkout.CheckoutApp]) -> None:
    url, app = checkout
    status, body = _call("POST", f"{url}/control", {"latency_ms": 450, "error_rate": 1.0})
    assert status == 200 and json.loads(body) == {"latency_ms": 450.0, "error_rate": 1.0}
    start = time.perf_counter()
    assert _call("GET", f"{url}/checkout")[0] == 500
    assert time.perf_counter() - start >= 0.45
    assert _sample(app, "checkout_requests_total", {"status": "500"}) == 1
    assert _sample(app, "checkout_request_duration_seconds_bucket", {"le": "0.4"}) == 0
    assert _call("POST", f"{url}/control", {"error_rate": 2})[0] == 400
    assert _call("POST", f"{url}/control", {"latency_ms": -1})[0] == 400
    assert json.loads(_call("GET", f"{url}/control")[1]) == {"latency_ms": 450.0, "error_rate": 1.0}


def test_traffic_generator_keeps_its_rate(checkout: tuple[str, _checkout.CheckoutApp]) -> None:
    url, app = checkout
    gen = _traffic.Generator(f"{url}/checkout", 40.0, CollectorRegistry())
    thread = threading.Thread(target=gen.run, daemon=True)
    thread.start()
    time.sleep(1.0)
    gen.stop.set()
    thread.join(timeout=2)
    gen.pool.shutdown(wait=True)
    sent = gen.registry.get_sample_value("traffic_requests_total", {"result": "ok"}) or 0
    assert 25 <= sent <= 50, sent
    assert _sample(app, "checkout_requests_total", {"status": "200"}) == sent
    with pytest.raises(ValueError):
        gen.set_rps(-1)


def test_traffic_control_endpoint() -> None:
    gen = _traffic.Generator("http://127.0.0.1:9/checkout", 0.0, CollectorRegistry())
    url, server = _serve(_traffic.make_handler(gen))
    try:
        assert json.loads(_call("POST", f"{url}/control", {"rps": 7.5})[1])["rps"] == 7.5
        assert gen.rps == 7.5
        assert _call("POST", f"{url}/control", {"rps": "fast"})[0] == 400
        assert _call("POST", f"{url}/control", {})[0] == 400
    finally:
        server.shutdown()


def test_webhook_records_notifications(tmp_path) -> None:
    inbox = _webhook.Inbox(tmp_path / "n.jsonl")
    url, server = _serve(_webhook.make_handler(inbox))
    try:
        payload = {"status": "firing", "alerts": [{"labels": {"alertname": "X"}}]}
        assert _call("POST", f"{url}/alerts", payload)[0] == 200
        got = json.loads(_call("GET", f"{url}/notifications")[1])
        assert len(got) == 1 and got[0]["status"] == "firing" and got[0]["received_at"] > 0
        assert json.loads((tmp_path / "n.jsonl").read_text().splitlines()[0])["status"] == "firing"
        assert _call("POST", f"{url}/alerts", None)[0] == 200  # empty body is an empty object
        req = urllib.request.Request(f"{url}/alerts", data=b"not json", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 400
        assert json.loads(_call("DELETE", f"{url}/notifications")[1]) == {"cleared": 2}
        assert json.loads(_call("GET", f"{url}/notifications")[1]) == []
    finally:
        server.shutdown()


def test_stack_methods_talk_to_the_services(tmp_path, checkout: tuple[str, _checkout.CheckoutApp]) -> None:
    from course_lib.errors import ConfigError, SandboxError
    from course_lib.sandbox import Faults, Stack

    url, app = checkout
    gen = _traffic.Generator(f"{url}/checkout", 0.0, CollectorRegistry())
    traffic_url, traffic_server = _serve(_traffic.make_handler(gen))
    hook_url, hook_server = _serve(_webhook.make_handler(_webhook.Inbox()))
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    endpoints = dict.fromkeys(("prometheus", "alertmanager", "node_exporter", "pushgateway"), "http://127.0.0.1:9")
    endpoints.update(checkout=url, traffic=traffic_url, webhook=hook_url)
    stack = Stack({"endpoints": endpoints, "workdir": str(tmp_path)}, reused=False)
    try:
        assert stack.inject(latency_ms=250, error_rate=0.5) == Faults(250.0, 0.5)
        assert app.faults.latency_ms == 250.0 and app.faults.error_rate == 0.5
        assert stack.inject() == Faults(0.0, 0.0)
        assert stack.set_traffic(rps=3) == 3.0 and gen.rps == 3.0
        assert stack.webhook_notifications() == []
        assert stack.rules_yaml == "groups: []\n" and stack.prometheus_yaml == ""
        with pytest.raises(ConfigError):
            stack.inject(error_rate=20)  # a percentage instead of a fraction: refused before any request
        with pytest.raises(ConfigError):
            stack.set_traffic(rps=-1)
        assert app.faults.error_rate == 0.0
        with pytest.raises(SandboxError, match="course sandbox status"):
            stack.query("up")  # nothing listens on port 9
    finally:
        traffic_server.shutdown()
        hook_server.shutdown()
