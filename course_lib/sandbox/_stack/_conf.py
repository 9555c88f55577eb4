"""The stack's configuration: Prometheus and Alertmanager files derived from the course's own objects, and each service's command line (see :mod:`course_lib.sandbox._stack`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .._derive import LocalService, alertmanager_config, derive, live_variant, prometheus_config
from .._logs import LOKI_PUSH_PATH, victorialogs_argv
from ._records import (
    EVALUATION_INTERVAL,
    LIVE_FOR,
    LIVE_GROUP_INTERVAL,
    LIVE_GROUP_WAIT,
    LIVE_REPEAT_INTERVAL,
    LIVE_WINDOW,
    SCRAPE_INTERVAL,
    SERVICE_NAMES,
    _Service,
)

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
    from ...manifests._observability import alertmanager_values, observability_objects

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
    from ... import tools

    return tools.find("victoria-logs")
