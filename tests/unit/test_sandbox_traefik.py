"""Unit tests: Traefik's static configuration, the loopback guard, the on-demand process groups that ``down``
stops, the versioned checkout backends and the Part 4 objects Traefik reads on the sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_lib import manifests as m
from course_lib import sandbox, traffic
from course_lib.errors import ConfigError, SandboxError
from course_lib.sandbox import _ondemand, _traefik
from course_lib.sandbox import _process as proc

PORTS = {"web": 4101, "websecure": 4102, "traefik": 4103, "metrics": 4104}


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_argv_listens_only_on_loopback_and_never_calls_home() -> None:
    argv = _traefik.traefik_argv("traefik", PORTS)
    addresses = [a.split("=", 1)[1] for a in argv if a.startswith("--entryPoints.") and ".address=" in a]
    assert addresses == ["127.0.0.1:4101", "127.0.0.1:4102", "127.0.0.1:4103", "127.0.0.1:4104"]
    for flag in (
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--api.disableDashboardAd=true",
    ):
        assert flag in argv
    assert "--providers.kubernetesCRD=true" in argv and "--providers.kubernetesGateway=true" in argv
    assert not any("allowExternalNameServices" in a or "nativeLB" in a for a in argv)  # no ClusterIP, no DNS names
    assert "--providers.kubernetesGateway=true" not in _traefik.traefik_argv("traefik", PORTS, gateway=False)
    with pytest.raises(SandboxError, match="metrics"):
        _traefik.traefik_argv("traefik", {"web": 1, "websecure": 2, "traefik": 3})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:80", True),
        ("https://127.5.6.7:443/x", True),
        ("http://[::1]:80", True),
        ("http://10.0.0.7:80", False),
        ("http://192.168.1.2", False),
        ("http://localhost:80", False),  # names are not resolved: only addresses count
        ("http://checkout.edge.svc:80", False),
    ],
)
def test_is_loopback_url(url: str, ok: bool) -> None:
    assert sandbox.is_loopback_url(url) is ok


def test_requests_refuse_non_loopback_targets() -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        traffic.edge_request("http://10.0.0.7:80", "shop.example.com")
    with pytest.raises(ConfigError):
        traffic.traefik_servers("http://192.168.0.1:8080")


def test_kubeconfig_off_this_machine_is_refused(tmp_path: Path) -> None:
    kc = tmp_path / "kc.yaml"
    kc.write_text("clusters:\n- name: x\n  cluster:\n    server: https://10.1.2.3:6443\n")
    with pytest.raises(SandboxError, match="not on this machine's loopback"):
        _traefik._require_loopback_server(str(kc))


def test_gateway_api_version_comes_from_the_wrapper_go_mod() -> None:
    assert _traefik.required_version(_traefik.GATEWAY_MODULE) == "v1.4.0"
    assert _traefik.required_version(_traefik.TRAEFIK_MODULE) == "v3.6.12"


def test_endpoint_slice_and_selectorless_service_validate() -> None:
    svc = m.checkout_service("checkout-v1", namespace="edge", version="v1", select_pods=False)
    assert "selector" not in svc["spec"] and svc["spec"]["ports"][0]["name"] == "http"
    assert "selector" in m.checkout_service("checkout-v1", namespace="edge", version="v1")["spec"]
    eps = m.local_endpoint_slice("checkout-v1", namespace="edge", port=41234)
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "checkout-v1"
    assert eps["addressType"] == "FQDN"  # IPv4 slices refuse loopback addresses
    assert m.validate([svc, eps]).ok
    with pytest.raises(ConfigError):
        m.local_endpoint_slice("x", namespace="edge", port=0)


def test_edge_objects_are_valid_and_every_slice_is_loopback() -> None:
    ca, cert, key = traffic.self_signed_tls("secure.example.com")
    objs = traffic.edge_objects({"v1": 40001, "v2": 40002}, tls=(cert, key), canary_percent=25)
    report = m.validate(objs)
    assert report.ok, report.table()
    slices = [o for o in objs if o["kind"] == "EndpointSlice"]
    assert [a for s in slices for e in s["endpoints"] for a in e["addresses"]] == ["127.0.0.1", "127.0.0.1"]
    services = [o for o in objs if o["kind"] == "Service"]
    assert all("selector" not in s["spec"] for s in services)  # no kwok pod (10.x) can join them
    weighted = next(o for o in objs if o["kind"] == "TraefikService")["spec"]["weighted"]["services"]
    assert [(s["name"], s["weight"]) for s in weighted] == [("checkout-v1", 75), ("checkout-v2", 25)]
    secure = next(o for o in objs if o["metadata"]["name"] == "edge-secure")
    assert secure["spec"]["tls"] == {"secretName": "edge-tls"} and secure["spec"]["entryPoints"] == ["websecure"]


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, host: str) -> None:
    """A TLS handshake between two in-memory ends; raises what the client's verification raises."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    cli = client.wrap_bio(c_in, c_out, server_hostname=host)
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for end in (cli, srv):
            with contextlib.suppress(ssl.SSLWantReadError):
                end.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    cli.do_handshake()


def test_self_signed_tls_is_verifiable_with_its_ca(tmp_path: Path) -> None:
    ca, cert, key = traffic.self_signed_tls("secure.example.com")
    (tmp_path / "c.pem").write_text(cert)
    (tmp_path / "k.pem").write_text(key)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    client = ssl.create_default_context(cadata=ca)
    client.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    _handshake(client, server, "secure.example.com")
    with pytest.raises(ssl.SSLCertVerificationError):  # another CA does not vouch for it
        _handshake(
            ssl.create_default_context(cadata=traffic.self_signed_tls("x.test")[0]), server, "secure.example.com"
        )
    with pytest.raises(ssl.SSLCertVerificationError):  # nor does it name another host
        _handshake(ssl.create_default_context(cadata=ca), server, "other.example.com")


def test_token_bucket_model() -> None:
    assert traffic.expected_rejections(100, 2.0, average=20, burst=10) == 50.0
    assert traffic.expected_rejections(10, 1.0, average=20, burst=10) == 0.0
    assert traffic.expected_rejections(5, 0.0, average=1, burst=0) == 4.0  # Traefik treats burst 0 as 1


def _checkout_child(name: str, port: int, version: str) -> _ondemand.Child:
    argv = [sys.executable, "-m", "course_lib.sandbox._checkout", "--port", str(port), "--version", version]
    return _ondemand.Child(name, argv, f"http://127.0.0.1:{port}/healthz")


def test_group_starts_reuses_and_down_stops_it(state_dir: Path) -> None:
    port = proc.free_port()
    kids = [_checkout_child("checkout-v2", port, "v2")]
    from course_lib.sandbox._stack import _locked

    with _locked():
        entry, reused = _ondemand.start_group("demo", kids, inputs={"a": 1}, endpoints={}, timeout=20)
    assert not reused
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/anything") as resp:  # noqa: S310
        assert resp.headers["X-Checkout-Version"] == "v2"
        assert json.loads(resp.read()) == {"path": "/anything", "version": "v2"}
    with _locked():
        again, reused = _ondemand.start_group("demo", kids, inputs={"a": 1}, endpoints={}, timeout=20)
    assert reused and again["children"][0]["pid"] == entry["children"][0]["pid"]
    assert [row[:2] for row in sandbox.overview().on_demand] == [("demo", "checkout-v2")]
    pid = entry["children"][0]["pid"]
    assert "checkout-v2" in sandbox.down()
    assert not proc.is_running(pid) and _ondemand.recorded("demo") is None
    assert not _ondemand.state_file().exists()


def test_down_finds_an_unrecorded_marked_child(state_dir: Path) -> None:
    """A kernel that died between spawning and recording leaves a marked child: ``down`` still stops it."""

    port = proc.free_port()
    env = {**os.environ, "COURSE_SANDBOX_STATE": str(_ondemand.state_file())}
    argv = [sys.executable, "-m", "course_lib.sandbox._checkout", "--port", str(port), "--version", "v1"]
    sp = proc.spawn("orphan", argv, log=state_dir / "orphan.log", env=env)
    assert proc.wait_until(lambda: proc.http_ok(f"http://127.0.0.1:{port}/healthz"), deadline=time.monotonic() + 20)
    assert f"pid {sp.pid}" in sandbox.down()
    assert not proc.is_running(sp.pid)


def test_traefik_up_needs_the_binary(state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from course_lib import tools
    from course_lib.errors import ToolMissingError

    kc = tmp_path / "kc.yaml"
    kc.write_text("clusters:\n- name: x\n  cluster:\n    server: https://127.0.0.1:6443\n")
    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(ToolMissingError, match="traefik is not built"):
        sandbox.traefik_up(kubeconfig=str(kc))


def test_a_new_control_plane_behind_the_same_kubeconfig_is_not_reused(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Traefik reads its kubeconfig only at start: a rewritten kubeconfig (new API server port) means a new Traefik."""
    seen: list[dict] = []

    def fake_reusable(group: str, inputs: dict) -> None:
        seen.append(dict(inputs))
        raise SystemExit  # stop before anything starts

    monkeypatch.setattr(_ondemand, "reusable", fake_reusable)
    monkeypatch.setattr(_traefik, "binary", lambda: "/bin/true")
    kc = tmp_path / "kc.yaml"
    for port in (6443, 7443):
        kc.write_text(f"clusters:\n- name: x\n  cluster:\n    server: https://127.0.0.1:{port}\n")
        with pytest.raises(SystemExit):
            sandbox.traefik_up(kubeconfig=str(kc))
    assert seen[0]["kubeconfig"] == seen[1]["kubeconfig"] and seen[0] != seen[1]
