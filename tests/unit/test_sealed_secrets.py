"""Unit tests: the Sealed Secrets controller's command line and environment on the sandbox, the patch that gives it a
kubeconfig, the loopback guards of ``seal``/``fetch_cert``/``sealed_secrets_up`` (checked before anything runs),
and ``wait_unsealed`` against an injected cluster."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from course_lib import manifests as m
from course_lib import sealing, tools
from course_lib.errors import ClusterError, ConfigError, SandboxError
from course_lib.sandbox import _sealed_secrets as ss

SECRET = m.secret("db-pass", namespace="default", string_data={"password": "unit-test-value"})


def test_both_listeners_are_on_loopback() -> None:
    argv = ss.controller_argv("controller", {"http": 4201, "metrics": 4202})
    listen = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in argv if a.startswith("--listen")}
    assert listen == {"--listen-addr": "127.0.0.1:4201", "--listen-metrics-addr": "127.0.0.1:4202"}
    with pytest.raises(SandboxError, match="metrics"):
        ss.controller_argv("controller", {"http": 4201})


def test_child_env_names_the_kubeconfig_and_namespace_and_drops_in_cluster_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    env = ss._child_env("/tmp/k.yaml", "kube-system")
    assert env["KUBECONFIG"] == "/tmp/k.yaml" and env["POD_NAMESPACE"] == "kube-system"
    assert not [k for k in env if k.startswith("KUBERNETES_SERVICE_")]


def test_the_build_patches_the_controllers_only_config_call_to_read_kubeconfig() -> None:
    pins = tools.read_pins()
    assert "github.com/bitnami/sealed-secrets/cmd/controller" in pins["KUBESEAL_PACKAGES"].split()
    assert pins["KUBESEAL_BINARY"].split() == ["kubeseal", "controller"]
    file, old, new = pins["KUBESEAL_PATCH"].split()
    assert (file, old) == ("pkg/controller/main.go", '"k8s.io/client-go/rest"')
    alias, _, package = new.partition('"')
    assert alias == "rest" and package.startswith("course-lib/tools/kubeseal/")
    wrapper = tools.pins_file().parent / "kubeseal"
    shim = wrapper / package.rstrip('"').removeprefix("course-lib/tools/kubeseal/")
    source = "\n".join(p.read_text() for p in shim.glob("*.go"))
    assert re.search(r"func InClusterConfig\(\) \(\*rest\.Config, error\)", source)  # what main.go calls
    assert "clientcmd.BuildConfigFromFlags" in source and "rest.InClusterConfig()" in source  # in a Pod too
    assert "module course-lib/tools/kubeseal" in (wrapper / "go.mod").read_text()


def test_the_controller_is_looked_up_in_the_tools_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "controller"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert not ss.available()  # a `controller` on PATH is not the Sealed Secrets controller
    with pytest.raises(Exception, match="make tools"):
        ss.binary()


def test_up_refuses_a_kubeconfig_off_this_machine_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    kubeconfig = tmp_path / "remote.yaml"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.7:6443\n"
    )
    monkeypatch.setattr(ss, "binary", lambda: pytest.fail("looked for the binary before checking the kubeconfig"))
    with pytest.raises(SandboxError, match="not on this machine's loopback"):
        ss.sealed_secrets_up(kubeconfig=str(kubeconfig))
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    "url",
    ["http://10.244.0.5:8080/v1/cert.pem", "https://sealed.example.com/v1/cert.pem", "ftp://127.0.0.1/cert.pem"],
)
def test_seal_and_fetch_cert_refuse_urls_off_loopback_before_any_request(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "run", lambda *a, **k: pytest.fail("kubeseal ran"))
    with pytest.raises(ConfigError, match="127.0.0.1"):
        sealing.seal(SECRET, cert=url)
    import urllib.request

    monkeypatch.setattr(urllib.request, "build_opener", lambda *a: pytest.fail("a request was made"))
    with pytest.raises(ConfigError, match="127.0.0.1"):
        sealing.fetch_cert(url)


def test_seal_passes_a_loopback_cert_url_to_kubeseal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    calls: list[list[str]] = []

    class Done:
        stdout = '{"kind": "SealedSecret", "metadata": {"name": "db-pass"}}'

    def run(name: str, args: list[str], **kwargs: Any) -> Done:
        calls.append([name, *args])
        return Done()

    monkeypatch.setattr(tools, "run", run)
    url = "http://127.0.0.1:4201/v1/cert.pem"
    assert sealing.seal(SECRET, cert=url)["kind"] == "SealedSecret"
    assert calls and calls[0][:3] == ["kubeseal", "--cert", url]


class FakeCluster:
    """Answers ``get`` like Cluster.get: the Secret appears after ``after`` calls (never when ``after`` is None)."""

    def __init__(self, after: int | None, conditions: list[dict[str, str]] | None = None) -> None:
        self.after, self.calls, self.conditions = after, 0, conditions

    def get(self, kind: str, name: str, *, namespace: str | None = None, api_version: str | None = None) -> dict:
        if kind == "SealedSecret":
            if self.conditions is None:
                raise ClusterError("NotFound")
            return {"status": {"conditions": self.conditions}}
        self.calls += 1
        if self.after is None or self.calls <= self.after:
            raise ClusterError(f'secrets "{name}" not found')
        owner = {"kind": "SealedSecret", "name": name, "controller": True}
        data = {"password": base64.b64encode(b"unit-test-value").decode()}
        return {"kind": "Secret", "metadata": {"name": name, "ownerReferences": [owner]}, "data": data}


def test_wait_unsealed_returns_the_secret_the_controller_made() -> None:
    got = sealing.wait_unsealed(FakeCluster(after=2), "db-pass", namespace="default", timeout=5, interval=0.01)
    assert (got.name, got.keys, got.owner) == ("db-pass", ("password",), "SealedSecret/db-pass")
    assert sealing.values(got.secret) == sealing.values(SECRET)
    assert "unit-test-value" not in repr(got)


def test_wait_unsealed_times_out_with_the_sealedsecrets_conditions() -> None:
    failed = [{"type": "Synced", "status": "False", "message": "no key could decrypt secret (password)"}]
    with pytest.raises(SandboxError, match="no key could decrypt"):
        sealing.wait_unsealed(FakeCluster(None, failed), "db-pass", namespace="default", timeout=0.1, interval=0.01)
    with pytest.raises(SandboxError, match="no such SealedSecret"):
        sealing.wait_unsealed(FakeCluster(None), "db-pass", namespace="default", timeout=0.1, interval=0.01)
