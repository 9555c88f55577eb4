"""Argo CD's components as sandbox processes: Redis and the three controllers, their command lines, readiness and stopping (see :mod:`course_lib.sandbox._argocd`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import config
from .. import _process as proc
from . import _base
from ._base import (
    APP_RESYNC_SECONDS,
    ARGOCD_GOMEMLIMIT,
    DEAD_PROXY,
    state_file,
)

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
    argocd = _base.binary()
    redis = shutil.which("redis-server")
    assert argocd and redis  # checked by up()
    bindir = _base._shims(workdir)
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
    from .._process import MARKER_ENV

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
    from .._process import marked_pids

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
