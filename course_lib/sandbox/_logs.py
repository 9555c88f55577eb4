"""The sandbox's log store and the demo services' log shipper.

The store is VictoriaLogs (Apache-2.0), built from Go modules by ``make tools``. It is a different program from
Grafana Loki (which is AGPL-licensed, so the course does not build or run it), but it accepts Loki's push protocol:
the demo services push their log lines over Loki's HTTP push API with the labels ``app``, ``namespace``, ``job`` and
``level`` — what a log agent such as Grafana Alloy would attach in a cluster — and VictoriaLogs keeps those labels as
its stream fields. Queries are LogsQL (``course_lib.observe.VictoriaLogs``); on a cluster the course teaches LogQL.

Used in: notebook 03 (logs), ``course sandbox up``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

#: Where a Loki client pushes: VictoriaLogs serves Loki's push API under ``/insert``.
LOKI_PUSH_PATH = "/insert/loki/api/v1/push"


def victorialogs_argv(binary: str, workdir: Path, *, port: int) -> list[str]:
    """The VictoriaLogs command line for the sandbox: loopback only, data under ``workdir``, a week's retention.

    VictoriaLogs listens only on ``-httpListenAddr`` (syslog and the other ingestion listeners are off unless
    asked for) and sends nothing anywhere.

    >>> victorialogs_argv("victoria-logs", Path("/w"), port=9428)[1:3]
    ['-httpListenAddr=127.0.0.1:9428', '-storageDataPath=/w/victorialogs-data']
    """
    return [
        binary,
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={workdir / 'victorialogs-data'}",
        "-retentionPeriod=7d",
        "-loggerLevel=WARN",
    ]


class LogShipper:
    """Batches log lines and pushes them (Loki's JSON push format) every ``interval`` seconds from a thread.

    Args:
        url: the full push URL, e.g. ``http://127.0.0.1:9428/insert/loki/api/v1/push`` for VictoriaLogs or
            ``http://loki:3100/loki/api/v1/push`` for Loki.

    While the store is unreachable lines wait in a bounded queue; when that is full they are dropped and counted:
    a demo service must never block on its logs.

    Example:
        >>> shipper = LogShipper("http://127.0.0.1:9428" + LOKI_PUSH_PATH, labels={"app": "checkout"})  # doctest: +SKIP
        >>> shipper.log("info", "checkout ok")                                                        # doctest: +SKIP
    """

    def __init__(self, url: str, *, labels: dict[str, str], interval: float = 0.5, max_batch: int = 2000) -> None:
        self.url = url
        self.labels = dict(labels)
        self.interval = interval
        self.max_batch = max_batch
        self.queue: queue.Queue[tuple[str, str, str]] = queue.Queue(maxsize=50_000)
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self.thread.start()

    def log(self, level: str, line: str) -> None:
        """Queue one line (timestamped now) at ``level``."""
        try:
            self.queue.put_nowait((str(time.time_ns()), level, line))
        except queue.Full:
            self.dropped += 1

    def _drain(self) -> list[tuple[str, str, str]]:
        items: list[tuple[str, str, str]] = []
        while len(items) < self.max_batch:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return items

    def flush(self) -> int:
        """Push what is queued now; returns the number of lines sent."""
        items = self._drain()
        if not items:
            return 0
        streams: dict[str, list[list[str]]] = {}
        for ts, level, line in items:
            streams.setdefault(level, []).append([ts, line])
        body: dict[str, Any] = {
            "streams": [{"stream": dict(self.labels, level=lvl), "values": v} for lvl, v in streams.items()]
        }
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except OSError:  # the store is not ready yet or gone: keep the lines for the next try while there is room
            for item in items:
                try:
                    self.queue.put_nowait(item)
                except queue.Full:
                    self.dropped += 1
            self.failures += 1
            return 0
        self.sent += len(items)
        return len(items)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.flush()
        self.flush()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


__all__ = ["LOKI_PUSH_PATH", "LogShipper", "victorialogs_argv"]
