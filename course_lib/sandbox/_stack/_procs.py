"""The stack's processes as recorded: alive, healthy, stopped; ``down()`` for the whole sandbox and the isolated state folders (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ... import config
from .. import _process as proc
from ._records import (
    ServiceStatus,
    StackStatus,
    _locked,
    _read_state,
    state_file,
)

# --- lifecycle ----------------------------------------------------------------------------------


def _service_alive(entry: Mapping[str, Any]) -> bool:
    return proc.is_running(int(entry["pid"]), entry.get("start_time"))


def _service_healthy(entry: Mapping[str, Any]) -> bool:
    """Alive and answering; a background service only has to be alive: it may still be starting."""
    if not entry.get("blocking", True):
        return _service_alive(entry)
    return _service_alive(entry) and proc.http_ok(entry["url"] + entry["health_path"], timeout=2.0)


def _stop_recorded(state: Mapping[str, Any] | None, *, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop every process of a recorded stack (reverse order), any marked leftovers, and remove its files."""
    stopped: list[str] = []
    if state:
        for entry in reversed(state.get("services", [])):
            if proc.stop(int(entry["pid"]), entry.get("start_time"), timeout=timeout):
                stopped.append(entry["name"])
    for pid in proc.marked_pids(str(state_file())):
        if proc.stop(pid, None, timeout=timeout):
            stopped.append(f"pid {pid}")
    if state and state.get("workdir"):
        shutil.rmtree(state["workdir"], ignore_errors=True)
    # work dirs of start-ups whose owner died half-way (their processes were found by the marker above)
    for leftover in (config.state_dir() / "sandbox").glob("run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    return tuple(stopped)


def status() -> StackStatus:
    """Report each recorded service: pid, URL, running, healthy (does not change anything).

    Example:
        >>> print(status().table())  # doctest: +SKIP

    Used in: notebook 03 and ``course sandbox status``.
    """
    state = _read_state()
    if state is None:
        return StackStatus(services=(), state_file=str(state_file()), recorded=False)
    services = []
    for entry in state["services"]:
        alive = _service_alive(entry)
        healthy = alive and proc.http_ok(entry["url"] + entry["health_path"], timeout=2.0)
        required = bool(entry.get("blocking", True))
        services.append(ServiceStatus(entry["name"], int(entry["pid"]), entry["url"], alive, healthy, required))
    return StackStatus(services=tuple(services), state_file=str(state_file()), recorded=True)


def stop_stack(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop the stack's services only (the control plane keeps running); returns the names stopped.

    Used by :meth:`course_lib.session.Session.close` for a stack that session started.
    """
    with _locked():
        return _stop_recorded(_read_state(), timeout=timeout)


def down(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop what was started on demand (Traefik and its backends, Argo CD), the sandbox PostgreSQL service, the
    sandbox stack (reverse start order, SIGTERM → ``timeout`` → SIGKILL), extra control planes and the sandbox's
    Kubernetes control plane if they run, and delete their files.

    Safe to call when nothing runs; also stops children of a crashed kernel. Returns the names stopped.

    Used in: notebook 03 (Cost & cleanup) and ``course sandbox down``.
    """
    from .. import _ondemand
    from .._argocd import down as argocd_down
    from .._controlplane import cluster_down, extra_clusters_down
    from .._postgres import down as postgres_down

    with _locked():
        stopped = _ondemand.stop_all(timeout=timeout)
    stopped = (
        *stopped,
        *argocd_down(timeout=timeout),
        *postgres_down(),
        *stop_stack(timeout=timeout),
        *extra_clusters_down(),
    )
    return (*stopped, "control-plane") if cluster_down() else stopped


@contextlib.contextmanager
def isolated(prefix: str = "course-sandbox-") -> Iterator[Path]:
    """A private sandbox for a batch of notebooks: its own state directory (so its own stack and control plane,
    started fresh on first use) for the duration of the ``with`` block, stopped and deleted afterwards.

    Kernels started inside the block inherit it through ``COURSE_STATE_DIR``. Building the committed notebooks
    uses it, so their outputs never depend on what a learner's own sandbox holds.

    Example:
        >>> with isolated():              # doctest: +SKIP
        ...     run_parts("2,4")
    """
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with config.using_state_dir(path):
            yield path
    finally:
        stop_and_delete(path)


def stop_and_delete(state_dir: Path) -> None:
    """:func:`down` for the sandbox recorded under ``state_dir`` (not the current one), then delete the folder.

    Used by :func:`isolated` and by ``course run --matrix`` for each learner's private sandbox.
    """
    try:
        with config.using_state_dir(state_dir):
            down()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
