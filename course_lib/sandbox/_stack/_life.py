"""Starting the stack (``up()``) and reloading Prometheus's on-demand scrape jobs (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from ... import config
from ...errors import ConfigError, SandboxError
from .. import _process as proc
from ._conf import (
    _dump,
    _log_store_binary,
    _services,
    write_configs,
)
from ._handle import (
    Stack,
)
from ._procs import (
    _service_alive,
    _service_healthy,
    _stop_recorded,
)
from ._records import (
    _BINARIES,
    MARKER_ENV,
    MAX_BACKFILL_HOURS,
    MAX_RPS,
    SERVICE_NAMES,
    STATE_VERSION,
    _locked,
    _read_state,
    _Service,
    _write_state,
    state_file,
)


def _validate(timeout: float, backfill_hours: float, ports: Mapping[str, int] | None, rps: float) -> dict[str, int]:
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive, got {timeout}", hint="e.g. timeout=60 (seconds)")
    if not 0 <= backfill_hours <= MAX_BACKFILL_HOURS:
        raise ConfigError(
            f"backfill_hours must be between 0 and {MAX_BACKFILL_HOURS}, got {backfill_hours}",
            hint="e.g. backfill_hours=3 for three hours of simulated history",
        )
    if not 0 <= rps <= MAX_RPS:
        raise ConfigError(f"rps must be between 0 and {MAX_RPS:.0f}, got {rps}", hint="e.g. rps=5")
    fixed = dict(ports or {})
    unknown = sorted(set(fixed) - set(SERVICE_NAMES))
    if unknown:
        raise ConfigError(f"unknown sandbox service(s) in ports: {unknown}", hint=f"choose from {list(SERVICE_NAMES)}")
    for name, port in fixed.items():
        if not isinstance(port, int) or not 1024 <= port <= 65535:
            raise ConfigError(f"port for {name} must be an integer 1024-65535, got {port!r}", hint="or leave it out")
    if len(set(fixed.values())) != len(fixed):
        raise ConfigError("two services were given the same port", hint="give each service its own port")
    return fixed


def up(
    *,
    timeout: float = 60,
    backfill_hours: float = 0,
    ports: Mapping[str, int] | None = None,
    rps: float = 5.0,
) -> Stack:
    """Start the sandbox stack, or reuse the healthy one recorded in the state file.

    Configuration is derived from the course's Kubernetes objects (ServiceMonitors → scrape configs,
    PrometheusRules → rule files with short ``for:`` for live demos, Alertmanager values → route and webhook).

    Args:
        timeout: one deadline in seconds for starting every service.
        backfill_hours: before Prometheus starts, write this many hours of simulated checkout history
            (series labelled ``simulated="true"``) with ``promtool tsdb create-blocks-from openmetrics``. A running
            stack with less history is restarted to add it.
        ports: fixed ports per service (e.g. ``{"prometheus": 9090}``); the others get free ports.
        rps: initial rate of the traffic generator.

    Returns:
        The running :class:`Stack`.

    Raises:
        ToolMissingError: a program is not installed (names the Debian package).
        PortInUseError: a fixed port is taken.
        SandboxError: a service did not become ready in time (with its last log lines); nothing is left running.

    Example:
        >>> stack = up(backfill_hours=3)  # doctest: +SKIP
        >>> stack.endpoints.prometheus    # doctest: +SKIP
        'http://127.0.0.1:40123'

    Used in: notebook 03.
    """
    fixed = _validate(timeout, backfill_hours, ports, rps)
    bins = {name: proc.find_binary(binary) for name, binary in _BINARIES.items()}
    log_store = _log_store_binary()
    if log_store:
        bins["victorialogs"] = log_store
    if backfill_hours:
        proc.find_binary("promtool")
    with _locked():
        state = _read_state()
        if state is not None:
            alive = all(_service_alive(s) for s in state["services"])
            ports_ok = all(state["ports"].get(k) == v for k, v in fixed.items())
            enough_history = float(state.get("backfill_hours", 0)) >= backfill_hours
            if alive and ports_ok and enough_history and all(_service_healthy(s) for s in state["services"]):
                return Stack(state, reused=True)
        _stop_recorded(state)
        for name, port in fixed.items():
            proc.check_port(name, port)
        return _start(fixed, bins, timeout=timeout, backfill_hours=backfill_hours, rps=rps)


def _start(
    fixed: Mapping[str, int], bins: Mapping[str, str], *, timeout: float, backfill_hours: float, rps: float
) -> Stack:
    deadline = time.monotonic() + timeout
    ports = dict(fixed)
    for name in SERVICE_NAMES:
        if name not in ports:
            ports[name] = proc.free_port(exclude=set(ports.values()))
    root = config.state_dir() / "sandbox"
    root.mkdir(parents=True, exist_ok=True)
    workdir = root / f"run-{config.new_run_id()}"
    workdir.mkdir()
    started: list[tuple[_Service, proc.Spawned]] = []
    try:
        selections = write_configs(workdir, ports)
        on_demand_jobs = _add_on_demand_jobs(workdir / "prometheus.yml", [])
        if backfill_hours:
            from .._promtool import backfill

            backfill(workdir / "prometheus-data", hours=backfill_hours, end=time.time() - 5)
        env = {**os.environ, MARKER_ENV: str(state_file())}
        for svc in _services(workdir, ports, bins, rps=rps):
            started.append(
                (svc, proc.spawn(svc.name, svc.argv, log=workdir / "logs" / f"{svc.name}.log", cwd=workdir, env=env))
            )
        pending = [(svc, sp) for svc, sp in started if svc.blocking]
        while pending:
            for svc, sp in list(pending):
                if not proc.is_running(sp.pid):
                    raise _start_error(svc, sp, "exited during start-up", timeout)
                if proc.http_ok(f"http://127.0.0.1:{svc.port}{svc.ready_path}", timeout=0.5):
                    pending.remove((svc, sp))
            if pending and time.monotonic() >= deadline:
                svc, sp = pending[0]
                raise _start_error(svc, sp, f"was not ready within {timeout:.0f} s", timeout)
            if pending:
                time.sleep(0.05)
        state = {
            "version": STATE_VERSION,
            "owner_pid": os.getpid(),
            "started_at": time.time(),
            "workdir": str(workdir),
            "backfill_hours": backfill_hours,
            "ports": ports,
            "selections": selections,
            "on_demand_jobs": on_demand_jobs,
            "endpoints": {
                name: f"http://127.0.0.1:{ports[name]}" if name != "victorialogs" or bins.get("victorialogs") else ""
                for name in SERVICE_NAMES
            },
            "services": [
                {
                    "name": svc.name,
                    "pid": sp.pid,
                    "start_time": sp.start_time,
                    "port": svc.port,
                    "url": f"http://127.0.0.1:{svc.port}",
                    "health_path": svc.health_path,
                    "blocking": svc.blocking,
                    "log": str(sp.log),
                }
                for svc, sp in started
            ],
        }
        _write_state(state)
        proc.committed([sp.pid for _, sp in started])
        return Stack(state, reused=False)
    except BaseException:
        for _, sp in reversed(started):
            proc.stop(sp.pid, sp.start_time, timeout=3.0)
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _add_on_demand_jobs(prometheus_yml: Path, previous: list[str]) -> list[str]:
    """Rewrite ``prometheus.yml`` with the scrape jobs of what runs on demand (e.g. Traefik's ServiceMonitor-derived
    job), replacing the jobs named ``previous``. Returns the job names added."""
    from .._ondemand import scrape_configs

    extra = scrape_configs()
    if not extra and not previous:
        return []  # nothing runs on demand: the derived file stays exactly as written
    doc = yaml.safe_load(prometheus_yml.read_text()) or {}
    jobs = [j for j in doc.get("scrape_configs") or [] if j.get("job_name") not in set(previous)]
    doc["scrape_configs"] = jobs + extra
    tmp = prometheus_yml.with_suffix(".tmp")
    tmp.write_text(_dump(doc))
    os.replace(tmp, prometheus_yml)
    return [j["job_name"] for j in extra]


def reload_on_demand_jobs() -> bool:
    """Give the running stack's Prometheus the current on-demand scrape jobs: rewrite its ``prometheus.yml`` and
    send it SIGHUP (Prometheus reloads its configuration on that signal). Call it under the sandbox lock. True when
    a Prometheus was told.

    Used by :func:`course_lib.sandbox.traefik_up` and ``traefik_down``.
    """
    import signal

    state = _read_state()
    if state is None:
        return False
    prom = next((s for s in state["services"] if s["name"] == "prometheus"), None)
    if prom is None or not _service_alive(prom):
        return False
    state["on_demand_jobs"] = _add_on_demand_jobs(
        Path(state["workdir"]) / "prometheus.yml", list(state.get("on_demand_jobs", []))
    )
    _write_state(state)
    os.kill(int(prom["pid"]), signal.SIGHUP)
    return True


def _start_error(svc: _Service, sp: proc.Spawned, what: str, timeout: float) -> SandboxError:
    log = proc.tail(sp.log) or "(no output)"
    return SandboxError(
        f"sandbox service {svc.name} {what}. Its last log lines:\n{log}",
        hint="read the log lines above; `course sandbox down` cleans up, then try `course sandbox up` again",
        service=svc.name,
        port=svc.port,
        timeout=timeout,
    )
