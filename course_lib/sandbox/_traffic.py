"""Traffic generator: calls the checkout service at a steady rate (the seed's ``curl`` loop, tunable).

Requests are sent from a small thread pool on a fixed schedule, so slow responses (injected latency) do not
lower the request rate. ``GET|POST /control`` reads or sets ``{"rps": ...}``; ``/metrics`` exposes
``traffic_requests_total{result}``.

Run: ``python -m course_lib.sandbox._traffic --port 8081 --target http://127.0.0.1:8080/checkout --rps 5``.

Used in: notebook 03 (through :meth:`course_lib.sandbox.Stack.set_traffic`).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from ._http import JSONHandler, port_args, serve

MAX_RPS = 200.0


class Generator:
    """Sends GET ``target`` ``rps`` times per second until stopped."""

    def __init__(self, target: str, rps: float, registry: CollectorRegistry | None = None) -> None:
        self.target = target
        self.rps = rps
        self.registry = registry or CollectorRegistry()
        self.sent = Counter("traffic_requests", "Requests sent by result.", ["result"], registry=self.registry)
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="traffic")
        self.stop = threading.Event()

    def set_rps(self, rps: float) -> float:
        if not 0.0 <= rps <= MAX_RPS:
            raise ValueError(f"rps must be between 0 and {MAX_RPS}")
        self.rps = float(rps)
        return self.rps

    def _one(self) -> None:
        try:
            with urllib.request.urlopen(self.target, timeout=10) as resp:  # noqa: S310 (local URL)
                resp.read()
            self.sent.labels(result="ok").inc()
        except urllib.error.HTTPError:
            self.sent.labels(result="http_error").inc()
        except (urllib.error.URLError, OSError):
            self.sent.labels(result="unreachable").inc()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            rps = self.rps
            if rps <= 0:
                self.stop.wait(0.2)
                next_at = time.monotonic()
                continue
            self.pool.submit(self._one)
            next_at += 1.0 / rps
            delay = next_at - time.monotonic()
            if delay < -1.0:  # fell far behind (machine busy): do not burst to catch up
                next_at = time.monotonic()
            elif delay > 0:
                self.stop.wait(delay)


def make_handler(gen: Generator) -> type[JSONHandler]:
    class Handler(JSONHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/metrics":
                self.send_text(generate_latest(gen.registry).decode(), content_type=CONTENT_TYPE_LATEST)
            elif self.path == "/control":
                self.send_json({"rps": gen.rps, "target": gen.target})
            elif self.path == "/healthz":
                self.send_json({"ok": True})
            else:
                self.send_json({"error": "not found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/control":
                self.send_json({"error": "not found"}, 404)
                return
            try:
                rps = gen.set_rps(float(self.read_json()["rps"]))
            except (ValueError, TypeError, KeyError) as exc:
                self.send_json({"error": f"bad rps: {exc}"}, 400)
                return
            self.send_json({"rps": rps, "target": gen.target})

    return Handler


def main() -> None:
    parser = port_args("Traffic generator")
    parser.add_argument("--target", required=True)
    parser.add_argument("--rps", type=float, default=5.0)
    args = parser.parse_args()
    gen = Generator(args.target, args.rps)
    threading.Thread(target=gen.run, daemon=True, name="schedule").start()
    serve(ThreadingHTTPServer((args.host, args.port), make_handler(gen)))


if __name__ == "__main__":
    main()
