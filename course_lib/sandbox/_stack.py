"""The local sandbox stack: real Prometheus, Alertmanager, node_exporter, Pushgateway and three small Python
services (checkout, traffic generator, alert webhook receiver), all on 127.0.0.1.

``up()`` starts the stack (or reuses a healthy one recorded in the state file), ``status()`` reports on it and
``down()`` stops it. The stack deliberately outlives the notebook kernel that started it (each child runs in its
own session), so the next notebook reuses it; ``status``/``up``/``down`` find the children through the state
file and an environment marker, so a crashed kernel leaves nothing behind that ``down`` cannot clean.

Example:
    >>> from course_lib import sandbox
    >>> stack = sandbox.up()                           # doctest: +SKIP
    >>> stack.inject(latency_ms=600)                   # doctest: +SKIP
    >>> sandbox.down()                                 # doctest: +SKIP

Used in: notebooks 03 (observability) and every notebook that runs on ``target="sandbox"``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import config
from ..errors import ConfigError, SandboxError
from . import _process as proc
from ._derive import LocalService, alertmanager_config, derive, live_variant, prometheus_config
from ._logs import LOKI_PUSH_PATH, victorialogs_argv

STATE_VERSION = 2  # 2: the log store is VictoriaLogs (endpoint "victorialogs")
#: Environment variable put on every child: its value is the state file that owns the child.
MARKER_ENV = proc.MARKER_ENV
#: Start order; stop runs in reverse.
SERVICE_NAMES: tuple[str, ...] = (
    "node_exporter",
    "pushgateway",
    "victorialogs",
    "checkout",
    "webhook",
    "alertmanager",
    "traffic",
    "prometheus",
)
#: Intervals of the live sandbox (a cluster would use 30 s / 30 s).
SCRAPE_INTERVAL = "1s"
EVALUATION_INTERVAL = "1s"
#: Alertmanager timing of the live sandbox (kube-prometheus-stack defaults: 30s / 5m / 4h).
LIVE_GROUP_WAIT, LIVE_GROUP_INTERVAL, LIVE_REPEAT_INTERVAL = "1s", "2s", "1h"
#: Short variants of the rules for live demos: the real rules keep ``for: 5m`` (see ``promtool test rules``).
LIVE_FOR, LIVE_WINDOW = "10s", "20s"
MAX_BACKFILL_HOURS = 24 * 7
MAX_RPS = 200.0


@dataclass(frozen=True)
class StackEndpoints:
    """Base URLs (``http://127.0.0.1:PORT``) of the sandbox services."""

    prometheus: str
    alertmanager: str
    node_exporter: str
    pushgateway: str
    checkout: str
    traffic: str
    webhook: str
    victorialogs: str = ""  # the log store; empty when it is not built (`make tools`)


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack: its process and whether it answers."""

    name: str
    pid: int | None
    url: str
    running: bool
    healthy: bool
    #: False for services that start in the background: running is enough for the stack to be usable.
    required: bool = True


@dataclass(frozen=True)
class StackStatus:
    """Status of the sandbox stack as recorded in the state file.

    ``healthy`` is true only when a stack is recorded, every required service runs and answers, and every
    background service at least runs.
    """

    services: tuple[ServiceStatus, ...]
    state_file: str
    recorded: bool

    @property
    def healthy(self) -> bool:
        return (
            self.recorded and bool(self.services) and all(s.healthy if s.required else s.running for s in self.services)
        )

    def table(self) -> str:
        """A plain-text table: service, pid, URL, health."""
        if not self.recorded:
            return "No sandbox stack is recorded (start one with `course sandbox up`)."
        rows = [("SERVICE", "PID", "URL", "HEALTH")]
        for s in self.services:
            answering = "not answering" if s.required else "starting"
            health = "healthy" if s.healthy else (answering if s.running else "not running")
            rows.append((s.name, str(s.pid or "-"), s.url, health))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def __str__(self) -> str:
        return self.table()


@dataclass(frozen=True)
class Faults:
    """What the checkout service currently injects."""

    latency_ms: float
    error_rate: float


@dataclass(frozen=True)
class _Service:
    name: str
    argv: list[str]
    port: int
    ready_path: str
    health_path: str
    #: ``up`` waits for this service to be ready unless False (then it becomes ready in the background).
    blocking: bool = True


def state_file() -> Path:
    """Path of the sandbox state file (under ``course_lib.config.state_dir()``, i.e. ``COURSE_STATE_DIR``)."""
    return config.state_dir() / "sandbox.json"


def _state() -> proc.StateFile:
    return proc.StateFile(state_file(), lock=config.state_dir() / "sandbox.lock", version=STATE_VERSION)


def _locked() -> contextlib.AbstractContextManager[None]:
    """Serialise up/down across kernels and processes (an flock on a file next to the state file)."""
    return _state().locked()


def _read_state() -> dict[str, Any] | None:
    return _state().read()


def _write_state(data: dict[str, Any]) -> None:
    _state().write(data)


def _http_json(method: str, url: str, payload: Any = None, *, timeout: float = 5.0) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (local URL)
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise SandboxError(f"{method} {url} answered {exc.code}: {detail}", hint="check the request values") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(
            f"{method} {url} failed: {exc}",
            hint="the sandbox may have stopped: run `course sandbox status`, then `sandbox.up()` again",
        ) from None


class Stack:
    """A running sandbox stack. Get one from :func:`up`; it also works as a context manager (``down`` on exit).

    Attributes:
        endpoints: base URLs of the services.
        rules_yaml: the rule files Prometheus loads (the live, short-``for`` variant), as YAML text.
        real_rules_yaml: the rule files exactly as the PrometheusRules say (``for: 5m``).
        prometheus_yaml: the derived ``prometheus.yml``.
        alertmanager_yaml: the derived ``alertmanager.yml``.
        reused: true when ``up`` found this stack already running.
    """

    def __init__(self, state: Mapping[str, Any], *, reused: bool) -> None:
        self._state = dict(state)
        self.endpoints = StackEndpoints(**state["endpoints"])
        self.workdir = Path(state["workdir"])
        self.reused = reused
        self.backfill_hours = float(state.get("backfill_hours", 0))
        self.started_at = float(state.get("started_at", 0.0))
        self.selections: list[str] = list(state.get("selections", []))

    def _read(self, name: str) -> str:
        try:
            return (self.workdir / name).read_text()
        except OSError:
            return ""

    @property
    def rules_yaml(self) -> str:
        return self._read("rules.yaml")

    @property
    def real_rules_yaml(self) -> str:
        return self._read("rules-real.yaml")

    @property
    def prometheus_yaml(self) -> str:
        return self._read("prometheus.yml")

    @property
    def alertmanager_yaml(self) -> str:
        return self._read("alertmanager.yml")

    def inject(self, latency_ms: float = 0, error_rate: float = 0.0) -> Faults:
        """Tell the checkout service to add ``latency_ms`` to every request and fail a fraction ``error_rate``.

        ``inject()`` with no arguments removes both faults.

        Example:
            >>> stack.inject(latency_ms=600)  # doctest: +SKIP
            Faults(latency_ms=600.0, error_rate=0.0)

        Used in: notebook 03.
        """
        if not 0 <= latency_ms <= 60_000:
            raise ConfigError(f"latency_ms must be between 0 and 60000, got {latency_ms}", hint="e.g. latency_ms=600")
        if not 0.0 <= error_rate <= 1.0:
            raise ConfigError(
                f"error_rate is a fraction between 0 and 1, got {error_rate}", hint="e.g. error_rate=0.2 for 20 %"
            )
        got = _http_json(
            "POST", f"{self.endpoints.checkout}/control", {"latency_ms": latency_ms, "error_rate": error_rate}
        )
        return Faults(latency_ms=float(got["latency_ms"]), error_rate=float(got["error_rate"]))

    def set_traffic(self, rps: float = 5.0) -> float:
        """Set the traffic generator's rate in requests per second (0 pauses it). Returns the new rate.

        Used in: notebook 03.
        """
        if not 0.0 <= rps <= MAX_RPS:
            raise ConfigError(f"rps must be between 0 and {MAX_RPS:.0f}, got {rps}", hint="e.g. rps=5")
        return float(_http_json("POST", f"{self.endpoints.traffic}/control", {"rps": rps})["rps"])

    def webhook_notifications(self) -> list[dict[str, Any]]:
        """Notifications Alertmanager sent to the webhook receiver (its JSON payloads, oldest first).

        Each has ``status`` (``firing``/``resolved``), ``alerts`` (with ``labels``, ``annotations``, ``startsAt``)
        and ``received_at`` (Unix seconds, added by the receiver).

        Used in: notebook 03.
        """
        result: list[dict[str, Any]] = _http_json("GET", f"{self.endpoints.webhook}/notifications")
        return result

    def clear_notifications(self) -> int:
        """Forget the notifications received so far; returns how many there were."""
        return int(_http_json("DELETE", f"{self.endpoints.webhook}/notifications")["cleared"])

    def query(self, promql: str, *, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Run an instant PromQL query; returns Prometheus's ``data.result`` list (use ``course_lib.observe``
        for DataFrames)."""
        url = f"{self.endpoints.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        body = _http_json("GET", url, timeout=timeout)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for_data(self, promql: str = "rate(checkout_requests_total[1m])", *, timeout: float = 30.0) -> float:
        """Poll until ``promql`` returns a non-empty result; returns the seconds waited.

        Prometheus 2.42 applies its scrape targets about 5 s after it starts, and ``rate()`` needs two samples,
        so right after ``up()`` a query can be empty for a few seconds.

        Used in: notebook 03.
        """
        start = time.monotonic()
        deadline = start + timeout
        while True:
            with contextlib.suppress(SandboxError):
                if self.query(promql):
                    return time.monotonic() - start
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"no data for {promql!r} after {timeout:.0f} s",
                    hint="check targets at <prometheus>/targets and `course sandbox status`",
                    timeout=timeout,
                )
            time.sleep(0.2)

    def status(self) -> StackStatus:
        """Status of this stack's services."""
        return status()

    def down(self) -> tuple[str, ...]:
        """Stop the stack (same as :func:`down`)."""
        return down()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the stack only if this object started it: a stack it merely reused belongs to someone else."""
        if not self.reused:
            self.down()

    def __repr__(self) -> str:
        return f"Stack(prometheus={self.endpoints.prometheus!r}, reused={self.reused})"


# --- configuration ------------------------------------------------------------------------------


def _local_services(ports: Mapping[str, int]) -> list[LocalService]:
    """The sandbox processes as the Services they would be in the cluster."""
    return [
        LocalService("checkout", "default", {"app": "checkout"}, {"http": ports["checkout"]}),
        LocalService("traffic-generator", "default", {"app": "traffic-generator"}, {"http": ports["traffic"]}),
        LocalService(
            "monitoring-prometheus-node-exporter",
            "monitoring",
            {"app.kubernetes.io/name": "prometheus-node-exporter"},
            {"http-metrics": ports["node_exporter"]},
        ),
        LocalService(
            "monitoring-prometheus-pushgateway",
            "monitoring",
            {"app.kubernetes.io/name": "prometheus-pushgateway"},
            {"http": ports["pushgateway"]},
        ),
    ]


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=1000)


def write_configs(
    workdir: Path,
    ports: Mapping[str, int],
    *,
    objects: list[dict[str, Any]] | None = None,
    selector: Mapping[str, Any] | None = None,
) -> list[str]:
    """Derive and write ``prometheus.yml``, rule files and ``alertmanager.yml`` into ``workdir``.

    Returns the selection explanations (one line per ServiceMonitor/PrometheusRule).
    """
    from ..manifests._observability import alertmanager_values, observability_objects

    objects = observability_objects() if objects is None else objects
    derived = derive(objects, _local_services(ports), selector=selector, interval=SCRAPE_INTERVAL)
    rules_dir = workdir / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    live_texts, real_texts, rule_paths = [], [], []
    for fname, doc in derived.rule_files.items():
        live = _dump(live_variant(doc, for_=LIVE_FOR, window=LIVE_WINDOW))
        (rules_dir / fname).write_text(live)
        rule_paths.append(str(rules_dir / fname))
        live_texts.append(f"# {fname}\n{live}")
        real_texts.append(f"# {fname}\n{_dump(doc)}")
    (workdir / "rules.yaml").write_text("---\n".join(live_texts))
    (workdir / "rules-real.yaml").write_text("---\n".join(real_texts))
    prom = prometheus_config(
        derived.scrape_configs,
        rule_files=rule_paths,
        alertmanager=f"127.0.0.1:{ports['alertmanager']}",
        self_port=ports["prometheus"],
        scrape_interval=SCRAPE_INTERVAL,
        evaluation_interval=EVALUATION_INTERVAL,
    )
    (workdir / "prometheus.yml").write_text(_dump(prom))
    values = alertmanager_values(
        webhook_url=f"http://127.0.0.1:{ports['webhook']}/alerts",
        group_wait=LIVE_GROUP_WAIT,
        group_interval=LIVE_GROUP_INTERVAL,
        repeat_interval=LIVE_REPEAT_INTERVAL,
    )
    (workdir / "alertmanager.yml").write_text(_dump(alertmanager_config(values)))
    return [str(s) for s in derived.selections]


def _services(workdir: Path, ports: Mapping[str, int], bins: Mapping[str, str], *, rps: float) -> list[_Service]:
    py = sys.executable
    host = "127.0.0.1"
    by_name = {
        "node_exporter": _Service(
            "node_exporter",
            [bins["node_exporter"], "--no-collector.systemd", f"--web.listen-address={host}:{ports['node_exporter']}"],
            ports["node_exporter"],
            "/metrics",
            "/metrics",
        ),
        "pushgateway": _Service(
            "pushgateway",
            [bins["pushgateway"], f"--web.listen-address={host}:{ports['pushgateway']}"],
            ports["pushgateway"],
            "/-/ready",
            "/-/healthy",
        ),
        "victorialogs": _Service(
            "victorialogs",
            victorialogs_argv(bins.get("victorialogs") or "victoria-logs", workdir, port=ports["victorialogs"]),
            ports["victorialogs"],
            "/health",
            "/health",
        ),
        "checkout": _Service(
            "checkout",
            [
                py,
                "-m",
                "course_lib.sandbox._checkout",
                "--port",
                str(ports["checkout"]),
                *(
                    ["--log-push", f"http://{host}:{ports['victorialogs']}{LOKI_PUSH_PATH}"]
                    if bins.get("victorialogs")
                    else []
                ),
            ],
            ports["checkout"],
            "/healthz",
            "/healthz",
        ),
        "webhook": _Service(
            "webhook",
            [
                py,
                "-m",
                "course_lib.sandbox._webhook",
                "--port",
                str(ports["webhook"]),
                "--record",
                str(workdir / "notifications.jsonl"),
            ],
            ports["webhook"],
            "/healthz",
            "/healthz",
        ),
        "alertmanager": _Service(
            "alertmanager",
            [
                bins["alertmanager"],
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address={host}:{ports['alertmanager']}",
                "--cluster.listen-address=",
            ],
            ports["alertmanager"],
            "/-/ready",
            "/-/healthy",
        ),
        "traffic": _Service(
            "traffic",
            [
                py,
                "-m",
                "course_lib.sandbox._traffic",
                "--port",
                str(ports["traffic"]),
                "--target",
                f"http://{host}:{ports['checkout']}/checkout",
                "--rps",
                str(rps),
            ],
            ports["traffic"],
            "/healthz",
            "/healthz",
        ),
        "prometheus": _Service(
            "prometheus",
            [
                bins["prometheus"],
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address={host}:{ports['prometheus']}",
                # Keep backfilled history (hours old) and the live head; Prometheus merges overlapping blocks
                # by itself (the old --storage.tsdb.allow-overlapping-blocks flag is a no-op since 2.39, gone in 3).
                # The same flags serve the Go-built 3.x and Debian's 2.42 fallback.
                "--storage.tsdb.retention.time=15d",
            ],
            ports["prometheus"],
            "/-/ready",
            "/-/healthy",
        ),
    }
    return [by_name[n] for n in SERVICE_NAMES if n != "victorialogs" or bins.get("victorialogs")]


def _log_store_binary() -> str | None:
    """The log store (VictoriaLogs) is optional: it is built from Go modules by ``make tools``."""
    from .. import tools

    return tools.find("victoria-logs")


#: service → program (Debian's name); ``proc.program`` prefers the ``make tools`` build where there is one.
_BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node_exporter": "prometheus-node-exporter",
    "pushgateway": "prometheus-pushgateway",
}


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
            from ._promtool import backfill

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
    from ._ondemand import scrape_configs

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


@dataclass(frozen=True)
class SandboxOverview:
    """Everything of the sandbox on this machine: the stack's services and the Kubernetes control plane."""

    stack: StackStatus
    control_plane: Mapping[str, Any]
    #: Part 8's PostgreSQL service (:func:`course_lib.sandbox._postgres.status`); empty when not asked.
    postgres: Mapping[str, Any] = field(default_factory=dict)
    #: ``(group, process, pid, running, ready)`` of what was started on demand (e.g. Traefik).
    on_demand: tuple[tuple[str, str, int, bool, bool], ...] = ()
    #: Argo CD's processes (started on demand by ``session.gitops()``): :func:`course_lib.sandbox._argocd.status`.
    argocd: Mapping[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """True while anything of the sandbox is recorded as started (``down()`` clears it)."""
        return (
            self.stack.recorded
            or bool(self.control_plane.get("recorded"))
            or bool(self.postgres.get("recorded"))
            or bool(self.argocd.get("recorded"))
            or bool(self.on_demand)
        )

    @property
    def healthy(self) -> bool:
        """The stack is healthy and the control plane, PostgreSQL and Argo CD, if started, answer."""
        plane, db, argocd = self.control_plane, self.postgres, self.argocd
        return (
            self.stack.healthy
            and (not plane.get("recorded") or bool(plane.get("healthy")))
            and (not db.get("recorded") or bool(db.get("healthy")))
            and (not argocd.get("recorded") or bool(argocd.get("healthy")))
        )

    def __str__(self) -> str:
        plane = self.control_plane
        lines = [self.stack.table()]
        if plane.get("recorded"):
            health = "healthy" if plane.get("healthy") else "NOT HEALTHY"
            lines.append(f"kubernetes     {plane['server']}  {plane['nodes']} nodes  {health}")
            lines.append(f"kubeconfig     {plane['kubeconfig']}")
        else:
            built = "" if plane.get("available", True) else " (not built: `make tools`)"
            lines.append("kubernetes     not running" + built)
        if self.postgres.get("recorded"):
            roles = ", ".join(
                f"{i['name']} {i['role']}" + ("" if i["running"] else " (stopped)") for i in self.postgres["instances"]
            )
            lines.append(f"postgresql     {roles}; pgbouncer 127.0.0.1:{self.postgres['pgbouncer_port']}")
        for group, name, pid, running, ready in self.on_demand:
            health = "healthy" if ready else ("not answering" if running else "not running")
            lines.append(f"{group}/{name}  pid {pid}  {health}")
        if self.argocd:
            from ._argocd import status_lines

            lines.extend(status_lines(self.argocd))
        return "\n".join(lines)


def overview() -> SandboxOverview:
    """:func:`status` plus the control plane's and the PostgreSQL service's: what ``course sandbox status`` prints
    (changes nothing).

    Used in: notebook 11 and ``course sandbox status``.
    """
    from ._argocd import status as argocd_status
    from ._controlplane import cluster_status
    from ._ondemand import statuses
    from ._postgres import status as postgres_status

    return SandboxOverview(status(), cluster_status(), postgres_status(), tuple(statuses()), argocd_status())


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
    from . import _ondemand
    from ._argocd import down as argocd_down
    from ._controlplane import cluster_down, extra_clusters_down
    from ._postgres import down as postgres_down

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


def as_dict(status_: StackStatus) -> dict[str, Any]:
    """A JSON-friendly view of a status (for ``course sandbox status --json``)."""
    return {"healthy": status_.healthy, "recorded": status_.recorded, "services": [asdict(s) for s in status_.services]}


__all__ = [
    "Faults",
    "ServiceStatus",
    "Stack",
    "StackEndpoints",
    "StackStatus",
    "as_dict",
    "down",
    "stop_stack",
    "isolated",
    "state_file",
    "status",
    "up",
    "write_configs",
]
