"""The Sealed Secrets controller on the sandbox: upstream's controller (v0.40.0, built by ``make tools`` from the
module ``kubeseal`` comes from) as a local process acting on the sandbox's kube-apiserver.

It does what it does in a cluster: at start it looks for its key Secrets (label
``sealedsecrets.bitnami.com/sealed-secrets-key=active``) in its namespace, ``kube-system``, and creates an RSA 4096
key pair there when it finds none; it serves the certificate at ``/v1/cert.pem``; it watches SealedSecrets in every
namespace and creates (and keeps) the Secret each one decrypts to. Its two listeners, the HTTP API (certificate,
verify, rotate) and the Prometheus metrics, are bound to free 127.0.0.1 ports; the API server it talks to is the
sandbox's (``https://127.0.0.1:…``, the kubeconfig's client certificate). Upstream reads only the in-cluster
configuration; the build patches one import so that it reads ``$KUBECONFIG`` (see ``KUBESEAL_PATCH`` in
``course_lib/data/tools/pins.env``).

The learner fetches the certificate from that loopback port (``kubeseal --cert http://127.0.0.1:PORT/v1/cert.pem``),
never with ``kubeseal --fetch-cert``: that goes through the API server's service proxy to the controller's Service,
i.e. to a pod IP kwok made up.

Example:
    >>> from course_lib import sandbox
    >>> ctl = sandbox.sealed_secrets_up(kubeconfig=cluster.kubeconfig)  # doctest: +SKIP
    >>> ctl.cert_url                                                   # doctest: +SKIP
    'http://127.0.0.1:40233/v1/cert.pem'

Used in: notebook 02.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SandboxError, ToolMissingError
from . import _ondemand
from . import _process as proc

GROUP = "sealed-secrets"
#: Where the controller keeps its keys (the chart's namespace; kubeseal's ``--controller-namespace`` default).
NAMESPACE = "kube-system"
#: kubeseal's default ``--controller-name`` (the Service a cluster's ``--fetch-cert`` would go through).
CONTROLLER_NAME = "sealed-secrets-controller"
#: The program ``make tools`` builds from ``cmd/controller`` (the name upstream's image gives it).
PROGRAM = "controller"
CRD_NAME = "sealedsecrets.bitnami.com"
#: Label of the controller's key Secrets (``active`` on every key it may decrypt with).
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
LISTENERS = ("http", "metrics")


@dataclass(frozen=True)
class SealedSecretsController:
    """A running Sealed Secrets controller on the sandbox.

    Attributes:
        http: its HTTP API, ``http://127.0.0.1:PORT`` (``/v1/cert.pem``, ``/v1/verify``, ``/v1/rotate``, ``/healthz``).
        metrics: its Prometheus metrics, ``http://127.0.0.1:PORT/metrics``.
        namespace: where its key Secrets live (``kube-system``).
        kubeconfig: the control plane it acts on.
        version: what ``controller --version`` prints (``v0.40.0``).
        argv: its command line.
        reused: True when a running controller with the same kubeconfig was found.
    """

    http: str
    metrics: str
    namespace: str
    kubeconfig: str
    ports: Mapping[str, int]
    version: str = ""
    argv: tuple[str, ...] = field(default=(), repr=False)
    reused: bool = False

    @property
    def cert_url(self) -> str:
        """The URL of the controller's current certificate: what ``kubeseal --cert`` takes."""
        return f"{self.http}/v1/cert.pem"

    def command(self) -> str:
        """The controller's command line, one flag per line, as a learner would type it."""
        return " \\\n  ".join([PROGRAM, *self.argv[1:]])

    def log(self, lines: int = 20) -> str:
        """The last ``lines`` lines the controller wrote (its log is in the group's folder)."""
        entry = _ondemand.recorded(GROUP) or {}
        for child in entry.get("children", []):
            if child["name"] == PROGRAM:
                return proc.tail(Path(child["log"]), lines)
        return ""


def binary() -> str:
    """The controller built by ``make tools`` (the tools cache only, not ``PATH``: ``controller`` is a generic
    name), or :class:`ToolMissingError` naming the fix."""
    from .. import tools

    path = tools.built(PROGRAM)
    if path is None:
        raise ToolMissingError(
            "the Sealed Secrets controller is not built",
            hint="run `make tools` (or `scripts/build_tools.sh kubeseal`): it builds kubeseal and the controller",
        )
    return str(path)


def available() -> bool:
    """True when ``make tools`` has built the controller."""
    from .. import tools

    return tools.built(PROGRAM) is not None


def controller_argv(path: str, ports: Mapping[str, int]) -> list[str]:
    """The controller's command line: both listeners on 127.0.0.1, text logs.

    Example:
        >>> controller_argv("controller", {"http": 1, "metrics": 2})[1:3]
        ['--listen-addr=127.0.0.1:1', '--listen-metrics-addr=127.0.0.1:2']
    """
    missing = [name for name in LISTENERS if name not in ports]
    if missing:
        raise SandboxError(f"no port for listener(s) {missing}", hint=f"give a port for each of {LISTENERS}")
    return [
        path,
        f"--listen-addr=127.0.0.1:{ports['http']}",
        f"--listen-metrics-addr=127.0.0.1:{ports['metrics']}",
        "--log-format=text",
    ]


def controller_version(path: str) -> str:
    """What ``controller --version`` prints as its version (e.g. ``v0.40.0``)."""
    done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    found = re.search(r"version:\s*(\S+)", done.stdout)
    return found.group(1) if found else done.stdout.strip()[:40]


def _child_env(kubeconfig: str, namespace: str) -> dict[str, str]:
    # KUBECONFIG: read by the patched InClusterConfig; POD_NAMESPACE: where upstream keeps its keys
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
    return {**env, "KUBECONFIG": kubeconfig, "POD_NAMESPACE": namespace}


def sealedsecret_crd() -> dict[str, Any]:
    """Upstream's SealedSecret CRD: from the CRDs ``make tools`` fetched (:mod:`course_lib.sandbox._crds`), else
    out of the pinned module in the Go module cache (``helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml``)."""
    from . import _crds

    for doc in _crds.load() if _crds.available() else []:
        if (doc.get("metadata") or {}).get("name") == CRD_NAME:
            return doc
    import yaml

    from .. import tools

    version = tools.read_pins()["KUBESEAL_VERSION"]
    folder = _crds._module_dir("github.com/bitnami-labs/sealed-secrets", version, timeout=300)
    doc = yaml.safe_load((folder / "helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml").read_text())
    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
        raise SandboxError(f"no SealedSecret CRD in sealed-secrets {version}", hint="check KUBESEAL_VERSION")
    return doc


def install_crd(kubeconfig: str) -> bool:
    """Apply upstream's SealedSecret CRD unless the API server already serves it; True when it was applied."""
    import json

    from ._crds import served_names
    from ._traefik import _kubectl

    if CRD_NAME in served_names(kubeconfig):
        return False
    path = _ondemand.workdir(GROUP) / "crd.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sealedsecret_crd()))
    _kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(path))
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}", timeout=90)
    return True


def sealed_secrets_up(*, kubeconfig: str, namespace: str = NAMESPACE, timeout: float = 60.0) -> SealedSecretsController:
    """Start the Sealed Secrets controller on the sandbox (or reuse the running one).

    Applies upstream's SealedSecret CRD if the API server lacks it, then starts the controller with
    :func:`controller_argv`; it is ready once its ``/readyz`` answers (its key exists and its informers run). ``course sandbox down``
    (:func:`course_lib.sandbox.down`) stops it.

    Args:
        kubeconfig: the sandbox API server's kubeconfig (its server must be a loopback address).
        namespace: where the controller keeps its keys.
        timeout: one deadline for the controller to become ready (it makes a 4096-bit key first).

    Raises:
        ToolMissingError: the controller is not built.
        SandboxError: the kubeconfig points off this machine, or the controller did not become ready.

    Used in: notebook 02 (through ``session.sealed_secrets()``).
    """
    from ._traefik import _require_loopback_server

    kubeconfig = str(Path(kubeconfig).resolve())
    _require_loopback_server(kubeconfig)
    path = binary()
    digest = hashlib.sha256(Path(kubeconfig).read_bytes()).hexdigest()[:16]  # a restarted control plane: new port
    inputs = {"kubeconfig": kubeconfig, "kubeconfig_sha256": digest, "namespace": namespace, "binary": path}
    from ._stack import _locked

    with _locked():
        current = _ondemand.reusable(GROUP, inputs)
        if current is not None:
            return _handle(current["endpoints"], reused=True)
        _ondemand.stop_group(GROUP)
        install_crd(kubeconfig)
        ports: dict[str, int] = {}
        for name in LISTENERS:
            ports[name] = proc.free_port(exclude=set(ports.values()))
        argv = controller_argv(path, ports)
        child = _ondemand.Child(
            PROGRAM,
            argv,
            f"http://127.0.0.1:{ports['http']}/readyz",  # 503 until its informers run; the key exists by then
            env=_child_env(kubeconfig, namespace),
        )
        endpoints = {
            "http": f"http://127.0.0.1:{ports['http']}",
            "metrics": f"http://127.0.0.1:{ports['metrics']}",
            "namespace": namespace,
            "kubeconfig": kubeconfig,
            "ports": ports,
            "version": controller_version(path),
            "argv": argv,
        }
        entry, reused = _ondemand.start_group(GROUP, [child], inputs=inputs, endpoints=endpoints, timeout=timeout)
        return _handle(entry["endpoints"], reused=reused)


def _handle(data: Mapping[str, Any], *, reused: bool) -> SealedSecretsController:
    return SealedSecretsController(
        http=data["http"],
        metrics=data["metrics"],
        namespace=data["namespace"],
        kubeconfig=data["kubeconfig"],
        ports=dict(data["ports"]),
        version=data.get("version", ""),
        argv=tuple(data.get("argv", ())),
        reused=reused,
    )


def sealed_secrets_controller() -> SealedSecretsController | None:
    """The running controller, or None when none is recorded or it stopped (changes nothing)."""
    entry = _ondemand.running(GROUP)
    return _handle(entry["endpoints"], reused=True) if entry else None


def sealed_secrets_down(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop the controller (``course sandbox down`` does this too). Its key Secrets stay in ``kube-system``, so a
    controller started again decrypts what was sealed before. Returns the names stopped.

    Used in: notebook 02 and its tests (nothing is unsealed while it is stopped).
    """
    from ._stack import _locked

    with _locked():
        return _ondemand.stop_group(GROUP, timeout=timeout)


__all__ = [
    "CONTROLLER_NAME",
    "CRD_NAME",
    "GROUP",
    "KEY_LABEL",
    "NAMESPACE",
    "SealedSecretsController",
    "available",
    "binary",
    "controller_argv",
    "controller_version",
    "install_crd",
    "sealed_secrets_controller",
    "sealed_secrets_down",
    "sealed_secrets_up",
    "sealedsecret_crd",
]
