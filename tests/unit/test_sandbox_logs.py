"""The log store's command line and the demo services' log shipping (against a local HTTP stub standing in for the
store's Loki push endpoint)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from course_lib.sandbox._checkout import LOG_LABELS, CheckoutApp
from course_lib.sandbox._logs import LOKI_PUSH_PATH, LogShipper, victorialogs_argv


class _Sink:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, level: str, line: str) -> None:
        self.lines.append((level, line))


def test_victorialogs_binds_loopback_and_keeps_data_in_the_workdir(tmp_path: Path) -> None:
    argv = victorialogs_argv("/x/victoria-logs", tmp_path, port=9428)
    assert argv[0] == "/x/victoria-logs"
    assert "-httpListenAddr=127.0.0.1:9428" in argv
    assert f"-storageDataPath={tmp_path / 'victorialogs-data'}" in argv
    # nothing else listens: no syslog, no other ingestion listener is switched on
    assert not [a for a in argv if "listenAddr" in a.lower() and "httpListenAddr" not in a]


def test_checkout_logs_one_logfmt_line_per_request_with_level() -> None:
    sink = _Sink()
    app = CheckoutApp(seed=1, logs=sink)
    app.record(0.05, 200, 1234)
    app.record(0.6, 200, 1235)
    app.record(0.02, 500)
    levels = [lvl for lvl, _ in sink.lines]
    assert levels == ["info", "warn", "error"]
    assert sink.lines[0][1] == 'msg="checkout ok" status=200 order=1234 duration_ms=50'
    assert "duration_ms=600" in sink.lines[1][1]
    assert 'error="payment backend unavailable"' in sink.lines[2][1]


def test_shipper_pushes_streams_by_level_and_counts_drops() -> None:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "body": json.loads(body), "type": self.headers["Content-Type"]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shipper = LogShipper(f"http://127.0.0.1:{server.server_port}{LOKI_PUSH_PATH}", labels=LOG_LABELS, interval=60)
        shipper.log("info", "a")
        shipper.log("error", "b")
        shipper.log("info", "c")
        assert shipper.flush() == 3
        (push,) = received
        assert push["path"] == "/insert/loki/api/v1/push" and push["type"] == "application/json"
        streams = {s["stream"]["level"]: s for s in push["body"]["streams"]}
        assert streams["info"]["stream"] == {**LOG_LABELS, "level": "info"}
        assert [v[1] for v in streams["info"]["values"]] == ["a", "c"]
        assert all(v[0].isdigit() and len(v[0]) >= 19 for v in streams["info"]["values"])  # nanoseconds
        shipper.close()
    finally:
        server.shutdown()
    dead = LogShipper(
        f"http://127.0.0.1:9{LOKI_PUSH_PATH}", labels=LOG_LABELS, interval=60
    )  # nothing listens on port 9
    dead.log("info", "kept")
    assert dead.flush() == 0 and dead.failures == 1 and dead.queue.qsize() == 1  # kept for the next try
    dead.queue.maxsize = 1  # a full queue drops instead of growing
    dead.log("info", "lost")
    assert dead.dropped == 1
