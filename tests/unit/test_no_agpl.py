"""The course installs, runs and queries nothing AGPL-licensed (Grafana, Grafana Loki), on the sandbox or a cluster.

kube-prometheus-stack installs Grafana unless its values say otherwise, so every place that renders an install of
that chart must carry ``grafana.enabled: false``; no chart of the course may be Grafana's or Loki's; no module may
speak Loki's query API.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from course_lib import capstone, charts, observe, pins

LIB = Path(__file__).resolve().parents[2] / "course_lib"
#: charts of AGPL programs (Grafana's own charts; Loki's in both repositories that ship it)
AGPL_CHARTS = re.compile(r"(^|/)(grafana|loki|loki-stack|loki-distributed|mimir-distributed|tempo)$")


def test_the_part_3_install_keeps_grafana_off() -> None:
    install = observe.kube_prometheus_stack_install(webhook_url="http://hook.test/alerts")
    assert install.values["grafana"] == {"enabled": False}
    assert yaml.safe_load(install.values_yaml)["grafana"]["enabled"] is False


def test_the_helmfile_release_keeps_grafana_off_and_no_release_is_an_agpl_chart() -> None:
    releases = charts.course_releases()
    [stack] = [r for r in releases if r.chart.endswith("/kube-prometheus-stack")]
    assert stack.values["grafana"] == {"enabled": False}
    rendered = yaml.safe_load(charts.helmfile_yaml())
    [entry] = [r for r in rendered["releases"] if r["chart"].endswith("/kube-prometheus-stack")]
    assert entry["values"][0]["grafana"]["enabled"] is False
    assert not [r.chart for r in releases if AGPL_CHARTS.search(r.chart)]


def test_the_capstone_application_keeps_grafana_off() -> None:
    [child] = [c for c in capstone.DEFAULT_CHILDREN if c.chart == "kube-prometheus-stack"]
    app = capstone.child_application(child, repo_url="https://git.test/platform.git")
    assert app["spec"]["source"]["helm"]["valuesObject"]["grafana"] == {"enabled": False}


def test_no_pinned_chart_is_an_agpl_program_and_logs_go_to_victorialogs() -> None:
    pinned = [v for v in vars(pins).values() if isinstance(v, pins.HelmChart)]
    assert pinned and not [c.chart for c in pinned if AGPL_CHARTS.search(c.chart)]
    assert "victoria-logs" in observe.victorialogs_install().chart


def test_no_module_speaks_lokis_query_api() -> None:
    speaking = [
        str(p.relative_to(LIB))
        for p in LIB.rglob("*.py")
        if re.search(r"/loki/api/v1/(query|query_range|labels|series|tail)", p.read_text())
    ]
    assert not speaking, f"these modules call Loki's query API (AGPL; ask VictoriaLogs in LogsQL): {speaking}"
