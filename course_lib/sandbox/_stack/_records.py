"""The monitoring stack's records: service names, endpoints and statuses, fault switches, its state file (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ... import config
from ...errors import SandboxError
from .. import _process as proc

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


#: service → program (Debian's name); ``proc.program`` prefers the ``make tools`` build where there is one.
_BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node_exporter": "prometheus-node-exporter",
    "pushgateway": "prometheus-pushgateway",
}


def as_dict(status_: StackStatus) -> dict[str, Any]:
    """A JSON-friendly view of a status (for ``course sandbox status --json``)."""
    return {"healthy": status_.healthy, "recorded": status_.recorded, "services": [asdict(s) for s in status_.services]}
