"""The real Sealed Secrets controller (v0.40.0, built by `make tools`) on the sandbox: it makes its key in
kube-system, serves the certificate on a loopback port, and turns a SealedSecret applied with kubectl into a Secret
with the right value. With the controller stopped the Secret does not appear (and does once it runs again, with the
key it kept); `course sandbox down` leaves no controller process (checked in /proc)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import cluster as kc
from course_lib import manifests as m
from course_lib import sandbox, sealing, tools
from course_lib.errors import ClusterError, SandboxError
from course_lib.sandbox import _controlplane
from course_lib.sandbox import _sealed_secrets as ss
from tests.conftest import pids_running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tools,
    pytest.mark.skipif(not _controlplane.available(), reason="the control plane is not built: run `make tools`"),
    pytest.mark.skipif(not ss.available(), reason="the Sealed Secrets controller is not built: run `make tools`"),
    pytest.mark.skipif(not tools.available("kubeseal"), reason="kubeseal is not built: run `make tools`"),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[kc.Cluster]:
    if os.environ.get("COURSE_KUBECONFIG"):
        pytest.skip("the controller on the sandbox acts only on the sandbox control plane")
    plane = _controlplane.cluster_up()
    c = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
    yield c
    c.close()


@pytest.fixture(scope="module")
def controller(cluster: kc.Cluster) -> Iterator[ss.SealedSecretsController]:
    yield sandbox.sealed_secrets_up(kubeconfig=str(cluster.kubeconfig))
    sandbox.sealed_secrets_down()


@pytest.fixture(scope="module")
def namespace(cluster: kc.Cluster) -> Iterator[str]:
    name = f"sealed-{uuid.uuid4().hex[:6]}"
    cluster.apply(m.namespace(name, labels={"app.kubernetes.io/part-of": "course-lib"}))
    yield name
    with contextlib.suppress(ClusterError):  # the last test deleted it before `sandbox.down()` stopped the API server
        cluster.delete(m.namespace(name))


def _kubectl_apply(cluster: kc.Cluster, obj: dict) -> None:
    import json

    done = subprocess.run(
        [str(tools.which("kubectl")), "--kubeconfig", str(cluster.kubeconfig), "apply", "-f", "-"],
        input=json.dumps(obj), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _listeners(pids: list[int]) -> dict[int, str]:
    """port -> IPv4/IPv6 address (hex for IPv6) of the LISTEN sockets owned by ``pids`` (from /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes and f[3] == "0A":
                addr, port = f[1].split(":")
                ip = ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0)) if len(addr) == 8 else addr
                out[int(port, 16)] = ip
    return out


def _sealed(controller: ss.SealedSecretsController, name: str, namespace: str, value: str) -> dict:
    secret = m.secret(name, namespace=namespace, string_data={"password": value})
    return sealing.seal(secret, cert=controller.cert_url)


def test_runs_the_pinned_version_with_both_listeners_on_loopback(controller: ss.SealedSecretsController) -> None:
    assert controller.version == "v0.40.0"
    pids = pids_running(ss.binary())
    assert pids
    listeners = _listeners(pids)
    assert set(controller.ports.values()) <= set(listeners), listeners
    assert {port: ip for port, ip in listeners.items() if ip != "127.0.0.1"} == {}


def test_the_served_certificate_is_the_key_it_keeps_in_kube_system(
    cluster: kc.Cluster, controller: ss.SealedSecretsController
) -> None:
    keys = cluster.list("Secret", namespace=ss.NAMESPACE, selector=f"{ss.KEY_LABEL}=active")
    assert keys, "no active key Secret in kube-system"
    served = sealing.cert_fingerprint(sealing.fetch_cert(controller.cert_url))
    kept = {sealing.cert_fingerprint(base64.b64decode(k["data"]["tls.crt"]).decode()) for k in keys}
    assert served in kept


def test_a_sealedsecret_applied_with_kubectl_becomes_the_secret(
    cluster: kc.Cluster, controller: ss.SealedSecretsController, namespace: str
) -> None:
    value = secrets.token_urlsafe(16)
    sealed = _sealed(controller, "db-pass", namespace, value)
    assert value not in str(sealed)
    _kubectl_apply(cluster, sealed)
    got = sealing.wait_unsealed(cluster, "db-pass", namespace=namespace, timeout=30)
    assert got.owner == "SealedSecret/db-pass" and got.keys == ("password",)
    assert sealing.values(got.secret) == {"password": value}


def test_without_the_controller_no_secret_appears_and_down_leaves_no_process(
    cluster: kc.Cluster, controller: ss.SealedSecretsController, namespace: str, tmp_path: Path
) -> None:
    binary = ss.binary()
    cert = tmp_path / "pub.pem"  # saved while the controller runs, as a teammate keeps `kubeseal --fetch-cert` output
    cert.write_text(sealing.fetch_cert(controller.cert_url))
    assert pids_running(binary)
    assert ss.PROGRAM in sandbox.sealed_secrets_down()
    assert not pids_running(binary) and sandbox.sealed_secrets_controller() is None
    value = secrets.token_urlsafe(16)
    sealed = sealing.seal(m.secret("offline", namespace=namespace, string_data={"password": value}), cert=cert)
    _kubectl_apply(cluster, sealed)
    with pytest.raises(SandboxError, match="no Secret"):
        sealing.wait_unsealed(cluster, "offline", namespace=namespace, timeout=10)
    restarted = sandbox.sealed_secrets_up(kubeconfig=str(cluster.kubeconfig))
    assert not restarted.reused
    got = sealing.wait_unsealed(cluster, "offline", namespace=namespace, timeout=30)  # the key it kept opens it
    assert sealing.values(got.secret) == {"password": value}
    assert pids_running(binary)
    cluster.delete(m.namespace(namespace))
    sandbox.down()  # what `course sandbox down` runs
    assert not pids_running(binary)
