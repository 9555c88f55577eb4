"""Kyverno's admission controller on the sandbox: the real program (``cmd/kyverno`` of Kyverno v1.19, built by
``make tools`` as ``kyverno-admission-controller``) as a local process, registered with the sandbox's kube-apiserver
as a validating webhook, so a policy rejects a Pod at ``kubectl apply`` with Kyverno's own message; and beside it
Kyverno's reports controller (``cmd/reports-controller``, built as ``kyverno-reports-controller``), which turns
``Audit`` verdicts into PolicyReports.

How it runs out of cluster (read from upstream's ``cmd/kyverno``, ``pkg/tls`` and ``pkg/controllers/webhook``):

- ``-kubeconfig`` points it at the sandbox API server; ``-serverIP=127.0.0.1:PORT`` switches it to its
  out-of-cluster mode: the webhook configurations it writes (``-autoUpdateWebhooks``, on by default) carry
  ``clientConfig.url: https://127.0.0.1:PORT/...`` instead of a reference to the ``kyverno-svc`` Service, and the
  serving certificate it makes gets ``127.0.0.1`` as its IP SAN. The API server therefore calls 127.0.0.1 only.
- it makes its own CA and serving certificate and keeps them in two Secrets of the ``kyverno`` namespace
  (``-caSecretName``/``-tlsSecretName``, required flags); the CA goes into each webhook's ``caBundle``.
- it needs the ``kyverno`` namespace and the CRDs of ``kyverno.io``, ``policies.kyverno.io``,
  ``reports.kyverno.io`` and ``wgpolicyk8s.io`` (its informers wait for all of them), all from upstream's module
  (:data:`CRD_SOURCE`); the ``kyverno`` ConfigMap (:func:`bootstrap_objects`) keeps its webhooks away from
  ``kube-system`` and ``kyverno``, as the Helm chart's does. No ServiceAccount: it acts as the kubeconfig's user.
- leader election (a Lease in ``kyverno``) runs as in a cluster, with one candidate.
- every listener is on 127.0.0.1: the webhook server (``-webhookServerHost``/``-webhookServerPort``) and the
  metrics server (``-metricsHost``/``-metricsPort``); controller-runtime's own metrics server is off
  (``-controllerRuntimeMetricsAddress=0``); profiling, tracing and Sigstore TUF are off by default and stay off.
- admission reports are on (``-admissionReports=true``, upstream's default): for every admitted request a policy
  judged (not for dry runs, not for a rejected one) the admission controller writes an ``EphemeralReport``
  (``reports.kyverno.io/v1``) in the object's namespace. It writes no PolicyReport itself.

The reports controller (read from upstream's ``cmd/reports-controller``) is a second process of the same group:
its aggregate controller folds the ephemeral reports into one ``PolicyReport`` (``wgpolicyk8s.io/v1alpha2``;
``-openreportsEnabled=false``, the chart's default, so not ``openreports.io``) per resource, named after the
resource's UID, and deletes the ephemeral ones. It checks at start that the ephemeral-report and PolicyReport CRDs
are served (:data:`CRD_SOURCE` has them). It has no health endpoint: it counts as ready when its metrics server
(``-metricsHost=127.0.0.1``, its only listener) answers and it holds its own Lease ``kyverno-reports-controller``
in ``kyverno`` (leader election as in a cluster, one candidate). Its background scan stays on (the chart's
default, hourly): policies with ``background: true`` are also applied to objects that already exist.

Stopping: :func:`kyverno_down` stops the process and deletes the webhook configurations it wrote (label
``webhook.kyverno.io/managed-by``), as Kyverno itself does when its Deployment goes away — otherwise the API server
would keep calling a port nobody listens on. ``course sandbox down`` does the same. ``kyverno_down(cleanup=False)``
stops it like a crash: the configurations stay, and a ``failurePolicy: Fail`` policy makes the API server refuse
every matching request (notebook 05 shows it).

Example:
    >>> from course_lib import sandbox
    >>> k = sandbox.kyverno_up(kubeconfig=cluster.kubeconfig)   # doctest: +SKIP
    >>> k.webhook                                               # doctest: +SKIP
    'https://127.0.0.1:40313'

Used in: notebook 05.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SandboxError, ToolMissingError
from ..pins import KYVERNO_CHART, CrdSource
from . import _ondemand
from . import _process as proc

GROUP = "kyverno"
PROGRAM = "kyverno-admission-controller"
#: Kyverno's reports controller (``cmd/reports-controller``), the second process of the group.
REPORTS_PROGRAM = "kyverno-reports-controller"
#: Its leader-election Lease in :data:`NAMESPACE` (upstream's name) and the identity it holds it under.
REPORTS_LEASE = "kyverno-reports-controller"
REPORTS_IDENTITY = "kyverno-reports-sandbox"
NAMESPACE = "kyverno"
#: Upstream's names for the Secrets holding its CA and serving certificate (the chart's defaults).
CA_SECRET = "kyverno-svc.kyverno.svc.kyverno-tls-ca"
TLS_SECRET = "kyverno-svc.kyverno.svc.kyverno-tls-pair"
#: The label on every webhook configuration Kyverno writes (upstream's ``kyverno.LabelWebhookManagedBy``).
MANAGED_BY = "webhook.kyverno.io/managed-by"
WEBHOOK_KINDS = "validatingwebhookconfigurations,mutatingwebhookconfigurations"
#: What the admission controller's informers wait for: every CRD of Kyverno's module (the session's own source
#: holds only ``kyverno.io``; these are installed when Kyverno starts, so other notebooks do not carry them).
CRD_SOURCE = CrdSource(
    "Kyverno admission controller",
    "github.com/kyverno/kyverno",
    KYVERNO_CHART.app_version,
    (
        "config/crds/kyverno/kyverno.io_*.yaml",
        "config/crds/policies.kyverno.io/*.yaml",
        "config/crds/reports/*.yaml",
        "config/crds/policyreport/*.yaml",
    ),
)
#: Namespaces Kyverno's webhooks never see (the chart excludes ``kube-system`` and its own namespace).
EXCLUDED_NAMESPACES = ("kube-system", NAMESPACE)


@dataclass(frozen=True)
class KyvernoEndpoints:
    """A running Kyverno admission controller on the sandbox.

    Attributes:
        webhook: its webhook server, ``https://127.0.0.1:PORT`` (the URL prefix of every webhook it registers).
        metrics: its Prometheus metrics, ``http://127.0.0.1:PORT/metrics``.
        ports: ``webhook``, ``metrics`` and ``reports-metrics`` (the reports controller's) → port.
        kubeconfig: the API server it serves.
        version: the Kyverno release it was built from.
        argv: its command line.
        reports_argv: the reports controller's command line.
        reused: a running Kyverno for the same kubeconfig was found.
    """

    webhook: str
    metrics: str
    ports: Mapping[str, int]
    kubeconfig: str
    version: str = ""
    argv: tuple[str, ...] = field(default=(), repr=False)
    reports_argv: tuple[str, ...] = field(default=(), repr=False)
    reused: bool = False

    def command(self) -> str:
        """Its command line, one flag per line, as a learner would type it."""
        return " \\\n  ".join([PROGRAM, *self.argv[1:]])

    def reports_command(self) -> str:
        """The reports controller's command line, one flag per line."""
        return " \\\n  ".join([REPORTS_PROGRAM, *self.reports_argv[1:]])


def kyverno_argv(binary: str, ports: Mapping[str, int], *, kubeconfig: str, webhook_timeout: int = 10) -> list[str]:
    """The admission controller's flags for running out of cluster, every listener on 127.0.0.1.

    Example:
        >>> argv = kyverno_argv("kyverno", {"webhook": 9443, "metrics": 8000}, kubeconfig="kc")
        >>> [a for a in argv if a.startswith(("-serverIP", "-webhookServerHost"))]
        ['-serverIP=127.0.0.1:9443', '-webhookServerHost=127.0.0.1']
    """
    missing = [p for p in ("webhook", "metrics") if p not in ports]
    if missing:
        raise SandboxError(f"no port for {missing}", hint="give a port for `webhook` and `metrics`")
    if not 1 <= webhook_timeout <= 30:
        raise SandboxError(f"webhook_timeout {webhook_timeout} is out of range", hint="1 to 30 seconds")
    return [
        binary,
        f"-kubeconfig={kubeconfig}",
        f"-serverIP=127.0.0.1:{ports['webhook']}",
        "-webhookServerHost=127.0.0.1",
        f"-webhookServerPort={ports['webhook']}",
        f"-caSecretName={CA_SECRET}",
        f"-tlsSecretName={TLS_SECRET}",
        "-autoUpdateWebhooks=true",
        f"-webhookTimeout={webhook_timeout}",
        "-admissionReports=true",
        "-metricsHost=127.0.0.1",
        f"-metricsPort={ports['metrics']}",
        "-controllerRuntimeMetricsAddress=0",
        "-enableTuf=false",
        "-profile=false",
        "-enableTracing=false",
        "-disableLogColor=true",
    ]


def reports_argv(binary: str, ports: Mapping[str, int], *, kubeconfig: str) -> list[str]:
    """The reports controller's flags for running out of cluster: its one listener (metrics) on 127.0.0.1, reports
    from admission requests aggregated into ``wgpolicyk8s.io`` PolicyReports.

    Example:
        >>> argv = reports_argv("rc", {"reports-metrics": 8001}, kubeconfig="kc")
        >>> [a for a in argv if a.startswith("-metrics")]
        ['-metricsHost=127.0.0.1', '-metricsPort=8001']
    """
    if "reports-metrics" not in ports:
        raise SandboxError("no port for `reports-metrics`", hint="give a port for `reports-metrics`")
    return [
        binary,
        f"-kubeconfig={kubeconfig}",
        "-admissionReports=true",
        "-aggregateReports=true",
        "-policyReports=true",
        "-openreportsEnabled=false",
        "-metricsHost=127.0.0.1",
        f"-metricsPort={ports['reports-metrics']}",
        "-enableTuf=false",
        "-profile=false",
        "-enableTracing=false",
        "-disableLogColor=true",
    ]


def bootstrap_objects() -> list[dict[str, Any]]:
    """What must exist before it starts: its namespace and its ``kyverno`` ConfigMap (webhooks exclude
    :data:`EXCLUDED_NAMESPACES`, and events, leases and the control plane's own objects are filtered out, as the
    chart's defaults do)."""
    from ..manifests import object_meta

    webhooks = [
        {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list(EXCLUDED_NAMESPACES)}
                ]
            }
        }
    ]
    filters = "".join(
        f"[{f}]"
        for f in (
            "Event,*,*",
            "*/*,kube-system,*",
            "*/*,kube-public,*",
            "*/*,kube-node-lease,*",
            f"*/*,{NAMESPACE},*",
            "Node,*,*",
            "Node/*,*,*",
            "APIService,*,*",
            "TokenReview,*,*",
            "SubjectAccessReview,*,*",
            "SelfSubjectAccessReview,*,*",
        )
    )
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": object_meta(NAMESPACE)},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": object_meta("kyverno", namespace=NAMESPACE),
            "data": {"webhooks": json.dumps(webhooks), "resourceFilters": filters},
        },
    ]


# --- the program, CRDs and kubectl ------------------------------------------------------------------------------


def binary(program: str = PROGRAM) -> str:
    """The admission controller (or ``program``, e.g. :data:`REPORTS_PROGRAM`) built by ``make tools``, or
    :class:`ToolMissingError` naming the fix."""
    from .. import tools

    path = tools.find(program)
    if path is None:
        raise ToolMissingError(
            f"{program} is not built",
            hint="run `make tools` (or `scripts/build_tools.sh kyverno`): Kyverno's cmd/kyverno and "
            "cmd/reports-controller from its Go module",
        )
    return path


def available() -> bool:
    """True when the admission controller and the reports controller are built (the session then lists
    ``kyverno`` among its controllers). A build of an older pin may hold the first only: then neither counts."""
    from .. import tools

    return tools.find(PROGRAM) is not None and tools.find(REPORTS_PROGRAM) is not None


def _kubectl(kubeconfig: str, *args: str, timeout: float = 120, stdin: str | None = None) -> str:
    from .. import tools

    done = subprocess.run(
        [str(tools.which("kubectl")), "--kubeconfig", kubeconfig, *args],
        capture_output=True, text=True, timeout=timeout, input=stdin,
    )  # fmt: skip
    if done.returncode != 0:
        raise SandboxError(
            f"kubectl {' '.join(args[:2])} failed: {done.stderr.strip()[-400:]}",
            hint="check that the sandbox API server answers: `course sandbox status`",
            command=f"kubectl {' '.join(args)}"[:200],
        )
    return done.stdout


def install_crds(kubeconfig: str) -> list[str]:
    """Apply the CRDs of :data:`CRD_SOURCE` that the API server does not serve yet (fetched from the Go module
    cache on first use, like ``course sandbox crds``), and wait until they are established. Returns the names
    applied. CRDs already there (e.g. ``kyverno.io``'s from the session) are left as they are."""
    import yaml

    from . import _crds

    _crds.fetch([CRD_SOURCE])
    have = _crds.served_names(kubeconfig)
    docs = [c for c in _crds.load([CRD_SOURCE]) if c["metadata"]["name"] not in have]
    if not docs:
        return []
    names = _kubectl(
        kubeconfig, "apply", "--server-side", "--force-conflicts", "-o", "name", "-f", "-",
        stdin=yaml.safe_dump_all(docs, sort_keys=False),
    ).split()  # fmt: skip
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *names, timeout=90)
    return [n.split("/", 1)[-1] for n in names]


def webhook_configurations(kubeconfig: str) -> list[dict[str, Any]]:
    """Kyverno's webhook configurations in the API server: ``kind``, ``name``, and per webhook its name, URL,
    ``failurePolicy`` and ``timeoutSeconds`` (changes nothing).

    Used in: notebook 05 (``kubectl get validatingwebhookconfigurations -l webhook.kyverno.io/managed-by``).
    """
    rows = []
    for item in _live_configurations(kubeconfig):
        for wh in item.get("webhooks") or []:
            cc = wh.get("clientConfig") or {}
            rows.append(
                {
                    "kind": item["kind"],
                    "configuration": item["metadata"]["name"],
                    "webhook": wh.get("name"),
                    "url": cc.get("url") or f"service {((cc.get('service') or {}).get('name'))}",
                    "failurePolicy": wh.get("failurePolicy"),
                    "timeoutSeconds": wh.get("timeoutSeconds"),
                }
            )
    return rows


def _reports_leader(kubeconfig: str, since: float) -> bool:
    """True when the reports controller holds its Lease, acquired or renewed after ``since`` (epoch seconds): the
    process just started leads, not the Lease an earlier one left behind."""
    from datetime import datetime

    try:
        lease = json.loads(
            _kubectl(kubeconfig, "get", "lease", REPORTS_LEASE, "-n", NAMESPACE, "-o", "json", timeout=10)
        )
    except SandboxError:
        return False
    spec = lease.get("spec") or {}
    renewed = str(spec.get("renewTime") or "")
    if spec.get("holderIdentity") != REPORTS_IDENTITY or not renewed:
        return False
    return datetime.fromisoformat(renewed.replace("Z", "+00:00")).timestamp() >= since - 1.0


def _live_configurations(kubeconfig: str) -> list[dict[str, Any]]:
    data = json.loads(_kubectl(kubeconfig, "get", WEBHOOK_KINDS, "-l", MANAGED_BY, "-o", "json"))
    return list(data.get("items") or [])


def _webhooks_point_at(kubeconfig: str, prefix: str) -> bool:
    """True when Kyverno's resource validating webhook configuration exists (it may hold no webhook while there is
    no policy) and every webhook of its configurations calls a URL under ``prefix``."""
    items = _live_configurations(kubeconfig)
    names = {i["metadata"]["name"] for i in items}
    urls = [str((wh.get("clientConfig") or {}).get("url")) for i in items for wh in i.get("webhooks") or []]
    return "kyverno-resource-validating-webhook-cfg" in names and all(u.startswith(prefix + "/") for u in urls)


# --- lifecycle ------------------------------------------------------------------------------------------------


def kyverno_up(*, kubeconfig: str, timeout: float = 180, webhook_timeout: int = 10) -> KyvernoEndpoints:
    """Start Kyverno's admission controller and its reports controller on the sandbox (or reuse the running pair)
    and wait until the webhooks are registered with the API server and the reports controller leads.

    Applies its CRDs (:func:`install_crds`) and :func:`bootstrap_objects`, starts the admission controller with
    :func:`kyverno_argv` and the reports controller with :func:`reports_argv`, and waits for ``/health/readiness``
    on the webhook port, for the webhook configurations to point at ``https://127.0.0.1:PORT`` and for the reports
    controller's metrics and Lease. ``course sandbox down`` stops both and removes the webhook configurations.

    Args:
        kubeconfig: the sandbox API server's kubeconfig (its server must be a loopback address).
        timeout: one deadline for everything.
        webhook_timeout: the ``timeoutSeconds`` Kyverno writes into its webhooks (1–30).

    Raises:
        ToolMissingError: the admission controller (or Go, for the CRDs) is missing.
        SandboxError: the kubeconfig points off this machine, or Kyverno did not become ready in time.

    Example:
        >>> k = kyverno_up(kubeconfig=cluster.kubeconfig)  # doctest: +SKIP

    Used in: notebook 05.
    """
    from ._traefik import _require_loopback_server

    kubeconfig = str(Path(kubeconfig).resolve())
    _require_loopback_server(kubeconfig)
    if not 1 <= webhook_timeout <= 30:
        raise SandboxError(f"webhook_timeout {webhook_timeout} is out of range", hint="1 to 30 seconds")
    path = binary()
    reports_path = binary(REPORTS_PROGRAM)
    digest = hashlib.sha256(Path(kubeconfig).read_bytes()).hexdigest()[:16]
    inputs = {
        "kubeconfig": kubeconfig,
        "kubeconfig_sha256": digest,
        "binary": path,
        "reports_binary": reports_path,
        "webhook_timeout": webhook_timeout,
    }
    deadline = time.monotonic() + timeout
    from ._stack import _locked

    with _locked():
        current = _ondemand.reusable(GROUP, inputs)
        if current is not None and _webhooks_point_at(kubeconfig, current["endpoints"]["webhook"]):
            return _endpoints(current["endpoints"], reused=True)
        _ondemand.stop_group(GROUP)  # runs the recorded clean-up of an earlier Kyverno too
        _kubectl(kubeconfig, "delete", WEBHOOK_KINDS, "-l", MANAGED_BY, "--ignore-not-found")  # a crashed one's
        install_crds(kubeconfig)
        # --validate=false: no client-side OpenAPI fetch (slow right after new CRDs); the server still validates
        _kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "--validate=false", "-f", "-", stdin=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": bootstrap_objects()}))  # fmt: skip
        ports = {"webhook": proc.free_port()}
        ports["metrics"] = proc.free_port(exclude={ports["webhook"]})
        ports["reports-metrics"] = proc.free_port(exclude={ports["webhook"], ports["metrics"]})
        argv = kyverno_argv(path, ports, kubeconfig=kubeconfig, webhook_timeout=webhook_timeout)
        rargv = reports_argv(reports_path, ports, kubeconfig=kubeconfig)
        common = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")},
            "KUBECONFIG": kubeconfig,
            "KYVERNO_NAMESPACE": NAMESPACE,
            "INIT_CONFIG": "kyverno",  # the ConfigMap of bootstrap_objects()
            "METRICS_CONFIG": "kyverno-metrics",  # absent: Kyverno's defaults
        }
        env = {
            **common,
            "KYVERNO_POD_NAME": "kyverno-sandbox",  # its leader-election identity: a restart re-takes its Lease
            "KYVERNO_SERVICEACCOUNT_NAME": "kyverno-admission-controller",  # required; names it in RBAC checks
            "KYVERNO_DEPLOYMENT": "kyverno-admission-controller",
            "KYVERNO_SVC": "kyverno-svc",
        }
        reports_env = {
            **common,
            "KYVERNO_POD_NAME": REPORTS_IDENTITY,  # the holder of its own Lease, kyverno-reports-controller
            "KYVERNO_SERVICEACCOUNT_NAME": "kyverno-reports-controller",
            "KYVERNO_DEPLOYMENT": "kyverno-reports-controller",
        }
        webhook = f"https://127.0.0.1:{ports['webhook']}"
        reports_metrics = f"http://127.0.0.1:{ports['reports-metrics']}/metrics"
        endpoints = {
            "webhook": webhook,
            "metrics": f"http://127.0.0.1:{ports['metrics']}/metrics",
            "reports_metrics": reports_metrics,
            "ports": ports,
            "kubeconfig": kubeconfig,
            "version": KYVERNO_CHART.app_version,
            "argv": argv,
            "reports_argv": rargv,
        }
        children = [
            _ondemand.Child(PROGRAM, argv, f"{webhook}/health/readiness", env=env, ready_tls_verify=False),
            _ondemand.Child(REPORTS_PROGRAM, rargv, reports_metrics, env=reports_env),
        ]
        on_stop = _ondemand.OnStop(kubeconfig, (("delete", WEBHOOK_KINDS, "-l", MANAGED_BY, "--ignore-not-found"),))
        spawned_at = time.time()
        entry, reused = _ondemand.start_group(
            GROUP, children, inputs=inputs, endpoints=endpoints, timeout=max(1.0, deadline - time.monotonic()),
            on_stop=on_stop,
        )  # fmt: skip
        waits = (
            (PROGRAM, "register its webhooks", lambda: _webhooks_point_at(kubeconfig, webhook)),
            (REPORTS_PROGRAM, f"take its Lease {REPORTS_LEASE}", lambda: _reports_leader(kubeconfig, spawned_at)),
        )
        for index, (program, what, done) in enumerate(waits):
            if not proc.wait_until(done, deadline=deadline, interval=0.5):  # pragma: no cover - needs a stuck Kyverno
                tail = proc.tail(Path(entry["children"][index]["log"]))
                _ondemand.stop_group(GROUP)
                raise SandboxError(
                    f"{program} did not {what} within {timeout:.0f} s. Its last log lines:\n{tail}",
                    hint="read the log lines above; `course sandbox down` cleans up, then try again",
                    service=program,
                    timeout=timeout,
                )
        return _endpoints(entry["endpoints"], reused=reused)


def _endpoints(data: Mapping[str, Any], *, reused: bool) -> KyvernoEndpoints:
    return KyvernoEndpoints(
        webhook=data["webhook"],
        metrics=data["metrics"],
        ports=dict(data["ports"]),
        kubeconfig=data["kubeconfig"],
        version=data.get("version", ""),
        argv=tuple(data.get("argv", ())),
        reports_argv=tuple(data.get("reports_argv", ())),
        reused=reused,
    )


def kyverno_endpoints() -> KyvernoEndpoints | None:
    """The running Kyverno's endpoints, or None when none is recorded (changes nothing)."""
    entry = _ondemand.running(GROUP)
    return _endpoints(entry["endpoints"], reused=True) if entry else None


def kyverno_down(*, cleanup: bool = True, timeout: float = 10.0) -> tuple[str, ...]:
    """Stop Kyverno's admission controller and its reports controller. With ``cleanup`` (the default, and what ``course sandbox down`` does)
    its webhook configurations are deleted too; ``cleanup=False`` stops it the way a crash does and leaves them,
    so the API server goes on calling a port nobody listens on. Returns what was stopped and cleaned.

    Used in: notebook 05 (the failure mode of a stopped Kyverno with ``failurePolicy: Fail``).
    """
    from ._stack import _locked

    with _locked():
        return _ondemand.stop_group(GROUP, timeout=timeout, cleanup=cleanup)


def listening_addresses(pid: int) -> list[str]:
    """``host:port`` of every TCP socket process ``pid`` listens on (read from ``/proc``; tests use it to show
    that Kyverno binds loopback only)."""
    inodes = set()
    try:
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with_link = os.readlink(fd.path)
            if with_link.startswith("socket:["):
                inodes.add(with_link[8:-1])
    except OSError:
        return []
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            host_hex, port_hex = cols[1].split(":")
            found.append(f"{_decode_host(host_hex, width)}:{int(port_hex, 16)}")
    return sorted(found)


def _decode_host(hex_host: str, width: int) -> str:
    import ipaddress

    raw = bytes.fromhex(hex_host)
    if width == 8:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


__all__ = [
    "CRD_SOURCE",
    "KyvernoEndpoints",
    "available",
    "binary",
    "bootstrap_objects",
    "install_crds",
    "kyverno_argv",
    "kyverno_down",
    "kyverno_endpoints",
    "kyverno_up",
    "listening_addresses",
    "reports_argv",
    "webhook_configurations",
]
