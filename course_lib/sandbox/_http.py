"""Small shared pieces of the sandbox's Python services (standard-library HTTP servers)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JSONHandler(BaseHTTPRequestHandler):
    """A request handler with JSON helpers and quiet logging."""

    server_version = "course-sandbox/1"
    protocol_version = "HTTP/1.1"
    #: headers and body are separate writes: without TCP_NODELAY, Nagle's algorithm and the peer's delayed ACK
    #: hold the body back ~40 ms on a kept-alive connection (Traefik keeps its connections to backends alive)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass  # one line per request would flood the log file

    def send_json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_text(self, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw or b"{}")


def port_args(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser


def serve(server: ThreadingHTTPServer) -> None:
    """Serve until SIGTERM/SIGINT, then shut down cleanly."""
    server.daemon_threads = True

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    host, port = server.server_address[:2]
    print(f"listening on http://{host!s}:{port}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    sys.exit(0)
