"""Loki in the sandbox: a single-process configuration and a small log shipper for the demo services.

The Loki binary is built from Go modules by ``make tools`` (``tools/loki``). It runs with a filesystem store in the
sandbox's run directory, listens on 127.0.0.1 only, and sends no usage reports. The demo services push their log
lines over Loki's HTTP push API with the labels ``app``, ``namespace`` and ``level`` — the labels a log agent such as
Grafana Alloy would attach in a cluster.

Used in: notebook 03 (logs with LogQL), ``course sandbox up``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml


def loki_config(workdir: Path, *, http_port: int, grpc_port: int) -> str:
    """The Loki configuration for the sandbox (YAML text)."""
    data = workdir / "loki-data"
    conf: dict[str, Any] = {
        "auth_enabled": False,
        "server": {
            "http_listen_address": "127.0.0.1",
            "http_listen_port": http_port,
            "grpc_listen_address": "127.0.0.1",
            "grpc_listen_port": grpc_port,
            "log_level": "warn",
        },
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": str(data),
            "storage": {
                "filesystem": {"chunks_directory": str(data / "chunks"), "rules_directory": str(data / "rules")}
            },
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        # Ready as soon as the ring is: the 15 s default only slows rolling updates of a real deployment.
        "ingester": {"lifecycler": {"min_ready_duration": "0s"}},
        # The query frontend and querier find the scheduler by polling (10 s and 3 s by default); Loki reports
        # ready only once they are connected, so poll every second.
        "frontend": {"scheduler_dns_lookup_period": "1s"},
        "frontend_worker": {"dns_lookup_duration": "1s"},
        "schema_config": {
            "configs": [
                {
                    "from": "2024-01-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {"reject_old_samples": False, "allow_structured_metadata": True},
        "analytics": {"reporting_enabled": False},
    }
    return yaml.safe_dump(conf, sort_keys=False)


class LogShipper:
    """Batches log lines and pushes them to Loki every ``interval`` seconds from a background thread.

    While Loki is unreachable (it starts in the background) lines wait in a bounded queue; when that is full
    they are dropped and counted: a demo service must never block on its logs.

    Example:
        >>> shipper = LogShipper("http://127.0.0.1:3100", labels={"app": "checkout"})  # doctest: +SKIP
        >>> shipper.log("info", "checkout ok")                                         # doctest: +SKIP
    """

    def __init__(self, url: str, *, labels: dict[str, str], interval: float = 0.5, max_batch: int = 2000) -> None:
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.labels = dict(labels)
        self.interval = interval
        self.max_batch = max_batch
        self.queue: queue.Queue[tuple[str, str, str]] = queue.Queue(maxsize=50_000)
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="loki-shipper", daemon=True)
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
        except OSError:  # Loki not ready yet or gone: keep the lines for the next try while there is room
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


__all__ = ["LogShipper", "loki_config"]
