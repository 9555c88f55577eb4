"""The checkout demo service (mirrors the seed's Express app, instrumented with ``prometheus-client``).

Endpoints:
    ``GET /checkout``  one checkout: sleeps a base latency (+ injected latency), fails with the injected
                       error rate; records ``checkout_request_duration_seconds`` and
                       ``checkout_requests_total{status}``.
    ``GET /metrics``   Prometheus exposition.
    ``GET|POST /control``  read or set ``{"latency_ms": ..., "error_rate": ...}``.
    ``GET /healthz``   liveness.
    ``GET <other>``    with ``--version``: ``{"path": ..., "version": ...}`` at once (no simulated latency), so
                       routing by host and path can be seen; without it, 404.

With ``--version v1`` (or ``v2``) every response carries ``X-Checkout-Version``, JSON bodies carry ``version`` and
``/metrics`` exports ``checkout_build_info{version}``: the two canary backends behind Traefik tell themselves apart.

Run: ``python -m course_lib.sandbox._checkout --port 8080 [--version v2]``.

Used in: notebook 03 (through :meth:`course_lib.sandbox.Stack.inject`), notebook 04 (the canary's backends).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ._http import JSONHandler, port_args, serve
from ._logs import LogShipper

#: Bucket bounds in seconds; 0.4 is the alert threshold, so the histogram resolves it exactly.
BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0)
#: Requests slower than this are logged at level "warn" (the latency alert's threshold).
SLOW_SECONDS = 0.4
#: Labels of the checkout's log stream (plus ``level``), as a cluster's log agent would set them.
LOG_LABELS = {"app": "checkout", "namespace": "shop", "job": "shop/checkout"}


class LogSink(Protocol):
    def log(self, level: str, line: str) -> None: ...


#: Base latency of a healthy checkout, uniform in this range (seconds).
BASE_LATENCY = (0.02, 0.12)


@dataclass
class Faults:
    """What the control endpoint injected."""

    latency_ms: float = 0.0
    error_rate: float = 0.0


class CheckoutApp:
    """State and metrics of one checkout service; the registry is injectable for tests."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        seed: int | None = None,
        logs: LogSink | None = None,
        version: str | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.logs = logs
        self.version = version
        self.faults = Faults()
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.requests = Counter(
            "checkout_requests", "Checkout requests by HTTP status.", ["status"], registry=self.registry
        )
        self.duration = Histogram(
            "checkout_request_duration_seconds",
            "Time to serve one checkout request.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        for status in ("200", "500"):
            self.requests.labels(status=status)  # export zeros so rate() has both series from the start
        if version:
            info = Gauge("checkout_build_info", "The running checkout version.", ["version"], registry=self.registry)
            info.labels(version=version).set(1)

    def set_faults(self, *, latency_ms: float | None = None, error_rate: float | None = None) -> Faults:
        with self.lock:
            if latency_ms is not None:
                if latency_ms < 0:
                    raise ValueError("latency_ms must be >= 0")
                self.faults.latency_ms = float(latency_ms)
            if error_rate is not None:
                if not 0.0 <= error_rate <= 1.0:
                    raise ValueError("error_rate must be between 0 and 1")
                self.faults.error_rate = float(error_rate)
            return Faults(self.faults.latency_ms, self.faults.error_rate)

    def plan(self) -> tuple[float, int]:
        """Decide the latency (s) and status of the next request."""
        with self.lock:
            latency = self.random.uniform(*BASE_LATENCY) + self.faults.latency_ms / 1000.0
            failed = self.random.random() < self.faults.error_rate
        return latency, 500 if failed else 200

    def record(self, seconds: float, status: int, order: int | None = None) -> None:
        self.duration.observe(seconds)
        self.requests.labels(status=str(status)).inc()
        if self.logs is not None:  # logfmt lines, as a real service would write them
            ms = round(seconds * 1000)
            if status != 200:
                self.logs.log(
                    "error",
                    f'msg="checkout failed" status={status} duration_ms={ms} error="payment backend unavailable"',
                )
            elif seconds > SLOW_SECONDS:
                self.logs.log("warn", f'msg="checkout slow" status=200 order={order} duration_ms={ms}')
            else:
                self.logs.log("info", f'msg="checkout ok" status=200 order={order} duration_ms={ms}')


def make_handler(app: CheckoutApp) -> type[JSONHandler]:
    class Handler(JSONHandler):
        def end_headers(self) -> None:
            if app.version:
                self.send_header("X-Checkout-Version", app.version)
            super().end_headers()

        def send_json(self, payload: Any, status: int = 200) -> None:
            if app.version and isinstance(payload, dict):
                payload = {**payload, "version": app.version}
            super().send_json(payload, status)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            path = self.path.split("?", 1)[0]
            if path == "/checkout":
                start = time.perf_counter()
                latency, status = app.plan()
                time.sleep(latency)
                order = app.random.randint(1000, 9999)
                payload: dict[str, Any] = {"ok": status == 200, "order": order}
                if status != 200:
                    payload = {"ok": False, "error": "payment backend unavailable (injected)"}
                # counted before the answer leaves, so a client that reads /metrics right after sees its request
                app.record(time.perf_counter() - start, status, order)
                self.send_json(payload, status)
            elif path == "/metrics":
                self.send_text(generate_latest(app.registry).decode(), content_type=CONTENT_TYPE_LATEST)
            elif path == "/control":
                self.send_json(vars(app.faults))
            elif path == "/healthz":
                self.send_json({"ok": True})
            elif app.version:  # a versioned backend echoes any other path (like traefik/whoami)
                self.send_json({"path": self.path})
            else:
                self.send_json({"error": "not found"}, 404)

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            if self.path != "/control":
                self.send_json({"error": "not found"}, 404)
                return
            try:
                body = self.read_json()
                faults = app.set_faults(latency_ms=body.get("latency_ms"), error_rate=body.get("error_rate"))
            except (ValueError, TypeError, AttributeError) as exc:
                self.send_json({"error": str(exc)}, 400)
                return
            self.send_json(vars(faults))

    return Handler


def main() -> None:
    parser = port_args("Checkout demo service")
    parser.add_argument("--log-push", default="", help="push log lines to this Loki push URL (Loki or VictoriaLogs)")
    parser.add_argument("--version", default=None, help="a version to report (e.g. v2): header, body, metric")
    args = parser.parse_args()
    shipper = LogShipper(args.log_push, labels=LOG_LABELS) if args.log_push else None
    app = CheckoutApp(logs=shipper, version=args.version)
    try:
        serve(ThreadingHTTPServer((args.host, args.port), make_handler(app)))
    finally:
        if shipper is not None:
            shipper.close()


if __name__ == "__main__":
    main()
