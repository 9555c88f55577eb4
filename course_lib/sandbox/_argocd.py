"""Argo CD on the sandbox: its real controllers as local processes against the sandbox's kube-apiserver.

Started on demand (``session.gitops()``, :func:`up`), never by ``course sandbox up``:

- ``redis-server`` (Debian's 7.0, BSD-3) on 127.0.0.1 with its own port and folder and ``--save ''``: Argo CD's
  cache (the system's redis service is never used);
- ``argocd-repo-server``: clones the course's local Git repository (``file://`` URLs) and renders manifests,
  shelling out to the course's ``git``, ``helm`` and ``kubectl kustomize``;
- ``argocd-application-controller``: compares, syncs, self-heals and prunes Applications;
- ``argocd-applicationset-controller``: generates Applications from ApplicationSets.

All three are the one multi-call binary ``argocd`` (v3.2.11, built by ``make tools``); ``ARGOCD_BINARY_NAME`` picks
the component, as in Argo CD's own Procfile. They run out of cluster with the sandbox kubeconfig
(``ARGOCD_FAKE_IN_CLUSTER=true``: the destination ``https://kubernetes.default.svc`` is the sandbox itself) and
read their settings from the namespace ``argocd``, which :func:`up` fills with the ConfigMaps and Secret they need.

Every child is recorded in a state file next to the control plane's and carries the sandbox's environment marker,
so ``course sandbox down`` stops it even after the kernel that started it was killed.

Example:
    >>> from course_lib.sandbox import _argocd
    >>> handle = _argocd.up(kubeconfig)             # doctest: +SKIP
    >>> handle.wait("guestbook", sync="Synced")     # doctest: +SKIP

Used in: notebooks 02, 09, 10 (through ``session.gitops()``), ``course sandbox status|down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import config
from ..errors import SandboxError, ToolMissingError
from . import _process as proc

STATE_VERSION = 1
NAMESPACE = "argocd"
#: The in-cluster destination: with ARGOCD_FAKE_IN_CLUSTER the controllers reach it through their kubeconfig.
IN_CLUSTER = "https://kubernetes.default.svc"
#: Start order; stop runs in reverse.
COMPONENTS: tuple[str, ...] = ("redis", "repo-server", "application-controller", "applicationset-controller")
#: How often the application controller compares every Application with Git (a cluster's default is 180 s; a Git
#: webhook makes that instant there). The sandbox polls its local repository every few seconds instead.
APP_RESYNC_SECONDS = 5
#: Go's soft memory limit for each Argo CD component (see the control plane's ``CONTROL_PLANE_GOMEMLIMIT``).
ARGOCD_GOMEMLIMIT = "120MiB"
#: What the sandbox's ``default`` AppProject permits: nothing that would make Argo CD contact another machine.
ALLOWED_REPOS: tuple[str, ...] = ("file:///**",)  # `**`: Argo CD matches repositories with "/" as separator
ALLOWED_SERVERS: tuple[str, ...] = (IN_CLUSTER, "https://127.0.0.1:*")
#: A second guard under the AppProject: every HTTP(S) connection to a host that is not loopback goes to this proxy
#: address, where nothing listens (port 9, "discard"), so it fails at once, without even a DNS lookup of the host.
#: (The application controller connects to every registered cluster that some Application names, permitted or not:
#: a demo cluster Secret naming a DigitalOcean API server must not become real traffic.)
DEAD_PROXY = "http://127.0.0.1:9"
#: Labels the settings informers of Argo CD select on: ConfigMaps and Secrets without them are not read.
_PART_OF = {"app.kubernetes.io/part-of": "argocd"}

#: Health of an Application as a resource of its parent (app of apps). Argo CD removed it from the built-in checks
#: in 1.8, so without this a parent treats a child Application as healthy at once and sync waves do not wait.
APPLICATION_HEALTH_LUA = """\
hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


def state_file() -> Path:
    """Where the running Argo CD is recorded (next to the sandbox's other state)."""
    return config.state_dir() / "sandbox-argocd.json"


def _state() -> proc.StateFile:
    return proc.StateFile(state_file(), lock=config.state_dir() / "sandbox-argocd.lock", version=STATE_VERSION)


def _locked() -> contextlib.AbstractContextManager[None]:
    return _state().locked()


def _read_state() -> dict[str, Any] | None:
    return _state().read()


def _write_state(data: Mapping[str, Any]) -> None:
    _state().write(data)


# ------------------------------------------------------------------------------------------- programs


def binary() -> str | None:
    """The built ``argocd`` multi-call binary (``make tools``), or ``None``."""
    from .. import tools

    return tools.find("argocd")


def missing() -> list[str]:
    """What is missing to run Argo CD on the sandbox (empty when everything is there)."""
    out = [] if binary() else ["argocd (`make tools`)"]
    if shutil.which("redis-server") is None:
        out.append("redis-server (Debian package redis-server, `make setup`)")
    if shutil.which("git") is None:
        out.append("git")
    return out


def available() -> bool:
    """True when the Argo CD binary is built and redis-server and git are installed."""
    return not missing()


def _kubectl() -> str:
    from .. import tools

    path = tools.find("kubectl")
    if path is None:
        raise ToolMissingError("kubectl was not found", hint="run `make tools` (or `make setup`)")
    return path


def _run_kubectl(kubeconfig: str, *args: str, stdin: str | None = None, timeout: float = 30) -> str:
    cmd = [_kubectl(), "--kubeconfig", kubeconfig, *args]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SandboxError(
            f"kubectl {' '.join(args[:3])} failed: {(done.stderr or done.stdout).strip()[-600:]}",
            hint="check the sandbox control plane with `course sandbox status`",
        )
    return done.stdout


def _shims(workdir: Path) -> Path:
    """A bin folder for the repo-server's PATH: the course's helm and kubectl, and ``kustomize`` as
    ``kubectl kustomize`` (kubectl embeds kustomize; the course builds no separate binary)."""
    from .. import tools

    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in ("helm", "kubectl", "argocd"):
        found = tools.find(name)
        if found and not (bindir / name).exists():
            (bindir / name).symlink_to(found)
    kubectl = tools.find("kubectl")
    if kubectl:
        version = "v5"
        with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
            out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
            version = json.loads(out.stdout).get("kustomizeVersion", version)
        shim = bindir / "kustomize"
        shim.write_text(
            "#!/bin/sh\n# kustomize for Argo CD's repo-server: kubectl's embedded kustomize\n"
            f'case "$1" in\n  build) shift; exec "{kubectl}" kustomize "$@" ;;\n'
            f'  version) echo "{version}" ;;\n  *) echo "unsupported: kustomize $1" >&2; exit 2 ;;\nesac\n'
        )
        shim.chmod(0o755)
    return bindir


# ------------------------------------------------------------------------------------------- settings


def settings_objects(*, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """The objects Argo CD reads its settings from, as its install manifests create them (without the
    Deployments): the namespace, ``argocd-cm`` (with the Application health check), ``argocd-rbac-cm``,
    ``argocd-secret`` and the ``default`` AppProject (which only argocd-server would create otherwise).

    Example:
        >>> [o["metadata"]["name"] for o in settings_objects()][:3]
        ['argocd', 'argocd-cm', 'argocd-rbac-cm']
    """

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(_PART_OF)}

    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("argocd-cm"),
            "data": {"resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-rbac-cm"), "data": {}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cmd-params-cm"), "data": {}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta("argocd-secret"),
            "type": "Opaque",
            "stringData": {"server.secretkey": secrets.token_urlsafe(32)},
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": namespace},
            "spec": {
                # loopback only: repositories on this machine, API servers on 127.0.0.1 (the sandbox's own, or a
                # second local control plane). Argo CD checks this before it fetches a source or reads a cluster.
                "sourceRepos": list(ALLOWED_REPOS),
                "destinations": [{"server": server, "namespace": "*"} for server in ALLOWED_SERVERS],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


def _apply_settings(kubeconfig: str, namespace: str) -> None:
    objs = settings_objects(namespace=namespace)
    secret = _run_kubectl(kubeconfig, "-n", namespace, "get", "secret", "argocd-secret", "--ignore-not-found", "-o",
                          "name")  # fmt: skip
    if secret.strip():  # keep the key of a running installation
        objs = [o for o in objs if o["kind"] != "Secret"]
    _run_kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(objs, sort_keys=False))


# ------------------------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class _Component:
    name: str
    argv: list[str]
    env: dict[str, str]
    #: ("http", url) answers 2xx when ready, or ("redis", port) answers PING.
    ready: tuple[str, Any]


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _components(workdir: Path, kubeconfig: str, namespace: str, ports: Mapping[str, int]) -> list[_Component]:
    argocd = binary()
    redis = shutil.which("redis-server")
    assert argocd and redis  # checked by up()
    bindir = _shims(workdir)
    for sub in ("redis", "tmp", "tls", "ssh", "gpg", "home"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    base = {
        **os.environ,
        proc_marker(): str(state_file()),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "KUBECONFIG": kubeconfig,
        "ARGOCD_FAKE_IN_CLUSTER": "true",
        "ARGOCD_GPG_ENABLED": "false",
        "ARGOCD_TLS_DATA_PATH": str(workdir / "tls"),
        "ARGOCD_SSH_DATA_PATH": str(workdir / "ssh"),
        "ARGOCD_GNUPGHOME": str(workdir / "gpg"),
        "TMPDIR": str(workdir / "tmp"),
        "HOME": str(workdir / "home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        # Go's soft memory limit per component, as for the control plane (a limit the learner set wins): the
        # controllers' caches of a sandbox are small, and Binder guarantees 1 GB (benchmarks/notebook_memory.py)
        "GOMEMLIMIT": os.environ.get("GOMEMLIMIT", ARGOCD_GOMEMLIMIT),
        # what the chart's `timeout.reconciliation` sets: the controller's resync and the repo-server's cache of
        # "which commit is HEAD" (3 min by default, so a new commit would wait that long)
        "ARGOCD_RECONCILIATION_TIMEOUT": f"{APP_RESYNC_SECONDS}s",
        **{name: DEAD_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    redis_addr = f"127.0.0.1:{ports['redis']}"
    repo_addr = f"127.0.0.1:{ports['repo-server']}"
    common = ["--kubeconfig", kubeconfig, "--namespace", namespace]

    def env(component: str) -> dict[str, str]:
        return {**base, "ARGOCD_BINARY_NAME": f"argocd-{component}"}

    return [
        _Component(
            "redis",
            [
                redis,
                "--port",
                str(ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir / "redis"),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                "",
            ],
            dict(base),
            ("redis", ports["redis"]),
        ),  # fmt: skip
        _Component(
            "repo-server",
            [
                argocd,
                "--address",
                "127.0.0.1",
                "--port",
                str(ports["repo-server"]),
                "--metrics-address",
                "127.0.0.1",
                "--metrics-port",
                str(ports["repo-server-metrics"]),
                "--redis",
                redis_addr,
                "--disable-tls",
                "--loglevel",
                "info",
            ],
            env("repo-server"),
            ("http", f"http://127.0.0.1:{ports['repo-server-metrics']}/healthz"),
        ),  # fmt: skip
        _Component(
            "application-controller",
            [
                argocd,
                *common,
                "--redis",
                redis_addr,
                "--repo-server",
                repo_addr,
                "--repo-server-plaintext",
                "--metrics-port",
                str(ports["application-controller-metrics"]),
                "--app-resync",
                str(APP_RESYNC_SECONDS),
                "--app-resync-jitter",
                "0",
                "--status-processors",
                "4",
                "--operation-processors",
                "2",
                "--self-heal-backoff-timeout-seconds",
                "1",
                "--self-heal-backoff-factor",
                "2",
                "--self-heal-backoff-cap-seconds",
                "8",
                "--loglevel",
                "info",
            ],
            env("application-controller"),
            ("http", f"http://127.0.0.1:{ports['application-controller-metrics']}/healthz"),
        ),  # fmt: skip
        _Component(
            "applicationset-controller",
            [
                argocd,
                *common,
                "--argocd-repo-server",
                repo_addr,
                "--repo-server-plaintext",
                "--metrics-addr",
                f"127.0.0.1:{ports['applicationset-metrics']}",
                "--probe-addr",
                f"127.0.0.1:{ports['applicationset-probe']}",
                "--webhook-addr",
                f"127.0.0.1:{ports['applicationset-webhook']}",
                "--loglevel",
                "info",
            ],
            env("applicationset-controller"),
            # its probe server registers no checks (404): the metrics server answers once the manager runs
            ("http", f"http://127.0.0.1:{ports['applicationset-metrics']}/metrics"),
        ),  # fmt: skip
    ]


def proc_marker() -> str:
    from ._process import MARKER_ENV

    return MARKER_ENV


PORT_NAMES = (
    "redis",
    "repo-server",
    "repo-server-metrics",
    "application-controller-metrics",
    "applicationset-metrics",
    "applicationset-probe",
    "applicationset-webhook",
)


def _ready(component: _Component) -> bool:
    kind, where = component.ready
    return _redis_ping(int(where)) if kind == "redis" else proc.http_ok(str(where), timeout=0.5)


def _entry_alive(entry: Mapping[str, Any]) -> bool:
    return proc.is_running(int(entry["pid"]), entry.get("start_time"))


def _entry_ready(entry: Mapping[str, Any]) -> bool:
    kind, where = entry["ready"]
    if not _entry_alive(entry):
        return False
    return _redis_ping(int(where)) if kind == "redis" else proc.http_ok(str(where), timeout=1.0)


def _stop_recorded(state: Mapping[str, Any] | None, *, timeout: float = 5.0) -> tuple[str, ...]:
    stopped: list[str] = []
    if state:
        for entry in reversed(state.get("components", [])):
            if proc.stop(int(entry["pid"]), entry.get("start_time"), timeout=timeout):
                stopped.append(f"argocd-{entry['name']}" if entry["name"] != "redis" else "argocd-redis")
    from ._process import marked_pids

    for pid in marked_pids(str(state_file())):
        if proc.stop(pid, None, timeout=timeout):
            stopped.append(f"pid {pid}")
    if state and state.get("workdir"):
        shutil.rmtree(state["workdir"], ignore_errors=True)
    for leftover in (config.state_dir() / "sandbox-argocd").glob("run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    return tuple(stopped)


# ------------------------------------------------------------------------------------------- handle


@dataclass(frozen=True)
class AppState:
    """What the application controller reports on an Application (``status.sync``, ``status.health``)."""

    name: str
    sync: str
    health: str
    revision: str
    operation: str  # phase of the last sync operation (Succeeded, Running, Failed ...), "" before the first

    def __str__(self) -> str:
        rev = f" at {self.revision[:7]}" if self.revision else ""
        return f"{self.name}: {self.sync}, {self.health}{rev}"


class ArgoCD:
    """The running Argo CD of the sandbox. Get it from :func:`up` (or ``session.gitops()``).

    Attributes:
        kubeconfig: the control plane it acts on.
        namespace: where its settings and Applications live (``argocd``).
        reused: True when it was already running (started by an earlier kernel).
        started_seconds: how long the start-up took (0 when reused).
    """

    def __init__(self, state: Mapping[str, Any], *, reused: bool, started_seconds: float = 0.0) -> None:
        self._state = dict(state)
        self.kubeconfig: str = state["kubeconfig"]
        self.namespace: str = state["namespace"]
        self.reused = reused
        self.started_seconds = started_seconds

    @property
    def ports(self) -> dict[str, int]:
        return dict(self._state["ports"])

    @property
    def version(self) -> str:
        return str(self._state.get("argocd_version", ""))

    def components(self) -> list[dict[str, Any]]:
        """One row per process: name, pid, running, ready (what ``course sandbox status`` prints)."""
        return [
            {"component": e["name"], "pid": e["pid"], "running": _entry_alive(e), "ready": _entry_ready(e)}
            for e in self._state["components"]
        ]

    def healthy(self) -> bool:
        return all(_entry_ready(e) for e in self._state["components"])

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 30) -> str:
        """Run the course's kubectl against the sandbox (``kubectl --kubeconfig <sandbox> ...``)."""
        return _run_kubectl(self.kubeconfig, *args, stdin=stdin, timeout=timeout)

    def application(self, name: str) -> AppState:
        """The controller's view of Application ``name`` right now (``Unknown`` before its first comparison)."""
        raw = self.kubectl("-n", self.namespace, "get", "applications.argoproj.io", name, "-o", "json")
        status = json.loads(raw).get("status") or {}
        sync = status.get("sync") or {}
        return AppState(
            name,
            str(sync.get("status") or "Unknown"),
            str((status.get("health") or {}).get("status") or "Unknown"),
            str(sync.get("revision") or ""),
            str((status.get("operationState") or {}).get("phase") or ""),
        )

    def wait(
        self,
        name: str,
        *,
        sync: str | None = "Synced",
        health: str | None = None,
        revision: str | None = None,
        timeout: float = 60.0,
        interval: float = 0.25,
    ) -> tuple[float, AppState]:
        """Wait until Application ``name`` reports ``sync`` (and ``health``, and a revision starting with
        ``revision``); returns the seconds it took and the state.

        Raises:
            SandboxError: not reached within ``timeout`` (with the last state and the controller's last log lines).
        """
        start = time.monotonic()
        last: AppState | None = None
        while True:
            with contextlib.suppress(SandboxError):
                last = self.application(name)
                if (
                    (sync is None or last.sync == sync)
                    and (health is None or last.health == health)
                    and (revision is None or last.revision.startswith(revision))
                ):
                    return time.monotonic() - start, last
            if time.monotonic() - start >= timeout:
                log = proc.tail(Path(self._log("application-controller")), 8)
                raise SandboxError(
                    f"Application {name} did not reach sync={sync} health={health} revision={revision} within "
                    f"{timeout:.0f} s (last: {last}). Controller log:\n{log}",
                    hint="is the application controller running? `course sandbox status`",
                )
            time.sleep(interval)

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Ask for an immediate comparison with Git, as the UI's Refresh button or a Git webhook does
        (``kubectl annotate application NAME argocd.argoproj.io/refresh=normal``)."""
        self.kubectl("-n", self.namespace, "annotate", "--overwrite", "applications.argoproj.io", name,
                     f"argocd.argoproj.io/refresh={'hard' if hard else 'normal'}")  # fmt: skip

    def sync(self, name: str, *, prune: bool = False, revision: str = "") -> None:
        """Start a sync of Application ``name`` the way ``argocd app sync`` does: by setting its ``operation``.

        Like the CLI, it copies the Application's ``syncPolicy.syncOptions`` into the operation: the controller
        reads the options of a requested sync from the operation only (without ``CreateNamespace=true`` there, a
        manual sync into a missing namespace fails with ``namespaces "…" not found``).
        """
        raw = self.kubectl("-n", self.namespace, "get", "applications.argoproj.io", name, "-o", "json")
        options = ((json.loads(raw).get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []
        op: dict[str, Any] = {"initiatedBy": {"username": "course-learner"}, "sync": {"prune": prune}}
        if options:
            op["sync"]["syncOptions"] = list(options)
        if revision:
            op["sync"]["revision"] = revision
        self.kubectl("-n", self.namespace, "patch", "applications.argoproj.io", name, "--type", "merge", "-p",
                     json.dumps({"operation": op}))  # fmt: skip

    def register_cluster(
        self, name: str, *, labels: Mapping[str, str], kubeconfig: str | None = None
    ) -> dict[str, Any]:
        """Register a cluster the way ``argocd cluster add NAME --label k=v`` does: a Secret labelled
        ``argocd.argoproj.io/secret-type: cluster`` in ``argocd`` with its server, credentials and your labels.

        Without ``kubeconfig`` it is the sandbox itself (``https://kubernetes.default.svc``); with one (a second
        local control plane, :func:`course_lib.sandbox._controlplane.extra_cluster_up`) its loopback server and the
        client certificate from that kubeconfig. Applying it again with other labels relabels the cluster.
        """
        secret = cluster_secret(name, labels=labels, kubeconfig=kubeconfig, namespace=self.namespace)
        self.kubectl("apply", "-f", "-", stdin=json.dumps(secret))
        return secret

    def _log(self, component: str) -> str:
        for e in self._state["components"]:
            if e["name"] == component:
                return str(e["log"])
        raise KeyError(component)

    def log(self, component: str = "application-controller", lines: int = 20) -> str:
        """The last ``lines`` lines a component wrote."""
        return proc.tail(Path(self._log(component)), lines)

    def __repr__(self) -> str:
        names = ", ".join(e["name"] for e in self._state["components"])
        return f"ArgoCD({self.version or 'v3.2.11'} on the sandbox, namespace {self.namespace!r}: {names})"


def cluster_secret(
    name: str, *, labels: Mapping[str, str], kubeconfig: str | None = None, namespace: str = NAMESPACE
) -> dict[str, Any]:
    """The cluster Secret of :meth:`ArgoCD.register_cluster` (credentials from a local kubeconfig's files)."""
    import base64

    def b64(path: str) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    if kubeconfig is None:
        conf: dict[str, Any]
        server, conf = IN_CLUSTER, {"tlsClientConfig": {"insecure": False}}
    else:
        kc = yaml.safe_load(Path(kubeconfig).read_text())
        cluster, user = kc["clusters"][0]["cluster"], kc["users"][0]["user"]
        server = str(cluster["server"])
        conf = {
            "tlsClientConfig": {
                "caData": cluster.get("certificate-authority-data") or b64(cluster["certificate-authority"]),
                "certData": user.get("client-certificate-data") or b64(user["client-certificate"]),
                "keyData": user.get("client-key-data") or b64(user["client-key"]),
            }
        }
    if not server.startswith(("https://127.0.0.1:", IN_CLUSTER)):
        raise SandboxError(f"{server} is not on this machine", hint="the sandbox's Argo CD acts on loopback only")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{name}",
            "namespace": namespace,
            "labels": {"argocd.argoproj.io/secret-type": "cluster", **dict(labels)},
        },
        "type": "Opaque",
        "stringData": {"name": name, "server": server, "config": json.dumps(conf)},
    }


# ------------------------------------------------------------------------------------------- lifecycle


def fingerprint(kubeconfig: str) -> str:
    """A hash of the kubeconfig and the certificate files it names: a control plane started again at the same path
    has new certificates, and Argo CD's components (which keep the old ones) must be restarted for it."""
    import hashlib

    digest = hashlib.sha256()
    try:
        text = Path(kubeconfig).read_text()
        digest.update(text.encode())
        data = yaml.safe_load(text) or {}
        for entry in [*(data.get("clusters") or []), *(data.get("users") or [])]:
            for key in ("certificate-authority", "client-certificate", "client-key"):
                path = (entry.get("cluster") or entry.get("user") or {}).get(key)
                if path:
                    digest.update(Path(path).read_bytes())
    except (OSError, ValueError, AttributeError):
        return ""
    return digest.hexdigest()[:16]


def up(kubeconfig: str, *, namespace: str = NAMESPACE, timeout: float = 60.0) -> ArgoCD:
    """Start Argo CD against the sandbox control plane behind ``kubeconfig``, or reuse the healthy one.

    Raises:
        ToolMissingError: the ``argocd`` binary is not built or redis-server is not installed.
        SandboxError: a component did not become ready (with its last log lines); nothing is left running.
    """
    gaps = missing()
    if gaps:
        raise ToolMissingError(
            f"Argo CD on the sandbox needs {', '.join(gaps)}",
            hint="run `make setup` (redis-server) and `make tools` (builds argocd v3.2.11 from Go modules)",
        )
    with _locked():
        state = _read_state()
        if (
            state is not None
            and state.get("kubeconfig") == kubeconfig
            and state.get("fingerprint") == fingerprint(kubeconfig)  # not a control plane started again since
            and all(_entry_ready(e) for e in state["components"])
        ):
            _apply_settings(kubeconfig, namespace)  # a restarted control plane has lost them
            return ArgoCD(state, reused=True)
        _stop_recorded(state)
        return _start(kubeconfig, namespace, timeout=timeout)


def _start(kubeconfig: str, namespace: str, *, timeout: float) -> ArgoCD:
    begin = time.monotonic()
    deadline = begin + timeout
    _apply_settings(kubeconfig, namespace)
    ports: dict[str, int] = {}
    for name in PORT_NAMES:
        ports[name] = proc.free_port(exclude=set(ports.values()))
    root = config.state_dir() / "sandbox-argocd"
    root.mkdir(parents=True, exist_ok=True)
    workdir = root / f"run-{config.new_run_id()}"
    workdir.mkdir()
    started: list[tuple[_Component, proc.Spawned]] = []
    try:
        for comp in _components(workdir, kubeconfig, namespace, ports):
            sp = proc.spawn(comp.name, comp.argv, log=workdir / "logs" / f"{comp.name}.log", cwd=workdir,
                            env=comp.env)  # fmt: skip
            started.append((comp, sp))
            if comp.name == "redis":  # the others connect to it at start
                _wait_ready(comp, sp, deadline, timeout)
        for comp, sp in started[1:]:
            _wait_ready(comp, sp, deadline, timeout)
        state = {
            "version": STATE_VERSION,
            "owner_pid": os.getpid(),
            "started_at": time.time(),
            "workdir": str(workdir),
            "kubeconfig": kubeconfig,
            "fingerprint": fingerprint(kubeconfig),
            "namespace": namespace,
            "ports": ports,
            "argocd_version": _version(),
            "components": [
                {"name": c.name, "pid": sp.pid, "start_time": sp.start_time, "log": str(sp.log), "ready": c.ready}
                for c, sp in started
            ],
        }
        _write_state(state)
        proc.committed([sp.pid for _, sp in started])
        return ArgoCD(state, reused=False, started_seconds=time.monotonic() - begin)
    except BaseException:
        for _, sp in reversed(started):
            proc.stop(sp.pid, sp.start_time, timeout=3.0)
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _wait_ready(comp: _Component, sp: proc.Spawned, deadline: float, timeout: float) -> None:
    while not _ready(comp):
        if not proc.is_running(sp.pid):
            raise _start_error(comp, sp, "exited during start-up")
        if time.monotonic() >= deadline:
            raise _start_error(comp, sp, f"was not ready within {timeout:.0f} s")
        time.sleep(0.1)


def _start_error(comp: _Component, sp: proc.Spawned, what: str) -> SandboxError:
    return SandboxError(
        f"Argo CD's {comp.name} {what}. Its last log lines:\n{proc.tail(sp.log) or '(no output)'}",
        hint="read the log lines above; `course sandbox down` cleans up",
        service=comp.name,
    )


def _version() -> str:
    argocd = binary()
    if not argocd:
        return ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([argocd, "version", "--client", "--short"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().split()[-1] if out.stdout.strip() else ""
    return ""


def current() -> ArgoCD | None:
    """The recorded Argo CD (whether or not it is healthy), or ``None``."""
    state = _read_state()
    return ArgoCD(state, reused=True) if state else None


def down(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop every recorded Argo CD process (and marked leftovers); returns the names stopped."""
    with _locked():
        return _stop_recorded(_read_state(), timeout=timeout)


def stop_component(name: str, *, timeout: float = 5.0) -> bool:
    """Stop one component (e.g. ``"application-controller"``) and leave the others running: tests and the
    notebook show that nothing syncs without it. ``up()`` starts it again (it restarts the whole set)."""
    with _locked():
        state = _read_state()
        for entry in (state or {}).get("components", []):
            if entry["name"] == name:
                return proc.stop(int(entry["pid"]), entry.get("start_time"), timeout=timeout)
    return False


def status() -> dict[str, Any]:
    """What is recorded and whether each component runs and answers (changes nothing)."""
    state = _read_state()
    if state is None:
        return {"recorded": False, "available": available(), "missing": missing(), "components": []}
    handle = ArgoCD(state, reused=True)
    rows = handle.components()
    return {
        "recorded": True,
        "healthy": all(r["ready"] for r in rows),
        "version": handle.version,
        "namespace": handle.namespace,
        "components": rows,
    }


def status_lines(info: Mapping[str, Any]) -> list[str]:
    """The lines ``course sandbox status`` prints for Argo CD."""
    if not info.get("recorded"):
        return ["argocd         not running (started on demand by session.gitops())"]
    lines = []
    for row in info["components"]:
        health = "healthy" if row["ready"] else ("not answering" if row["running"] else "not running")
        lines.append(f"argocd-{row['component']:<26} pid {row['pid']:<8} {health}")
    return lines


__all__ = [
    "APPLICATION_HEALTH_LUA",
    "AppState",
    "ArgoCD",
    "COMPONENTS",
    "IN_CLUSTER",
    "NAMESPACE",
    "available",
    "cluster_secret",
    "current",
    "down",
    "missing",
    "settings_objects",
    "state_file",
    "status",
    "stop_component",
    "up",
]
