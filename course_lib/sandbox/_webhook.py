"""Alert webhook receiver: records the JSON notifications Alertmanager POSTs.

``POST /alerts`` stores one notification (Alertmanager's webhook payload: ``status``, ``alerts`` ...) with a
``received_at`` time; ``GET /notifications`` returns them all; ``DELETE /notifications`` forgets them.
Notifications are also appended to a JSON-lines file when ``--record`` is given.

Run: ``python -m course_lib.sandbox._webhook --port 9095``.

Used in: notebook 03 (through :meth:`course_lib.sandbox.Stack.webhook_notifications`).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._http import JSONHandler, port_args, serve


class Inbox:
    """Thread-safe list of received notifications."""

    def __init__(self, record: Path | None = None) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.record = record

    def add(self, payload: dict[str, Any]) -> None:
        payload = {**payload, "received_at": time.time()}
        with self.lock:
            self.items.append(payload)
            if self.record is not None:
                with open(self.record, "a") as f:
                    f.write(json.dumps(payload) + "\n")

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.items)

    def clear(self) -> int:
        with self.lock:
            n = len(self.items)
            self.items.clear()
            return n


def make_handler(inbox: Inbox) -> type[JSONHandler]:
    class Handler(JSONHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/notifications":
                self.send_json(inbox.all())
            elif self.path == "/healthz":
                self.send_json({"ok": True})
            else:
                self.send_json({"error": "not found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/alerts":
                self.send_json({"error": "not found"}, 404)
                return
            try:
                payload = self.read_json()
            except ValueError as exc:
                self.send_json({"error": f"not JSON: {exc}"}, 400)
                return
            if not isinstance(payload, dict):
                self.send_json({"error": "expected a JSON object"}, 400)
                return
            inbox.add(payload)
            self.send_json({"ok": True})

        def do_DELETE(self) -> None:  # noqa: N802
            if self.path == "/notifications":
                self.send_json({"cleared": inbox.clear()})
            else:
                self.send_json({"error": "not found"}, 404)

    return Handler


def main() -> None:
    parser = port_args("Alertmanager webhook receiver")
    parser.add_argument("--record", type=Path, default=None)
    args = parser.parse_args()
    serve(ThreadingHTTPServer((args.host, args.port), make_handler(Inbox(args.record))))


if __name__ == "__main__":
    main()
