"""The handle on the running stack: :class:`Stack` (queries, fault switches, waiting for data) (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import ConfigError, SandboxError
from ._procs import (
    down,
    status,
)
from ._records import (
    MAX_RPS,
    Faults,
    StackEndpoints,
    StackStatus,
    _http_json,
)


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
