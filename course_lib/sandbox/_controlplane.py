"""A real Kubernetes control plane for the sandbox: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (simulated nodes and pod status), started by ``kwokctl`` with local binaries.

Every binary is built from Go modules by ``make tools``; kwokctl's binary runtime symlinks local paths and
downloads nothing. Everything binds 127.0.0.1. The kubeconfig is written inside the sandbox's state
directory — a learner's ``~/.kube/config`` is never touched.

Used in: notebooks 02, 04–10 (deploy cells on the sandbox), ``course sandbox up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import tools
from ..errors import SandboxError, ToolMissingError
from . import _process

CLUSTER_NAME = "course-sandbox"
#: binaries kwokctl needs, by its option name
_BINARIES = {
    "etcdBinary": "etcd",
    "kubeApiserverBinary": "kube-apiserver",
    "kubeControllerManagerBinary": "kube-controller-manager",
    "kubeSchedulerBinary": "kube-scheduler",
    "kwokControllerBinary": "kwok",
    "kubectlBinary": "kubectl",
}


@dataclass(frozen=True)
class ControlPlane:
    """A running local control plane."""

    name: str
    workdir: str
    kubeconfig: str
    server: str
    nodes: int

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "workdir", "kubeconfig", "server", "nodes")}


#: Go's soft memory limit for the control plane's processes (see :func:`_env`).
CONTROL_PLANE_GOMEMLIMIT = "600MiB"


def _which(name: str) -> str | None:
    return tools.find(name)


def missing_binaries() -> list[str]:
    """Names of the control-plane programs that are not built yet (empty when all are there)."""
    return [b for b in ("kwokctl", *_BINARIES.values()) if _which(b) is None]


def available() -> bool:
    """True when every control-plane program is built (``make tools``)."""
    return not missing_binaries()


def _env(workdir: Path) -> dict[str, str]:
    kubectl = _which("kubectl")
    path = os.environ.get("PATH", "")
    if kubectl:
        path = f"{Path(kubectl).parent}{os.pathsep}{path}"
    # A soft memory limit for the Go runtime of every control-plane process (they inherit kwokctl's environment).
    # The kube-apiserver holding upstream's CRDs, idle (benchmarks/controlplane_gc.py, 2026-12-03): no limit 719 MiB
    # resident at 3.1 % of a core; 600MiB 651 MiB, 3.4 %; 450MiB 519 MiB, 3.4 %; 300MiB 492 MiB but 73.9 % of a core,
    # because that limit is below what the collector needs (live heap plus runtime), so it collects back to back.
    # That idle server had built the handlers of few CRDs. A controller that lists every type (Argo CD's cluster
    # cache, or crds.prime before it) makes it build all of them: its live heap grows to 350-450 MiB, and under
    # 450MiB the idle server then burnt 188 % of a core (2026-12-04, Argo CD with one synced Application, 30 s:
    # 601 MiB PSS); under 600MiB 3.1 % at 656 MiB, under 700MiB 1.9 % at 750 MiB. 600MiB: the smallest limit
    # measured without the storm. A limit the learner set wins.
    # GOGC as for every Go program the course starts (tools.GO_GC_PERCENT).
    limit = {"GOMEMLIMIT": os.environ.get("GOMEMLIMIT", CONTROL_PLANE_GOMEMLIMIT)}
    return {**tools.go_env(), **limit, "KWOK_WORKDIR": str(workdir), "PATH": path}


def _kwokctl(
    workdir: Path, *args: str, timeout: float = 120, name: str = CLUSTER_NAME
) -> subprocess.CompletedProcess[str]:
    kwokctl = _which("kwokctl")
    if kwokctl is None:
        raise ToolMissingError("kwokctl is not built", hint="run `make tools` (builds it from Go modules)")
    cmd = [kwokctl, "--name", name, *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_env(workdir), stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(
            f"kwokctl {args[0]} did not finish within {timeout:.0f} s",
            hint="see the component logs with `course sandbox status`, or `course sandbox down` and try again",
            command=" ".join(["kwokctl", *args]),
        ) from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise SandboxError(
            f"kwokctl {' '.join(args[:2])} failed (exit {proc.returncode}):\n{tail}",
            hint="run `course sandbox down` to clean up, then `course sandbox up` again",
        )
    return proc


def _config(workdir: Path) -> Path:
    import yaml

    options: dict[str, Any] = {"runtime": "binary", "bindAddress": "127.0.0.1", "disableQPSLimits": True}
    for option, name in _BINARIES.items():
        binary = _which(name)
        assert binary is not None  # checked by start_control_plane
        options[option] = binary
    conf = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": options,
    }
    path = workdir / "kwokctl.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    return path


def start_control_plane(
    workdir: Path, *, nodes: int = 3, timeout: float = 90, name: str = CLUSTER_NAME
) -> ControlPlane:
    """Create the control plane with ``nodes`` simulated nodes and wait until they are Ready.

    Raises:
        ToolMissingError: a control-plane program is not built (names them and ``make tools``).
        SandboxError: kwokctl failed; everything it started is deleted again.
    """
    if not 1 <= nodes <= 50:
        raise SandboxError(f"nodes must be between 1 and 50, got {nodes}", hint="the sandbox simulates 1–50 nodes")
    missing = missing_binaries()
    if missing:
        raise ToolMissingError(
            f"the sandbox control plane needs {', '.join(missing)}",
            hint="run `make tools` once (builds them from Go modules into ~/.cache/course-lib/tools)",
        )
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = workdir / "kubeconfig.yaml"
    conf = _config(workdir)
    try:
        _kwokctl(
            workdir,
            "create",
            "cluster",
            "--config",
            str(conf),
            "--kubeconfig",
            str(kubeconfig),
            "--wait",
            f"{int(timeout)}s",
            "--timeout",
            f"{int(timeout)}s",
            timeout=timeout + 30,
            name=name,
        )
        _kwokctl(workdir, "scale", "node", "--replicas", str(nodes), timeout=60, name=name)
        server = _server(kubeconfig)
        _wait_nodes_ready(kubeconfig, nodes, deadline=time.monotonic() + timeout)
    except BaseException:
        stop_control_plane(workdir, name=name)
        raise
    return ControlPlane(name, str(workdir), str(kubeconfig), server, nodes)


def _server(kubeconfig: Path) -> str:
    import yaml

    data = yaml.safe_load(kubeconfig.read_text())
    server: str = data["clusters"][0]["cluster"]["server"]
    return server


def _wait_nodes_ready(kubeconfig: Path, nodes: int, *, deadline: float) -> None:
    kubectl = _which("kubectl")
    assert kubectl
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "nodes", "-o",
             "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{' '}{end}"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        last = proc.stdout.strip() or proc.stderr.strip()
        if proc.returncode == 0 and last.split().count("True") >= nodes:
            return
        time.sleep(0.5)
    raise SandboxError(
        f"the simulated nodes did not become Ready in time (last: {last[:200]!r})",
        hint="check `kubectl --kubeconfig <sandbox kubeconfig> get nodes`; then `course sandbox down` and up again",
    )


def stop_control_plane(workdir: Path, *, name: str = CLUSTER_NAME) -> None:
    """Delete the control plane (stops every process kwokctl started). Safe to call twice."""
    if not (workdir / "clusters" / name).exists():
        return
    with contextlib.suppress(SandboxError, ToolMissingError):
        _kwokctl(workdir, "delete", "cluster", timeout=60, name=name)
    _process.reap_exited()
    shutil.rmtree(workdir / "clusters" / name, ignore_errors=True)


def control_plane_healthy(cp: ControlPlane) -> bool:
    """True when the API server answers ``/readyz``."""
    kubectl = _which("kubectl")
    if not kubectl or not Path(cp.kubeconfig).exists():
        return False
    proc = subprocess.run(
        [kubectl, "--kubeconfig", cp.kubeconfig, "get", "--raw", "/readyz"],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


# --- lifecycle shared by notebooks, kernels and the CLI ------------------------------------------


def _root() -> Path:
    from .. import config

    return config.state_dir() / "sandbox-cluster"


def _state_path() -> Path:
    return _root() / "state.json"


def _locked() -> contextlib.AbstractContextManager[None]:
    return _process.StateFile(_state_path(), lock=_root() / "lock").locked()


def _read() -> ControlPlane | None:
    try:
        data = json.loads(_state_path().read_text())
        return ControlPlane(**data)
    except (OSError, ValueError, TypeError):
        return None


def cluster_up(*, nodes: int = 3, timeout: float = 90) -> ControlPlane:
    """Start the sandbox's Kubernetes control plane, or reuse the healthy one (across kernels).

    Example:
        >>> cp = cluster_up(nodes=3)        # doctest: +SKIP
        >>> cp.kubeconfig                   # doctest: +SKIP
        '/root/.local/state/course-lib/sandbox-cluster/kubeconfig.yaml'

    Used in: ``course_lib.cluster.connect("sandbox")``, ``course sandbox up``.
    """
    with _locked():
        current = _read()
        if current is not None and current.nodes >= nodes and control_plane_healthy(current):
            return current
        stop_control_plane(_root())
        _state_path().unlink(missing_ok=True)
        cp = start_control_plane(_root(), nodes=nodes, timeout=timeout)
        _state_path().write_text(json.dumps(cp.to_dict(), indent=2))
        return cp


def cluster_down() -> bool:
    """Stop the sandbox control plane; True when one was recorded. Safe to call when none runs."""
    with _locked():
        recorded = _read() is not None
        stop_control_plane(_root())
        _state_path().unlink(missing_ok=True)
        return recorded


@dataclass(frozen=True)
class _Component:
    """One running control-plane process as kwokctl's binary runtime started it: what to run it again with."""

    name: str
    pid: int
    argv: list[str]
    env: dict[str, str]
    cwd: str


def _components(cluster: Path) -> dict[str, _Component]:
    """The live components of the kwokctl cluster folder ``cluster``, from its pid files and ``/proc``."""
    found = {}
    for pid_file in sorted((cluster / "pids").glob("*.pid")):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            proc = Path("/proc", str(pid))
            argv = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
            if not argv or not _process.is_running(pid):
                continue
            env = dict(
                item.decode().split("=", 1) for item in (proc / "environ").read_bytes().split(b"\0") if b"=" in item
            )
            found[pid_file.stem] = _Component(pid_file.stem, pid, argv, env, os.readlink(proc / "cwd"))
    return found


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop_component(component: _Component, *, timeout: float, port: int | None = None) -> None:
    """SIGTERM; SIGKILL once it no longer listens on ``port`` (when given) or after ``timeout`` seconds.

    A kube-apiserver stops listening within about 1.5 s of SIGTERM but then did not exit for over 20 s (measured
    with Argo CD's watches open): it serves nothing more by then, and what it wrote is in etcd, so killing it then
    loses nothing. kwokctl starts each component in a session of its own, so its pid is its process group."""
    closed = None if port is None else (lambda: not _listening(port))
    _process.stop(component.pid, None, timeout=timeout, done=closed)


def _start_component(cluster: Path, component: _Component) -> None:
    """Start ``component`` again as kwokctl's binary runtime does: its own session, output appended to its log,
    its pid in ``pids/<name>.pid`` (what ``kwokctl delete cluster`` stops)."""
    spawned = _process.spawn(
        component.name,
        component.argv,
        log=cluster / "logs" / f"{component.name}.log",
        cwd=Path(component.cwd),
        env=component.env,
    )
    _process.committed([spawned.pid])
    (cluster / "pids" / f"{component.name}.pid").write_text(str(spawned.pid))


def cluster_restart(*, timeout: float = 90) -> bool:
    """Restart the sandbox's kube-apiserver in place, on the same port, certificates and flags; etcd and the other
    components keep running, and every client reconnects by itself. A controller-manager or scheduler that lost its
    leader lease meanwhile (and exited, as they do) is started again. True when one was restarted; False when none
    is recorded or it does not answer.

    What it is for: a running kube-apiserver keeps the memory of a CRD after the CRD is deleted (measured: Argo CD's
    three, 274 MiB, stayed in use 60 s after their deletion); a server started again builds only the CRDs there
    are. Why not ``kwokctl stop cluster`` + ``start cluster``: that restarts etcd too, and on the test suite's
    long-lived sandbox the cluster then did not serve within 90 s. Used in: ``sandbox._services.release_crds``.

    Raises:
        SandboxError: the API server did not answer within ``timeout`` (the message says where its log is).
    """
    with _locked():
        cp = _read()
        if cp is None or not control_plane_healthy(cp):
            return False
        cluster = _root() / "clusters" / cp.name
        before = _components(cluster)
        if "kube-apiserver" not in before:
            return False
        port = urllib.parse.urlsplit(cp.server).port
        _stop_component(before["kube-apiserver"], timeout=10, port=port)
        _start_component(cluster, before["kube-apiserver"])
        deadline = time.monotonic() + timeout
        if not _process.wait_until(lambda: control_plane_healthy(cp), deadline=deadline, interval=0.2):
            log = cluster / "logs" / "kube-apiserver.log"
            raise SandboxError(
                f"the sandbox's API server did not answer within {timeout:.0f} s of its restart; the end of its"
                f" log ({log}):\n{_process.tail(log, 12)}",
                hint="`course sandbox down`, then start the part again",
            )
        after = _components(cluster)
        for name, component in before.items():
            if name not in after:
                _process.reap(component.pid)  # a zombie has no command line: _components skipped it unreaped
                _start_component(cluster, component)
        _wait_nodes_ready(Path(cp.kubeconfig), cp.nodes, deadline=deadline)
        return True


def cluster_status() -> dict[str, Any]:
    """What is recorded and whether the API server answers (changes nothing)."""
    cp = _read()
    if cp is None:
        return {"recorded": False, "healthy": False, "available": available(), "missing": missing_binaries()}
    return {"recorded": True, "healthy": control_plane_healthy(cp), **cp.to_dict()}


# --- more local clusters (Part 9: a second region beside the sandbox's own) ------------------------------------


def _extra_root(region: str) -> Path:
    from .. import config

    return config.state_dir() / f"sandbox-cluster-{region}"


def extra_cluster_up(region: str, *, nodes: int = 1, timeout: float = 90) -> ControlPlane:
    """A second local control plane (own etcd, kube-apiserver, controller-manager, scheduler and kwok nodes, on
    127.0.0.1), named after a region, e.g. ``fra1`` beside the sandbox's own; reused when healthy. ``course sandbox
    down`` stops it with the rest.

    Used in: notebook 09 (an ApplicationSet fanning out to two clusters).
    """
    from .. import config

    config.validate_name(region, what="region", max_len=20)
    root = _extra_root(region)
    name = f"course-{region}"
    with _locked():
        try:
            current: ControlPlane | None = ControlPlane(**json.loads((root / "state.json").read_text()))
        except (OSError, ValueError, TypeError):
            current = None
        if current is not None and control_plane_healthy(current):
            return current
        stop_control_plane(root, name=name)
        cp = start_control_plane(root, nodes=nodes, timeout=timeout, name=name)
        (root / "state.json").write_text(json.dumps(cp.to_dict(), indent=2))
        return cp


def extra_clusters_down() -> tuple[str, ...]:
    """Stop every extra local control plane; returns their names."""
    from .. import config

    stopped = []
    with _locked():
        for root in sorted(config.state_dir().glob("sandbox-cluster-*")):
            region = root.name.removeprefix("sandbox-cluster-")
            if (root / "clusters").exists():
                stop_control_plane(root, name=f"course-{region}")
                stopped.append(f"control-plane-{region}")
            shutil.rmtree(root, ignore_errors=True)
    return tuple(stopped)


__all__ = [
    "CLUSTER_NAME",
    "extra_cluster_up",
    "extra_clusters_down",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "ControlPlane",
    "available",
    "control_plane_healthy",
    "missing_binaries",
    "start_control_plane",
    "stop_control_plane",
]
