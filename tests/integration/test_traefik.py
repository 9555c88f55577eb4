"""Traefik v3 as a real process on the sandbox: its CRD provider reads the sandbox kube-apiserver, and real requests
(all to 127.0.0.1) are routed by host and path, served over TLS with a Secret's certificate, rate-limited with real
429s and split by weight. Every backend Traefik knows is a loopback address (asserted from Traefik's own API), and
with Traefik stopped the same requests fail."""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from course_lib import sandbox, tools, traffic, widgets
from course_lib.cluster import Cluster
from course_lib.sandbox import _controlplane
from tests.conftest import pids_running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
    pytest.mark.skipif(tools.find("traefik") is None, reason="needs Traefik: `scripts/build_tools.sh traefik`"),
]

H = traffic.EDGE_HOSTS
AVERAGE, BURST = 20, 10


@pytest.fixture(scope="module")
def edge(apiserver_kubeconfig: str, apiserver_cluster: Cluster) -> Iterator[dict[str, Any]]:
    if os.environ.get("COURSE_KUBECONFIG"):
        pytest.skip("Traefik on the sandbox reads only the sandbox control plane")
    up = sandbox.traefik_up(kubeconfig=apiserver_kubeconfig)
    ca, cert, key = traffic.self_signed_tls(H["secure"])
    backends = {v: up.ports[f"backend-{v}"] for v in ("v1", "v2")}
    labels = {"app.kubernetes.io/part-of": "course-lib", "course-lib/run": uuid.uuid4().hex[:8]}
    objects = traffic.edge_objects(backends, tls=(cert, key), average=AVERAGE, burst=BURST, labels=labels)
    apiserver_cluster.apply(objects)
    traffic.wait_for_routes(
        up.web,
        {H["api"]: "/users", H["limited"]: "/", H["canary"]: "/", H["secure"]: "/"},
        websecure=up.websecure,
        ca_pem=ca,
        timeout=60,
    )
    yield {"up": up, "ca": ca, "objects": objects, "cluster": apiserver_cluster}
    sandbox.traefik_down()


def test_runs_the_pinned_version(edge: dict[str, Any]) -> None:
    assert edge["up"].version == "v3.6.12"


def test_host_and_path_rules_reach_the_right_backend(edge: dict[str, Any]) -> None:
    web = edge["up"].web
    users = traffic.edge_request(web, H["api"], "/users/42")
    orders = traffic.edge_request(web, H["api"], "/orders/7")
    assert (users.status, users.version) == (200, "v1") and '"/users/42"' in users.body
    assert (orders.status, orders.version) == (200, "v2")
    assert traffic.edge_request(web, H["api"], "/other").status == 404  # no router matches
    assert traffic.edge_request(web, "unknown.example.com", "/users").status == 404


def test_every_server_traefik_knows_is_loopback(edge: dict[str, Any]) -> None:
    servers = traffic.traefik_servers(edge["up"].api)
    urls = servers.dropna(subset=["loopback"])
    assert len(urls) >= 2, servers
    assert urls["loopback"].all(), urls[~urls["loopback"].astype(bool)]
    ports = {int(u.rsplit(":", 1)[1]) for u in urls["url"]}
    assert ports <= {edge["up"].ports["backend-v1"], edge["up"].ports["backend-v2"]}


def test_tls_with_the_secret_certificate_verifies_against_its_ca(edge: dict[str, Any]) -> None:
    up = edge["up"]
    got = traffic.edge_request(up.websecure, H["secure"], "/pay", ca_pem=edge["ca"])
    assert (got.status, got.version) == (200, "v1")
    with pytest.raises(ssl.SSLCertVerificationError):
        traffic.edge_request(up.websecure, H["secure"], "/pay")  # the system CAs do not know the course's CA


def test_rate_limit_answers_429_above_average_and_burst(edge: dict[str, Any]) -> None:
    run = traffic.rate_limit_burst(edge["up"].web, requests=120, average=AVERAGE, burst=BURST)
    ok = int((run.frame["status"] == 200).sum())
    assert run.rejected > 0 and ok >= BURST and ok + run.rejected == run.requests
    assert abs(run.rejected - run.expected_rejected) <= 0.15 * run.requests, run.summary()


def test_weighted_split_and_a_new_weight(edge: dict[str, Any]) -> None:
    up, cluster = edge["up"], edge["cluster"]
    run = traffic.measure_split(up.web, canary_percent=10, requests=200, z=traffic.Z99)
    assert run.failed == 0 and run.within_band, run
    labels = edge["objects"][0]["metadata"]["labels"]
    traffic.set_canary_weight(cluster, up.api, 50, labels=labels)
    half = traffic.measure_split(up.web, canary_percent=50, requests=200, z=traffic.Z99)
    assert half.failed == 0 and half.within_band, half
    traffic.set_canary_weight(cluster, up.api, 10, labels=labels)


def test_weight_sweep_observes_each_configured_weight(edge: dict[str, Any]) -> None:
    labels = edge["objects"][0]["metadata"]["labels"]
    ca, objects = edge["ca"], edge["objects"]
    e = traffic.Edge(edge["up"], ca, "", tuple(objects), 0.0, labels=labels)
    frame = traffic.weight_sweep(edge["cluster"], e, weights=(0, 30, 100), requests=100)
    assert frame["failed"].sum() == 0
    assert frame.loc[frame["configured"] == 0, "observed"].item() == 0.0
    assert frame.loc[frame["configured"] == 100, "observed"].item() == 100.0
    assert ((frame["model_low"] <= frame["observed"]) & (frame["observed"] <= frame["model_high"])).all(), frame


def test_gateway_api_httproute_splits_by_backend_ref_weights(edge: dict[str, Any]) -> None:
    up, cluster = edge["up"], edge["cluster"]
    labels = edge["objects"][0]["metadata"]["labels"]
    objects = traffic.gateway_objects(up.ports["web"], canary_percent=20, labels=labels)
    cluster.apply(objects)
    traffic.wait_for_routes(up.web, {H["gateway"]: "/"}, timeout=60)
    run = traffic.measure_split(up.web, canary_percent=20, requests=200, host=H["gateway"], z=traffic.Z99)
    assert run.failed == 0 and run.within_band, run
    assert traffic.traefik_servers(up.api).dropna(subset=["loopback"])["loopback"].all()
    cluster.delete(objects)


def _traefik_rates(stack: Any, timeout: float = 30.0) -> set[str]:
    """Backends with a request rate in the sandbox Prometheus (Traefik's ``service`` label, renamed as a cluster's
    Prometheus renames it: the ServiceMonitor's target label ``service`` wins)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = stack.query('sum by (exported_service) (rate(traefik_service_requests_total{job="traefik"}[10s]))')
        names = {r["metric"].get("exported_service", "") for r in got if float(r["value"][1]) > 0}
        if {"edge-checkout-v1-80@kubernetescrd", "edge-checkout-v2-80@kubernetescrd"} <= names:
            return names
        time.sleep(0.5)
    return set()


def test_sandbox_prometheus_scrapes_traefik_with_the_service_monitor_job(edge: dict[str, Any]) -> None:
    import threading

    up, cluster = edge["up"], edge["cluster"]
    stack = sandbox.up(rps=0)  # Traefik runs already: the stack's Prometheus starts with its job
    stop = threading.Event()

    def traffic_loop() -> None:
        while not stop.is_set():
            traffic.measure_split(sandbox.traefik_endpoints().web, canary_percent=10, requests=20)

    worker = threading.Thread(target=traffic_loop, daemon=True)
    worker.start()
    try:
        assert _traefik_rates(stack), "no per-backend rate from Traefik's metrics"
        targets = stack.query('up{job="traefik"}')
        assert [t["metric"]["instance"] for t in targets] == [f"127.0.0.1:{up.ports['metrics']}"]
        stop.set()
        worker.join(timeout=10)
        sandbox.traefik_down()  # the job leaves Prometheus's configuration with it
        assert "serviceMonitor/traefik/traefik/0" not in stack.prometheus_yaml
        again = sandbox.traefik_up(kubeconfig=up.kubeconfig)  # a running Prometheus is told by SIGHUP
        assert f"127.0.0.1:{again.ports['metrics']}" in stack.prometheus_yaml
        backends = {v: again.ports[f"backend-{v}"] for v in ("v1", "v2")}
        cluster.apply(traffic.edge_objects(backends, average=AVERAGE, burst=BURST))
        traffic.wait_for_routes(again.web, {H["canary"]: "/"}, timeout=60)
        stop.clear()
        worker = threading.Thread(target=traffic_loop, daemon=True)
        worker.start()
        assert _traefik_rates(stack), "no rate after Traefik was started again"
    finally:
        stop.set()
        worker.join(timeout=10)


def test_live_canary_slider_measures_the_last_position_and_follows_traefik(edge: dict[str, Any]) -> None:
    """The live slider (notebook 04): positions in a row are measured once, at the last one, off the kernel's
    thread; with Traefik stopped the status says so; after a restart on new ports it measures through the new one."""
    labels = edge["objects"][0]["metadata"]["labels"]
    e = traffic.Edge(edge["up"], edge["ca"], "", tuple(edge["objects"]), 0.0, labels=labels)
    cluster = edge["cluster"]
    box = widgets.live_canary_slider(cluster, e, initial=10, requests=100, static=False)
    slider, status, out = box.children
    assert "100 real requests at 10% canary" in status.value, status.value
    ((plot,),) = [[o for o in out.outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]]
    for value in (20, 30, 40, 50):  # four key presses in a row
        slider.value = value
    assert box.worker.wait_idle(120), status.value
    assert "100 real requests at 50% canary" in status.value, status.value
    assert box.worker.skipped >= 1  # 30 and 40 (at least one of them) were never measured
    assert out.outputs[0]["data"] != plot["data"]  # redrawn
    running = sandbox.traefik_endpoints()
    assert running is not None
    servers = traffic.traefik_servers(running.api)
    weights = dict(servers.loc[servers["service"] == "edge-checkout-canary@kubernetescrd", ["url", "weight"]].values)
    assert weights == {"edge-checkout-v1-80": 50, "edge-checkout-v2-80": 50}, weights

    sandbox.traefik_down()
    slider.value = 60
    assert box.worker.wait_idle(60)
    assert "Traefik is not running" in status.value and "start_edge" in status.value, status.value

    again = traffic.start_edge(cluster, canary_percent=10)  # as drill 8.7 does: new ports, objects applied again
    assert again.traefik.web != e.traefik.web or again.traefik.api != e.traefik.api or not again.traefik.reused
    slider.value = 25
    assert box.worker.wait_idle(120), status.value
    assert "100 real requests at 25% canary" in status.value and ", 0 failed" in status.value, status.value


def test_requests_fail_when_traefik_is_stopped_and_down_leaves_no_process(edge: dict[str, Any]) -> None:
    up = sandbox.traefik_endpoints() or edge["up"]
    traefik_binary = str(tools.find("traefik"))
    assert pids_running(traefik_binary)
    stopped = sandbox.traefik_down()
    assert "traefik" in stopped and "checkout-v1" in stopped
    with pytest.raises(OSError):
        traffic.edge_request(up.web, H["api"], "/users")
    assert not pids_running(traefik_binary)
    again = sandbox.traefik_up(kubeconfig=up.kubeconfig)  # `course sandbox down` stops a running one too
    assert not again.reused and pids_running(traefik_binary)
    sandbox.down()
    assert not pids_running(traefik_binary)
