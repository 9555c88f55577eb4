"""The checkout dashboard built with grafana-foundation-sdk: its panels and queries, the SDK round trip, the sidecar
ConfigMap, the panel table, and the "add a panel" check."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

from course_lib import manifests as m
from course_lib import observe, plots
from course_lib.errors import ExerciseError, ValidationError
from course_lib.manifests._observability import CHECKOUT_P95_EXPR
from course_lib.observe import _dashboards as dash

EXPECTED = [
    ("Request rate", "prometheus", "sum by (status) (rate(checkout_requests_total[1m]))"),
    ("Error ratio", "prometheus", observe.ERROR_RATIO_REFERENCE),
    ("p95 latency", "prometheus", CHECKOUT_P95_EXPR),
    ("Log volume by level", "loki", 'sum by (level) (count_over_time({app="checkout"}[1m]))'),
]
FIVE_XX = 'sum(rate(checkout_requests_total{status=~"5.."}[1m]))'


def builder_with_panel(
    expr: str = FIVE_XX, *, unit: str | None = "reqps", title: str = "5xx requests", ds: str = "prometheus"
) -> Any:
    """The checkout dashboard's builder plus one panel, built the way the notebook asks the learner to."""
    from grafana_foundation_sdk.builders import prometheus, timeseries
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    panel = timeseries.Panel().title(title).datasource(DataSourceRef(type_val=ds, uid=ds))
    panel = panel.with_target(prometheus.Dataquery().expr(expr).ref_id("A"))
    if unit is not None:
        panel = panel.unit(unit)
    return observe.checkout_dashboard_builder().with_panel(panel)


def with_panel(expr: str = FIVE_XX, **options: Any) -> dict[str, Any]:
    """:func:`builder_with_panel`, as the dashboard's JSON data."""
    return dash.to_dict(builder_with_panel(expr, **options))


#: The right answer to 03-dashboard-panel, as data (the answers-file tests write it to JSON).
RIGHT_ANSWER = with_panel()


def test_the_dashboard_has_the_four_panels_with_their_datasources_and_queries() -> None:
    data = observe.checkout_dashboard()
    assert observe.panel_queries(data) == EXPECTED
    assert [p["type"] for p in data["panels"]] == ["timeseries"] * 4
    assert [p["datasource"] for p in data["panels"]] == [{"type": t, "uid": t} for _, t, _ in EXPECTED]
    assert [p["fieldConfig"]["defaults"]["unit"] for p in data["panels"]] == ["reqps", "percentunit", "s", "short"]
    assert data["uid"] == "checkout" and data["schemaVersion"] == 41 and data["editable"] is False
    assert data["panels"][3]["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars"
    # a 2 x 2 grid, no overlaps
    assert {(p["gridPos"]["x"], p["gridPos"]["y"]) for p in data["panels"]} == {(0, 0), (12, 0), (0, 8), (12, 8)}


def test_data_source_uids_are_options() -> None:
    data = observe.checkout_dashboard(prometheus_uid="prom-a", loki_uid="logs")
    assert {p["datasource"]["uid"] for p in data["panels"]} == {"prom-a", "logs"}


def test_json_round_trips_through_the_sdk_model_unchanged() -> None:
    text = observe.dashboard_json()
    assert json.loads(text) == observe.checkout_dashboard()
    model = observe.roundtrip(text)
    assert type(model).__name__ == "Dashboard"
    assert type(model.panels[0].targets[0]).__module__.endswith("models.prometheus")  # typed, not UnknownDataquery
    assert type(model.panels[3].targets[0]).__module__.endswith("models.loki")
    assert observe.dashboard_json(model) == text
    assert observe.roundtrip(observe.checkout_dashboard()) is not None  # a dict works too


def test_roundtrip_reports_what_the_model_changes() -> None:
    data = observe.checkout_dashboard()
    del data["panels"][0]["fieldConfig"]["defaults"]["custom"]  # the SDK's decoder adds "custom": {} back
    with pytest.raises(ValidationError, match="does not round-trip") as err:
        observe.roundtrip(data)
    assert '+          "custom": {}' in err.value.message


def test_json_text_is_stable_and_sorted() -> None:
    assert observe.dashboard_json() == observe.dashboard_json()
    keys = list(json.loads(observe.dashboard_json()))
    assert keys == sorted(keys)


def test_configmap_has_the_sidecar_label_folder_and_the_same_dashboard() -> None:
    cm = observe.dashboard_configmap(observe.checkout_dashboard(), folder="Shop", labels={"team": "course"})
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["name"] == "grafana-dashboard-checkout"
    assert cm["metadata"]["labels"] == {"team": "course", "grafana_dashboard": "1"}
    assert cm["metadata"]["annotations"] == {"grafana_folder": "Shop"}
    assert list(cm["data"]) == ["checkout.json"]
    assert json.loads(cm["data"]["checkout.json"]) == observe.checkout_dashboard()
    assert observe.configmap_dashboard(cm) == observe.checkout_dashboard()
    report = m.validate([cm])
    assert report.ok, report.table()


def test_configmap_refuses_a_dashboard_without_uid_and_bad_names() -> None:
    data = observe.checkout_dashboard()
    del data["uid"]
    with pytest.raises(Exception, match="no uid"):
        observe.dashboard_configmap(data)
    with pytest.raises(Exception, match="DNS-1123"):
        observe.dashboard_configmap(namespace="Monitoring")


def test_sidecar_label_is_the_chart_default_and_the_folder_values_match() -> None:
    assert (dash.DASHBOARD_LABEL, dash.DASHBOARD_LABEL_VALUE) == ("grafana_dashboard", "1")
    sidecar = dash.SIDECAR_FOLDER_VALUES["grafana"]["sidecar"]["dashboards"]
    assert sidecar["folderAnnotation"] == dash.FOLDER_ANNOTATION == "grafana_folder"


def test_the_registry_renders_and_validates_the_dashboard_configmap() -> None:
    assert "03/checkout-dashboard" in m.registered()
    (cm,) = m.render("03/checkout-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "course-lib"
    assert m.validate([cm]).ok


def test_panels_frame_is_one_row_per_query() -> None:
    frame = observe.panels_frame(observe.checkout_dashboard())
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["title", "type", "datasource", "unit", "query"]
    assert list(frame.itertuples(index=False, name=None)) == [
        (t, "timeseries", ds, unit, q)
        for (t, ds, q), unit in zip(EXPECTED, ["reqps", "percentunit", "s", "short"], strict=True)
    ]


def test_panels_inside_rows_are_read_too() -> None:
    data = observe.checkout_dashboard()
    data["panels"] = [{"type": "row", "title": "collapsed", "panels": data["panels"][:1]}, *data["panels"][1:]]
    assert [q[0] for q in observe.panel_queries(data)] == [t for t, _, _ in EXPECTED]


def test_panel_figures_run_each_query_against_its_datasource() -> None:
    asked: list[tuple[str, str]] = []

    class Fake:
        def __init__(self, kind: str, column: str) -> None:
            self.kind, self.column = kind, column

        def query_range(self, expr: str, **_: Any) -> pd.DataFrame:
            asked.append((self.kind, expr))
            ts = pd.date_range("2026-01-01", periods=3, freq="15s", tz="UTC")
            return pd.DataFrame({"timestamp": ts, self.column: "x", "value": [1.0, 2.0, 3.0]})

        stats_range = query_range  # VictoriaLogs' LogsQL counterpart of a range query

    figures = plots.panel_figures(observe.checkout_dashboard(), prom=Fake("prom", "status"), logs=Fake("logs", "level"))  # type: ignore[arg-type]
    titles = [f.layout.title.text for f in figures]
    assert titles == [t if ds == "prometheus" else f"{t} (its LogsQL twin on VictoriaLogs)" for t, ds, _ in EXPECTED]
    twins = {logql: logsql for logql, logsql, _ in observe.LOGQL_TO_LOGSQL}
    assert asked == [("prom", q) if ds == "prometheus" else ("logs", twins[q]) for _, ds, q in EXPECTED]
    assert len(plots.panel_figures(observe.checkout_dashboard(), prom=None)) == 0


def test_importing_course_lib_observe_does_not_import_the_sdk() -> None:
    code = "import course_lib.observe, sys; print('grafana_foundation_sdk' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the "add a panel" check ------------------------------------------------------------------------------------


def test_the_right_answer_passes_as_dict_json_and_builder() -> None:
    assert "5xx requests" in observe.check_dashboard_panel(RIGHT_ANSWER)
    assert observe.check_dashboard_panel(json.dumps(RIGHT_ANSWER))
    assert observe.check_dashboard_panel(builder_with_panel())
    assert observe.check_dashboard_panel(builder_with_panel().build())  # the SDK model
    assert observe.check_dashboard_panel(with_panel('sum(rate(checkout_requests_total{status="500"}[5m]))'))


@pytest.mark.parametrize(
    ("answer", "message", "hint_part"),
    [
        (..., "placeholder", "with_panel"),
        (observe.checkout_dashboard(), "only the four", "fifth panel"),
        (with_panel(unit=None), "no unit", ".unit("),
        (with_panel(unit="percentunit"), "does not fit", "requests-per-second"),
        (with_panel("sum(rate(checkout_requests_total[1m]))"), "5xx", "status label"),
        (with_panel('sum(checkout_requests_total{status=~"5.."})'), "raw counter", "rate(...)"),
        (with_panel(observe.ERROR_RATIO_REFERENCE.replace("[5m]", "[1m]")), "ratio", "per second"),
        (with_panel("sum(checkout_requests_in_flight)"), "does not export checkout_requests_in_flight", "by status"),
        (with_panel('sum(rate(checkout_requests_total{status=~"5.."}[1m])'), "do not balance", "count them"),
        (with_panel(ds="loki"), "Prometheus data source", "prometheus"),
        ({"title": "x", "panels": []}, "not all there", "checkout_dashboard_builder"),
        ("{not json", "not valid JSON", "dict"),
    ],
)
def test_wrong_answers_get_a_hint_without_the_solution(answer: Any, message: str, hint_part: str) -> None:
    with pytest.raises(ExerciseError) as err:
        observe.check_dashboard_panel(answer)
    assert message in err.value.message
    assert hint_part in (err.value.hint or "")
    assert FIVE_XX not in (err.value.hint or "") and "reqps" not in (err.value.hint or "")
