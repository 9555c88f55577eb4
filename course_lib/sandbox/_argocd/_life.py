"""Starting, checking and stopping Argo CD on the sandbox (see :mod:`course_lib.sandbox._argocd`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ... import config
from ...errors import CourseError, SandboxError, ToolMissingError
from .. import _process as proc
from . import _base
from ._base import (
    NAMESPACE,
    STATE_VERSION,
    _apply_settings,
    _locked,
    _read_state,
    _write_state,
    available,
    missing,
)
from ._components import (
    PORT_NAMES,
    _Component,
    _components,
    _entry_ready,
    _ready,
    _stop_recorded,
)
from ._handle import (
    ArgoCD,
)

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
    _install_crds(kubeconfig)
    _apply_settings(kubeconfig, namespace)
    ports: dict[str, int] = {}
    for name in PORT_NAMES:
        ports[name] = proc.free_port(exclude=set(ports.values()))
    root = config.state_dir() / "sandbox-argocd"
    root.mkdir(parents=True, exist_ok=True)
    workdir = root / f"run-{config.new_run_id()}"
    workdir.mkdir()
    started: list[tuple[_Component, proc.Spawned]] = []
    priming = _prime_in_background(kubeconfig)
    try:
        for comp in _components(workdir, kubeconfig, namespace, ports):
            sp = proc.spawn(comp.name, comp.argv, log=workdir / "logs" / f"{comp.name}.log", cwd=workdir,
                            env=comp.env)  # fmt: skip
            started.append((comp, sp))
            if comp.name == "redis":  # the others connect to it at start
                _wait_ready(comp, sp, deadline, timeout)
        for comp, sp in started[1:]:
            _wait_ready(comp, sp, deadline, timeout)
        priming.join(max(0.0, deadline - time.monotonic()))
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


def _install_crds(kubeconfig: str) -> None:
    """Argo CD's own CRDs: a part that runs no Argo CD gets a control plane without them
    (``sandbox._services.SERVICE_CRDS``), and Argo CD's controllers watch their kinds from the start. The other
    projects' CRDs are the session's to install, as the part needs them (``sandbox._services.idle_crd_projects``)."""
    from ...cluster import connect
    from .. import _crds

    with connect("sandbox", kubeconfig=kubeconfig) as cluster:
        _crds.install(cluster, only=("Argo CD",))


def _prime_in_background(kubeconfig: str) -> threading.Thread:
    """Prime the API server (:func:`course_lib.sandbox.crds.prime`) while the components start: the application
    controller's first cluster-cache sync lists every resource type, and without this the learner's first sync
    waits for the server to build the handlers of all 40 upstream CRDs (benchmarks/argocd_sandbox.py)."""

    def run() -> None:
        from ...cluster import connect
        from .. import _crds

        with contextlib.suppress(CourseError), connect("sandbox", kubeconfig=kubeconfig) as cluster:
            _crds.prime(cluster, exclude=_base.EXCLUSIONS)

    thread = threading.Thread(target=run, name="argocd-prime", daemon=True)
    thread.start()
    return thread


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
    argocd = _base.binary()
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
