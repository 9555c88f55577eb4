"""Sandbox processes started on demand, after the stack: a named *group* of children (e.g. Traefik and the two
checkout backends it routes to), recorded next to the stack's state file and stopped by the same ``down``.

A group is started with :func:`start_group` (or reused when every child still runs and its recorded inputs match),
stopped with :func:`stop_group`, and :func:`stop_all` is what :func:`course_lib.sandbox.down` calls first. The
children are spawned, identified (pid + start time) and stopped (process group, TERM → deadline → KILL) by
:mod:`._process` exactly like the stack's; their environment carries ``COURSE_SANDBOX_STATE=<this state file>``,
so ``down`` also finds those of a kernel that died between spawning and recording them. The marker differs from
the stack's on purpose: restarting the stack (``up(backfill_hours=...)``) leaves a running Traefik alone.

Used in: :func:`course_lib.sandbox.traefik_up` (notebook 04) and :func:`course_lib.sandbox.sealed_secrets_up`
(notebook 02).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..errors import SandboxError
from . import _process as proc

STATE_VERSION = 1


@dataclass(frozen=True)
class Child:
    """One process of a group: its command line and the URL that answers 2xx once it is ready.

    ``ready_tls_verify=False``: the ``https://`` ready URL is served with a certificate the child makes itself, so
    it is probed like the kubelet probes HTTPS, without checking the certificate (:func:`._process.http_ok`).
    """

    name: str
    argv: list[str]
    ready_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    ready_tls_verify: bool = True


@dataclass(frozen=True)
class OnStop:
    """What a group leaves in the API server and must take away when it stops: ``kubectl`` argument lists run
    against ``kubeconfig`` after its children are stopped (e.g. Kyverno's webhook configurations, which would
    otherwise point the API server at a port nobody listens on). Recorded with the group, so ``down`` runs them
    too; a group stopped with ``cleanup=False`` (a crash, as a drill shows it) leaves them in place."""

    kubeconfig: str
    kubectl: tuple[tuple[str, ...], ...]


def state_file() -> Path:
    """Where the on-demand groups are recorded (next to the stack's ``sandbox.json``)."""
    return config.state_dir() / "sandbox-ondemand.json"


def _read() -> dict[str, Any]:
    from ._process import StateFile

    return StateFile(state_file(), version=STATE_VERSION).read() or {"version": STATE_VERSION, "groups": {}}


def _write(data: dict[str, Any]) -> None:
    from ._process import StateFile

    if not data["groups"]:
        state_file().unlink(missing_ok=True)
        return
    StateFile(state_file(), version=STATE_VERSION).write(data)


def workdir(group: str) -> Path:
    """The group's directory for configuration and logs (deleted when the group stops)."""
    return config.state_dir() / "sandbox-ondemand" / group


def recorded(group: str) -> dict[str, Any] | None:
    """The recorded entry of a group (``inputs``, ``endpoints``, ``children``), or None."""
    entry = _read()["groups"].get(group)
    return dict(entry) if isinstance(entry, dict) else None


def alive(entry: Mapping[str, Any]) -> bool:
    """True when every child of a recorded group still runs (same pid, same start time)."""
    return bool(entry.get("children")) and all(
        proc.is_running(int(c["pid"]), c.get("start_time")) for c in entry["children"]
    )


def running(group: str) -> dict[str, Any] | None:
    """The recorded entry of a group whose every child still runs, or None (changes nothing)."""
    entry = recorded(group)
    return entry if entry is not None and alive(entry) else None


def reusable(group: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The recorded group when it was started with the same ``inputs`` and every child runs and answers."""
    current = recorded(group)
    if current is None or current.get("inputs") != dict(inputs) or not alive(current):
        return None
    return current if all(_ready(c, timeout=2.0) for c in current["children"]) else None


def _ready(child: Mapping[str, Any], *, timeout: float) -> bool:
    return proc.http_ok(child["ready_url"], timeout=timeout, verify_tls=child.get("ready_tls_verify", True))


def start_group(
    group: str,
    children: Sequence[Child],
    *,
    inputs: Mapping[str, Any],
    endpoints: Mapping[str, Any],
    timeout: float,
    before_ready: Callable[[], None] | None = None,
    scrape_configs: Sequence[Mapping[str, Any]] = (),
    on_stop: OnStop | None = None,
) -> tuple[dict[str, Any], bool]:
    """Start ``children`` as ``group``, or reuse the recorded group when it runs with the same ``inputs``.

    Must be called under the sandbox lock (:func:`course_lib.sandbox._stack._locked`). ``before_ready`` runs after
    spawning (e.g. to apply objects the children read). ``scrape_configs`` are Prometheus jobs for the group's
    metrics: the sandbox's Prometheus scrapes them while the group runs (:func:`scrape_configs`). ``on_stop``:
    what :func:`stop_group` removes from the API server after stopping the children. Returns ``(entry, reused)``.

    Raises:
        SandboxError: a child exited or was not ready within ``timeout`` (its last log lines); nothing of the
            group is left running.
    """
    current = reusable(group, inputs)
    if current is not None:
        return current, True
    stop_group(group)
    deadline = time.monotonic() + timeout
    wd = workdir(group)
    wd.mkdir(parents=True, exist_ok=True)
    marker = {"COURSE_SANDBOX_STATE": str(state_file())}
    started: list[tuple[Child, proc.Spawned]] = []
    try:
        for child in children:
            env = {**os.environ, **child.env, **marker}
            started.append((child, proc.spawn(child.name, child.argv, log=wd / "logs" / f"{child.name}.log", env=env)))
        if before_ready is not None:
            before_ready()
        pending = list(started)
        while pending:
            for child, sp in list(pending):
                if not proc.is_running(sp.pid):
                    raise _error(group, child, sp, "exited during start-up", timeout)
                if proc.http_ok(child.ready_url, timeout=0.5, verify_tls=child.ready_tls_verify):
                    pending.remove((child, sp))
            if pending and time.monotonic() >= deadline:
                raise _error(group, pending[0][0], pending[0][1], f"was not ready within {timeout:.0f} s", timeout)
            if pending:
                time.sleep(0.05)
        entry = {
            "inputs": dict(inputs),
            "endpoints": dict(endpoints),
            "started_at": time.time(),
            "workdir": str(wd),
            "scrape_configs": [dict(j) for j in scrape_configs],
            "on_stop": (
                {"kubeconfig": on_stop.kubeconfig, "kubectl": [list(a) for a in on_stop.kubectl]} if on_stop else None
            ),
            "children": [
                {
                    "name": c.name,
                    "pid": sp.pid,
                    "start_time": sp.start_time,
                    "ready_url": c.ready_url,
                    "ready_tls_verify": c.ready_tls_verify,
                    "log": str(sp.log),
                }
                for c, sp in started
            ],
        }
        data = _read()
        data["groups"][group] = entry
        _write(data)
        proc.committed([sp.pid for _, sp in started])
        return entry, False
    except BaseException:
        for _, sp in reversed(started):
            proc.stop(sp.pid, sp.start_time, timeout=3.0)
        raise


def _error(group: str, child: Child, sp: proc.Spawned, what: str, timeout: float) -> SandboxError:
    return SandboxError(
        f"sandbox {group}: {child.name} {what}. Its last log lines:\n{proc.tail(sp.log) or '(no output)'}",
        hint="read the log lines above; `course sandbox down` cleans up, then try again",
        service=child.name,
        timeout=timeout,
    )


def scrape_configs() -> list[dict[str, Any]]:
    """The Prometheus jobs of every recorded group whose children all run (the stack's Prometheus adds them)."""
    jobs: list[dict[str, Any]] = []
    for entry in _read()["groups"].values():
        if alive(entry):
            jobs += [dict(j) for j in entry.get("scrape_configs", [])]
    return jobs


def stop_group(group: str, *, timeout: float = 5.0, cleanup: bool = True) -> tuple[str, ...]:
    """Stop one group's children (reverse start order), run its recorded :class:`OnStop` commands (unless
    ``cleanup=False``) and delete its directory. Safe when it does not run."""
    data = _read()
    entry = data["groups"].pop(group, None)
    stopped: list[str] = []
    if isinstance(entry, dict):
        for child in reversed(entry.get("children", [])):
            if proc.stop(int(child["pid"]), child.get("start_time"), timeout=timeout):
                stopped.append(child["name"])
        if cleanup and entry.get("on_stop"):
            stopped += _run_on_stop(entry["on_stop"])
    _write(data)
    shutil.rmtree(workdir(group), ignore_errors=True)
    return tuple(stopped)


def _run_on_stop(spec: Mapping[str, Any]) -> list[str]:
    """Run a stopped group's recorded kubectl commands; a failure (API server already gone) is not an error:
    with the control plane its objects go too."""
    import subprocess

    from .. import tools

    kubectl = tools.find("kubectl")
    if kubectl is None or not Path(str(spec.get("kubeconfig", ""))).is_file():
        return []
    done: list[str] = []
    for args in spec.get("kubectl") or []:
        try:
            result = subprocess.run(
                [kubectl, "--kubeconfig", str(spec["kubeconfig"]), "--request-timeout=10s", *args],
                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0:
            done.append(f"kubectl {' '.join(args[:2])}")
    return done


def stop_all(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop every group, then any process still carrying this state file's marker (a crashed start-up)."""
    from ._process import marked_pids

    stopped: list[str] = []
    for group in list(_read()["groups"]):
        stopped += stop_group(group, timeout=timeout)
    for pid in marked_pids(str(state_file())):
        if proc.stop(pid, None, timeout=timeout):
            stopped.append(f"pid {pid}")
    shutil.rmtree(config.state_dir() / "sandbox-ondemand", ignore_errors=True)
    state_file().unlink(missing_ok=True)
    return tuple(stopped)


def statuses() -> list[tuple[str, str, int, bool, bool]]:
    """``(group, child, pid, running, ready)`` for every recorded child (changes nothing)."""
    rows = []
    for group, entry in _read()["groups"].items():
        for c in entry.get("children", []):
            running = proc.is_running(int(c["pid"]), c.get("start_time"))
            rows.append((group, c["name"], int(c["pid"]), running, running and _ready(c, timeout=1.0)))
    return rows


__all__ = [
    "Child",
    "OnStop",
    "alive",
    "recorded",
    "scrape_configs",
    "reusable",
    "start_group",
    "state_file",
    "statuses",
    "stop_all",
    "stop_group",
    "workdir",
]
