"""Traefik on the sandbox: the real proxy (v3.6, built by ``make tools``) as a local process whose Kubernetes CRD
and Gateway API providers read the sandbox's kube-apiserver, plus the two checkout versions it routes to.

Loopback only. Every entry point (``web``, ``websecure``, the API/dashboard/ping entry point ``traefik`` and the
Prometheus ``metrics`` entry point) listens on a free 127.0.0.1 port; the API server it reads is the sandbox's
(``https://127.0.0.1:…``); the backends are local processes on 127.0.0.1, put behind selector-less Services by
EndpointSlices whose address is 127.0.0.1 (see :func:`course_lib.manifests.local_endpoint_slice`). Traefik's own
calls home are off (``--global.checkNewVersion=false``, ``--global.sendAnonymousUsage=false``, no dashboard ad).

Traefik reads its CRDs and the Gateway API CRDs from the API server, so :func:`install_crds` applies them first:
Traefik's from ``docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml`` of the Go module
``make tools`` built it from, Gateway API's from ``config/crd/standard`` of ``sigs.k8s.io/gateway-api`` at the
version ``course_lib/data/tools/traefik/go.mod`` requires — both out of the Go module cache (``go mod download``), not GitHub.

Example:
    >>> from course_lib import sandbox
    >>> edge = sandbox.traefik_up(kubeconfig=cluster.kubeconfig)   # doctest: +SKIP
    >>> edge.web, edge.backends["v2"]                              # doctest: +SKIP
    ('http://127.0.0.1:41871', 'http://127.0.0.1:38211')

Used in: notebook 04.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SandboxError, ToolMissingError
from . import _ondemand
from . import _process as proc

GROUP = "traefik"
#: The entry points Traefik listens on (each on its own 127.0.0.1 port).
ENTRY_POINTS = ("web", "websecure", "traefik", "metrics")
#: The checkout versions started as the canary's backends.
BACKENDS = ("v1", "v2")
TRAEFIK_MODULE = "github.com/traefik/traefik/v3"
GATEWAY_MODULE = "sigs.k8s.io/gateway-api"
TRAEFIK_CRD_FILE = "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
GATEWAY_CRD_DIR = "config/crd/standard"
#: The controllerName a GatewayClass names for Traefik's Gateway provider.
GATEWAY_CONTROLLER = "traefik.io/gateway-controller"


@dataclass(frozen=True)
class TraefikEndpoints:
    """A running Traefik on the sandbox and the backends it routes to (all ``http(s)://127.0.0.1:PORT``).

    Attributes:
        web: the ``web`` entry point (HTTP).
        websecure: the ``websecure`` entry point (HTTPS; certificates come from the routes' TLS Secrets).
        api: the ``traefik`` entry point: ``/api/...``, ``/dashboard/``, ``/ping``.
        metrics: the ``metrics`` entry point; Prometheus scrapes ``/metrics``.
        backends: checkout version → its local URL (``{"v1": ..., "v2": ...}``).
        ports: entry point or ``backend-<version>`` → port.
        version: what ``traefik version`` prints.
        argv: Traefik's command line (its whole static configuration).
        reused: true when a running Traefik with the same kubeconfig was found.
    """

    web: str
    websecure: str
    api: str
    metrics: str
    backends: Mapping[str, str]
    ports: Mapping[str, int]
    kubeconfig: str
    version: str = ""
    argv: tuple[str, ...] = field(default=(), repr=False)
    reused: bool = False

    @property
    def dashboard(self) -> str:
        """The dashboard's URL (open it in a browser on this machine)."""
        return f"{self.api}/dashboard/"

    def command(self) -> str:
        """Traefik's command line, one flag per line, as a learner would type it."""
        return " \\\n  ".join(["traefik", *self.argv[1:]])

    def to_dict(self) -> dict[str, Any]:
        return {
            "web": self.web,
            "websecure": self.websecure,
            "api": self.api,
            "metrics": self.metrics,
            "backends": dict(self.backends),
            "ports": dict(self.ports),
            "kubeconfig": self.kubeconfig,
            "version": self.version,
            "argv": list(self.argv),
        }


def traefik_argv(binary: str, ports: Mapping[str, int], *, gateway: bool = True, log_level: str = "INFO") -> list[str]:
    """Traefik's static configuration as command-line flags: loopback entry points, API/dashboard/ping on the
    ``traefik`` entry point, Prometheus metrics on ``metrics``, the CRD provider (ExternalName Services refused,
    as by default) and optionally the Gateway API provider; no version check, no usage statistics.

    Example:
        >>> argv = traefik_argv("traefik", {"web": 1, "websecure": 2, "traefik": 3, "metrics": 4})
        >>> [a for a in argv if a.startswith("--entryPoints.web.")]
        ['--entryPoints.web.address=127.0.0.1:1']
    """
    missing = [e for e in ENTRY_POINTS if e not in ports]
    if missing:
        raise SandboxError(f"no port for entry point(s) {missing}", hint=f"give a port for each of {ENTRY_POINTS}")
    argv = [binary]
    argv += [f"--entryPoints.{name}.address=127.0.0.1:{ports[name]}" for name in ENTRY_POINTS]
    argv += [
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--api=true",
        "--api.insecure=true",  # the API on the `traefik` entry point; loopback only
        "--api.dashboard=true",
        "--api.disableDashboardAd=true",
        "--ping=true",
        "--ping.entryPoint=traefik",
        "--metrics.prometheus=true",
        "--metrics.prometheus.entryPoint=metrics",
        "--metrics.prometheus.addRoutersLabels=true",
        "--metrics.prometheus.addServicesLabels=true",
        "--providers.kubernetesCRD=true",
        f"--log.level={log_level}",
        "--log.noColor=true",
    ]
    if gateway:
        argv.append("--providers.kubernetesGateway=true")
    return argv


# --- CRDs from the Go module cache ---------------------------------------------------------------------------


def _wrapper_dir() -> Path:
    from .. import tools

    return tools.pins_file().parent / "traefik"


def required_version(module: str) -> str:
    """The version of ``module`` that the Traefik wrapper module (``<pins dir>/traefik/go.mod``) builds with (e.g. gateway-api ``v1.4.0``)."""
    from .. import tools

    if module == TRAEFIK_MODULE:
        return tools.read_pins()["TRAEFIK_VERSION"]
    text = (_wrapper_dir() / "go.mod").read_text()
    found = re.search(rf"^\s*{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
    if not found:
        raise SandboxError(f"{module} is not required by the Traefik wrapper go.mod", hint="run `go mod tidy` there")
    return found.group(1)


def module_dir(module: str, version: str) -> Path:
    """The module's directory in the Go module cache (``go mod download`` fetches it from the module proxy when
    the cache lacks it)."""
    from .. import tools

    go = tools.find("go")
    if go is None:
        raise ToolMissingError("Go is not installed", hint="the CRDs come from the Go module cache; install Go")
    done = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "GOFLAGS": "-mod=mod"}, cwd=_wrapper_dir(),
    )  # fmt: skip
    try:
        info = json.loads(done.stdout)
    except ValueError:
        info = {}
    if done.returncode != 0 or not info.get("Dir"):
        raise SandboxError(
            f"`go mod download {module}@{version}` failed: {(info.get('Error') or done.stderr).strip()[:300]}",
            hint="the Go module proxy must be reachable once (or the module already in the cache)",
        )
    return Path(info["Dir"])


def crd_files(*, gateway: bool = True) -> list[Path]:
    """Traefik's CRD file and (with ``gateway``) the standard-channel Gateway API CRD files, from the module cache."""
    files = [module_dir(TRAEFIK_MODULE, required_version(TRAEFIK_MODULE)) / TRAEFIK_CRD_FILE]
    if gateway:
        gw = module_dir(GATEWAY_MODULE, required_version(GATEWAY_MODULE)) / GATEWAY_CRD_DIR
        files += sorted(gw.glob("*.yaml"))
    return files


def _kubectl(kubeconfig: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    from .. import tools

    done = subprocess.run(
        [str(tools.which("kubectl")), "--kubeconfig", kubeconfig, *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if done.returncode != 0:
        raise SandboxError(
            f"kubectl {' '.join(args[:2])} failed: {done.stderr.strip()[-400:]}",
            hint="check that the sandbox API server answers: `course sandbox status`",
            command=f"kubectl {' '.join(args)}"[:200],
        )
    return done


def install_crds(kubeconfig: str, *, gateway: bool = True) -> list[str]:
    """Apply Traefik's CRDs (and Gateway API's) that the cluster does not serve yet, and wait until they are served.
    Returns the names applied (empty when all were there).

    CRDs already installed are left as they are: the session installs upstream's CRDs into the sandbox
    (:mod:`course_lib.sandbox._crds`, Traefik's from the chart's release), and those stay authoritative.
    Server-side apply: the Gateway API CRDs are too large for kubectl's client-side ``last-applied`` annotation.
    """
    import yaml

    from ._crds import served_names

    have = served_names(kubeconfig)
    docs = []
    for f in crd_files(gateway=gateway):
        for doc in yaml.safe_load_all(f.read_text()):
            name = (doc or {}).get("metadata", {}).get("name")
            if doc and doc.get("kind") == "CustomResourceDefinition" and name not in have:
                docs.append(doc)
    if not docs:
        return []
    from ._ondemand import workdir

    path = workdir(GROUP) / "crds.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    names = _kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-o", "name", "-f", str(path)).stdout
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *names.split(), timeout=90)
    return [n.split("/", 1)[-1] for n in names.split()]


# --- lifecycle -------------------------------------------------------------------------------------------------


def binary() -> str:
    """The Traefik built by ``make tools``, or :class:`ToolMissingError` naming the fix."""
    from .. import tools

    path = tools.find("traefik")
    if path is None:
        raise ToolMissingError(
            "traefik is not built", hint="run `make tools` (or `scripts/build_tools.sh traefik`): Traefik v3.6 from Go"
        )
    return str(path)


def traefik_version(path: str) -> str:
    """What ``traefik version`` prints as its version (e.g. ``v3.6.12``)."""
    done = subprocess.run([path, "version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    found = re.search(r"Version:\s*(\S+)", done.stdout)
    return found.group(1) if found else done.stdout.strip()[:40]


def _child_env(kubeconfig: str) -> dict[str, str]:
    # in-cluster settings would win over KUBECONFIG in Traefik's provider: never pass them on
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
    return {**env, "KUBECONFIG": kubeconfig}


def traefik_up(
    *, kubeconfig: str, timeout: float = 60, gateway: bool = True, backends: Sequence[str] = BACKENDS
) -> TraefikEndpoints:
    """Start Traefik on the sandbox (or reuse the running one) and the checkout versions it routes to.

    Applies Traefik's CRDs (and Gateway API's) to the API server in ``kubeconfig``, then starts, all on 127.0.0.1,
    one checkout process per version in ``backends`` (``--version v1`` …) and Traefik with
    :func:`traefik_argv`. ``course sandbox down`` (:func:`course_lib.sandbox.down`) stops all of them.

    Args:
        kubeconfig: the sandbox API server's kubeconfig (its server must be a loopback address).
        timeout: one deadline for everything to answer.
        gateway: also run the Gateway API provider (and install the Gateway API CRDs).
        backends: checkout versions to start.

    Raises:
        ToolMissingError: Traefik (or Go, for the CRDs) is missing.
        SandboxError: the kubeconfig points off this machine, or a process did not become ready.

    Example:
        >>> edge = traefik_up(kubeconfig=cluster.kubeconfig)  # doctest: +SKIP

    Used in: notebook 04.
    """
    kubeconfig = str(Path(kubeconfig).resolve())
    _require_loopback_server(kubeconfig)
    path = binary()
    # the kubeconfig's content too: a control plane started again writes a new server port into the same file, and
    # Traefik reads the file only when it starts, so a Traefik started before must not be reused
    digest = hashlib.sha256(Path(kubeconfig).read_bytes()).hexdigest()[:16]
    inputs = {"kubeconfig": kubeconfig, "kubeconfig_sha256": digest, "gateway": gateway, "backends": list(backends)}
    inputs["binary"] = path
    from ._stack import _locked

    with _locked():
        current = _ondemand.reusable(GROUP, inputs)
        if current is not None:
            return _endpoints(current["endpoints"], reused=True)
        _ondemand.stop_group(GROUP)
        install_crds(kubeconfig, gateway=gateway)
        ports: dict[str, int] = {}
        for name in (*ENTRY_POINTS, *(f"backend-{v}" for v in backends)):
            ports[name] = proc.free_port(exclude=set(ports.values()))
        argv = traefik_argv(path, ports, gateway=gateway)
        children = [
            _ondemand.Child(
                f"checkout-{v}",
                [
                    sys.executable,
                    "-m",
                    "course_lib.sandbox._checkout",
                    "--port",
                    str(ports[f"backend-{v}"]),
                    "--version",
                    v,
                ],
                f"http://127.0.0.1:{ports[f'backend-{v}']}/healthz",
            )  # fmt: skip
            for v in backends
        ]
        children.append(
            _ondemand.Child("traefik", argv, f"http://127.0.0.1:{ports['traefik']}/ping", env=_child_env(kubeconfig))
        )
        endpoints = {
            "web": f"http://127.0.0.1:{ports['web']}",
            "websecure": f"https://127.0.0.1:{ports['websecure']}",
            "api": f"http://127.0.0.1:{ports['traefik']}",
            "metrics": f"http://127.0.0.1:{ports['metrics']}",
            "backends": {v: f"http://127.0.0.1:{ports[f'backend-{v}']}" for v in backends},
            "ports": ports,
            "kubeconfig": kubeconfig,
            "version": traefik_version(path),
            "argv": argv,
        }
        entry, reused = _ondemand.start_group(
            GROUP,
            children,
            inputs=inputs,
            endpoints=endpoints,
            timeout=timeout,
            scrape_configs=traefik_scrape_configs(ports["metrics"]),
        )
        from ._stack import reload_on_demand_jobs

        reload_on_demand_jobs()
        return _endpoints(entry["endpoints"], reused=reused)


def _endpoints(data: Mapping[str, Any], *, reused: bool) -> TraefikEndpoints:
    return TraefikEndpoints(
        web=data["web"],
        websecure=data["websecure"],
        api=data["api"],
        metrics=data["metrics"],
        backends=dict(data["backends"]),
        ports=dict(data["ports"]),
        kubeconfig=data["kubeconfig"],
        version=data.get("version", ""),
        argv=tuple(data.get("argv", ())),
        reused=reused,
    )


def traefik_endpoints() -> TraefikEndpoints | None:
    """The running Traefik's endpoints, or None when none is recorded (changes nothing)."""
    entry = _ondemand.running(GROUP)
    return _endpoints(entry["endpoints"], reused=True) if entry else None


def traefik_down(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop Traefik and its backends (``course sandbox down`` does this too). Returns the names stopped.

    Used in: notebook 04 (the drill: requests fail while it is stopped).
    """
    from ._stack import _locked

    with _locked():
        stopped = _ondemand.stop_group(GROUP, timeout=timeout)
        from ._stack import reload_on_demand_jobs

        reload_on_demand_jobs()
        return stopped


def traefik_service_monitor() -> dict[str, Any]:
    """The ServiceMonitor a cluster would have for Traefik's metrics (what the Traefik chart creates with
    ``metrics.prometheus.serviceMonitor.enabled``): port ``metrics`` of the Services labelled
    ``app.kubernetes.io/name: traefik`` in namespace ``traefik``, selected by the course's Prometheus (``release``).

    Used in: notebook 04 (the sandbox's Prometheus scrapes the local Traefik with the job derived from it).
    """
    from ..manifests._observability import service_monitor

    return service_monitor(
        "traefik", namespace="traefik", selector={"app.kubernetes.io/name": "traefik"}, port="metrics"
    )


def traefik_scrape_configs(metrics_port: int) -> list[dict[str, Any]]:
    """The Prometheus job derived from :func:`traefik_service_monitor` for the local Traefik's metrics port."""
    from ._derive import LocalService, scrape_configs_from_service_monitor
    from ._stack import SCRAPE_INTERVAL

    svc = LocalService("traefik", "traefik", {"app.kubernetes.io/name": "traefik"}, {"metrics": metrics_port})
    return scrape_configs_from_service_monitor(traefik_service_monitor(), [svc], interval=SCRAPE_INTERVAL)


def _require_loopback_server(kubeconfig: str) -> None:
    import yaml

    try:
        data = yaml.safe_load(Path(kubeconfig).read_text())
        servers = [c["cluster"]["server"] for c in data.get("clusters", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SandboxError(f"cannot read the kubeconfig {kubeconfig}: {exc}", hint="pass the sandbox's") from None
    for server in servers:
        if not is_loopback_url(server):
            raise SandboxError(
                f"the kubeconfig's API server {server} is not on this machine's loopback interface",
                hint="the controllers the course runs on the sandbox (Traefik, Sealed Secrets) only act on the sandbox "
                "control plane (`course sandbox up`)",
            )


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is an IP address in 127.0.0.0/8 (or ``::1``) — names are not resolved.

    Example:
        >>> is_loopback_url("http://127.0.0.1:8080"), is_loopback_url("http://10.0.0.7:80")
        (True, False)
    """
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = [
    "BACKENDS",
    "ENTRY_POINTS",
    "GATEWAY_CONTROLLER",
    "TraefikEndpoints",
    "binary",
    "crd_files",
    "install_crds",
    "is_loopback_url",
    "module_dir",
    "required_version",
    "traefik_argv",
    "traefik_down",
    "traefik_endpoints",
    "traefik_up",
    "traefik_version",
]
