"""Kyverno's admission controller on the sandbox, without running it: its flags bind loopback only and point the
webhook URL at 127.0.0.1, the objects it needs first, the ValidatingPolicy builder, the on-stop clean-up recorded
with an on-demand group, and the /proc reader the integration tests use for its listeners."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from course_lib import manifests as m
from course_lib.errors import ConfigError, SandboxError, ToolMissingError
from course_lib.sandbox import _kyverno, _ondemand
from course_lib.sandbox import _process as proc


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(a.lstrip("-").split("=", 1) for a in argv[1:])


def test_every_listener_and_the_webhook_url_are_loopback() -> None:
    flags = _flags(_kyverno.kyverno_argv("k", {"webhook": 4201, "metrics": 4202}, kubeconfig="/kc"))
    assert flags["serverIP"] == "127.0.0.1:4201"  # -> clientConfig.url https://127.0.0.1:4201/...
    assert (flags["webhookServerHost"], flags["webhookServerPort"]) == ("127.0.0.1", "4201")
    assert (flags["metricsHost"], flags["metricsPort"]) == ("127.0.0.1", "4202")
    assert flags["controllerRuntimeMetricsAddress"] == "0"  # its default would be :8080 on every interface
    assert flags["kubeconfig"] == "/kc" and flags["autoUpdateWebhooks"] == "true"
    assert {flags["enableTuf"], flags["profile"], flags["enableTracing"]} == {"false"}
    assert (flags["caSecretName"], flags["tlsSecretName"]) == (_kyverno.CA_SECRET, _kyverno.TLS_SECRET)


def test_argv_refuses_missing_ports_and_bad_timeouts() -> None:
    with pytest.raises(SandboxError, match="metrics"):
        _kyverno.kyverno_argv("k", {"webhook": 1}, kubeconfig="kc")
    with pytest.raises(SandboxError, match="out of range"):
        _kyverno.kyverno_argv("k", {"webhook": 1, "metrics": 2}, kubeconfig="kc", webhook_timeout=31)


def test_bootstrap_namespace_and_configmap_exclude_system_namespaces() -> None:
    ns, cm = _kyverno.bootstrap_objects()
    assert (ns["kind"], ns["metadata"]["name"]) == ("Namespace", "kyverno")
    assert (cm["kind"], cm["metadata"]["namespace"], cm["metadata"]["name"]) == ("ConfigMap", "kyverno", "kyverno")
    selector = json.loads(cm["data"]["webhooks"])[0]["namespaceSelector"]["matchExpressions"][0]
    assert selector["operator"] == "NotIn" and set(selector["values"]) == {"kube-system", "kyverno"}
    assert "[*/*,kyverno,*]" in cm["data"]["resourceFilters"]


def test_crd_source_reads_every_crd_folder_of_the_pinned_module() -> None:
    from course_lib import tools

    src = _kyverno.CRD_SOURCE
    assert src.module == "github.com/kyverno/kyverno"
    assert src.version == tools.read_pins()["KYVERNO_VERSION"]  # the module the controller is built from
    assert {p.split("/")[2] for p in src.paths} == {"kyverno", "policies.kyverno.io", "reports", "policyreport"}


def test_validating_policy_is_cel_with_the_chosen_actions() -> None:
    vpol = m.kyverno_validating_policy()
    assert (vpol["apiVersion"], vpol["kind"]) == ("policies.kyverno.io/v1", "ValidatingPolicy")
    assert vpol["spec"]["validationActions"] == ["Deny"] and vpol["spec"]["failurePolicy"] == "Fail"
    rule = vpol["spec"]["matchConstraints"]["resourceRules"][0]
    assert rule["resources"] == ["pods"] and "CREATE" in rule["operations"]
    assert "runAsNonRoot == true" in vpol["spec"]["validations"][0]["expression"]
    audit = m.kyverno_validating_policy("x", action="Audit", failure_policy="Ignore")
    assert (audit["spec"]["validationActions"], audit["spec"]["failurePolicy"]) == (["Audit"], "Ignore")
    with pytest.raises(ConfigError, match="Enforce"):
        m.kyverno_validating_policy(action="Enforce")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        m.kyverno_validating_policy(failure_policy="Open")  # type: ignore[arg-type]


def test_kyverno_up_refuses_a_kubeconfig_off_this_machine_before_anything_starts(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[str] = []
    monkeypatch.setattr(_kyverno, "_kubectl", lambda *a, **k: called.append("kubectl") or "")
    kc = tmp_path / "kc.yaml"
    kc.write_text("clusters:\n- name: x\n  cluster:\n    server: https://10.0.0.7:6443\n")
    with pytest.raises(SandboxError, match="not on this machine's loopback"):
        _kyverno.kyverno_up(kubeconfig=str(kc))
    kc.write_text("clusters:\n- name: x\n  cluster:\n    server: https://127.0.0.1:6443\n")
    with pytest.raises(SandboxError, match="out of range"):
        _kyverno.kyverno_up(kubeconfig=str(kc), webhook_timeout=0)
    from course_lib import tools

    monkeypatch.setattr(tools, "find", lambda name: None)
    with pytest.raises(ToolMissingError, match="kyverno-admission-controller is not built"):
        _kyverno.kyverno_up(kubeconfig=str(kc))
    assert called == [] and _ondemand.recorded("kyverno") is None


def test_a_stopped_group_runs_its_recorded_kubectl_clean_up_unless_told_not_to(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "kubectl-calls.txt"
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    from course_lib import tools

    monkeypatch.setattr(tools, "find", lambda name: str(fake) if name == "kubectl" else None)
    kc = tmp_path / "kc.yaml"
    kc.write_text("clusters: []\n")
    port = proc.free_port()
    argv = [sys.executable, "-m", "course_lib.sandbox._checkout", "--port", str(port), "--version", "v1"]
    child = _ondemand.Child("checkout", argv, f"http://127.0.0.1:{port}/healthz")
    on_stop = _ondemand.OnStop(str(kc), (("delete", "validatingwebhookconfigurations", "-l", "x"),))
    from course_lib.sandbox._stack import _locked

    for cleanup in (False, True):
        with _locked():
            entry, _ = _ondemand.start_group("demo", [child], inputs={}, endpoints={}, timeout=20, on_stop=on_stop)
        assert entry["on_stop"]["kubectl"] == [["delete", "validatingwebhookconfigurations", "-l", "x"]]
        stopped = _ondemand.stop_group("demo", cleanup=cleanup)
        assert "checkout" in stopped and not proc.is_running(entry["children"][0]["pid"])
        ran = calls.read_text().splitlines() if calls.exists() else []
        assert len(ran) == (1 if cleanup else 0)
    assert ran[0].split() == ["--kubeconfig", str(kc), "--request-timeout=10s", "delete",
                              "validatingwebhookconfigurations", "-l", "x"]  # fmt: skip


def test_https_readiness_without_verification_is_opt_in(tmp_path: Path) -> None:
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=127.0.0.1"], capture_output=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip("needs openssl")

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/health/readiness"
    try:
        assert not proc.http_ok(url, timeout=2)  # a self-made certificate does not verify
        assert proc.http_ok(url, timeout=2, verify_tls=False)
    finally:
        server.shutdown()


def test_listening_addresses_reads_this_process_sockets() -> None:
    import os

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert f"127.0.0.1:{port}" in _kyverno.listening_addresses(os.getpid())
    assert _kyverno.listening_addresses(2**22 + 12345) == []


def test_kyverno_ready_reads_each_policy_kinds_status() -> None:
    from course_lib import policy

    vpol = {"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy"}
    assert not policy.kyverno_ready(vpol)
    assert not policy.kyverno_ready({**vpol, "status": {"conditionStatus": {"ready": False}}})
    assert policy.kyverno_ready({**vpol, "status": {"conditionStatus": {"ready": True}}})
    cpol = {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy"}
    assert not policy.kyverno_ready({**cpol, "status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert policy.kyverno_ready({**cpol, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert not policy.kyverno_ready({**cpol, "status": {"conditionStatus": {"ready": True}}})  # not its field


def test_validating_policy_is_admission_only_unless_asked() -> None:
    assert m.kyverno_validating_policy()["spec"]["evaluation"]["background"] == {"enabled": False}
    assert m.kyverno_validating_policy(background=True)["spec"]["evaluation"]["background"] == {"enabled": True}
    scoped = m.kyverno_validating_policy(namespaces=["demo"])["spec"]["matchConstraints"]["namespaceSelector"]
    assert scoped["matchExpressions"][0]["values"] == ["demo"]
    with pytest.raises(ConfigError):
        m.kyverno_validating_policy(namespaces=[])
    with pytest.raises(ConfigError):
        m.kyverno_validating_policy(namespaces=["Not_A_Name"])


def test_reports_controller_flags_bind_loopback_and_aggregate_admission_reports() -> None:
    flags = _flags(_kyverno.reports_argv("rc", {"reports-metrics": 4203}, kubeconfig="/kc"))
    assert (flags["metricsHost"], flags["metricsPort"]) == ("127.0.0.1", "4203")  # its only listener
    assert flags["kubeconfig"] == "/kc" and flags["openreportsEnabled"] == "false"  # wgpolicyk8s.io reports
    assert {flags["admissionReports"], flags["aggregateReports"], flags["policyReports"]} == {"true"}
    assert {flags["enableTuf"], flags["profile"], flags["enableTracing"]} == {"false"}
    assert _flags(_kyverno.kyverno_argv("k", {"webhook": 1, "metrics": 2}, kubeconfig="kc"))["admissionReports"] == (
        "true"  # the admission controller writes the ephemeral reports the reports controller aggregates
    )
    with pytest.raises(SandboxError, match="reports-metrics"):
        _kyverno.reports_argv("rc", {"metrics": 1}, kubeconfig="kc")


def test_kyverno_counts_as_built_only_with_both_controllers(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib import tools

    monkeypatch.setattr(tools, "find", lambda name: "/x" if name == _kyverno.PROGRAM else None)
    assert not _kyverno.available()  # an older build: the admission controller only
    with pytest.raises(ToolMissingError, match="kyverno-reports-controller is not built"):
        _kyverno.binary(_kyverno.REPORTS_PROGRAM)
    monkeypatch.setattr(tools, "find", lambda name: "/x")
    assert _kyverno.available()


def test_reports_leader_needs_our_identity_and_a_fresh_renewal(monkeypatch: pytest.MonkeyPatch) -> None:
    lease = {"spec": {"holderIdentity": _kyverno.REPORTS_IDENTITY, "renewTime": "2026-12-02T22:00:10.000000Z"}}
    monkeypatch.setattr(_kyverno, "_kubectl", lambda *a, **k: json.dumps(lease))
    from datetime import datetime

    at = datetime.fromisoformat("2026-12-02T22:00:10+00:00").timestamp()
    assert _kyverno._reports_leader("kc", at - 5)
    assert not _kyverno._reports_leader("kc", at + 5)  # the Lease an earlier process left behind
    lease["spec"]["holderIdentity"] = "someone-else"
    assert not _kyverno._reports_leader("kc", at - 5)


def test_cluster_policy_in_audit_can_be_limited_to_namespaces_and_warn() -> None:
    cpol = m.kyverno_disallow_root(failure_action="Audit", namespaces=["demo"], emit_warning=True)
    rule = cpol["spec"]["rules"][0]
    assert rule["validate"]["failureAction"] == "Audit" and cpol["spec"]["emitWarning"] is True
    assert rule["match"]["any"][0]["resources"] == {"kinds": ["Pod"], "namespaces": ["demo"]}
    assert "emitWarning" not in m.kyverno_disallow_root()["spec"]
    assert m.validate([cpol]).ok
    with pytest.raises(ConfigError, match="empty"):
        m.kyverno_disallow_root(namespaces=[])


def test_policy_reports_are_one_row_per_result() -> None:
    from course_lib import policy

    report = {
        "metadata": {"name": "uid-1", "namespace": "demo"},
        "scope": {"kind": "Pod", "name": "pod-no-context"},
        "results": [
            {"policy": "disallow-root-user", "rule": "check-runasnonroot", "result": "fail", "message": "root"},
        ],
    }

    class FakeCluster:
        def list(self, kind: str, *, namespace: str, api_version: str) -> list[dict[str, object]]:
            assert (kind, namespace, api_version) == ("PolicyReport", "demo", "wgpolicyk8s.io/v1alpha2")
            return [report]

    frame = policy.policy_reports(FakeCluster(), "demo")
    assert frame.to_dict("records") == [
        {
            "resource": "Pod/pod-no-context",
            "policy": "disallow-root-user",
            "rule": "check-runasnonroot",
            "result": "fail",
            "message": "root",
            "report": "uid-1",
        }
    ]
    assert policy.wait_policy_report(FakeCluster(), "demo", policy="disallow-root-user", timeout=1).shape[0] == 1
    with pytest.raises(TimeoutError, match="other"):
        policy.wait_policy_report(FakeCluster(), "demo", policy="other", timeout=0.1)
