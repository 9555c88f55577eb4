"""The VictoriaLogs client against recorded answers in the shapes VictoriaLogs documents for its LogsQL API
(docs/victorialogs/querying/README.md of v1.52.1: JSON lines for /query, {"hits": [...]} for /hits, Prometheus'
matrix for /stats_query_range, {"values": [...]} for the field listings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from course_lib import observe, plots
from course_lib.errors import ConfigError, QueryError
from course_lib.observe import LOGQL_TO_LOGSQL, VictoriaLogs

URL = "http://victorialogs.test:9428"

ENTRIES = [  # newest first, as /select/logsql/query sends the newest `limit` entries
    {
        "_msg": 'msg="checkout failed" status=500 error="payment backend unavailable" duration_ms=20',
        "_stream": '{app="checkout",job="shop/checkout",level="error",namespace="shop"}',
        "_stream_id": "0000000000000000e934a84adb05276890d7f7bfcadabe92",
        "_time": "2024-05-01T12:00:05.123456789Z",
        "app": "checkout",
        "job": "shop/checkout",
        "level": "error",
        "namespace": "shop",
    },
    {
        "_msg": 'msg="checkout ok" status=200 order=1234 duration_ms=50',
        "_stream": '{app="checkout",job="shop/checkout",level="info",namespace="shop"}',
        "_stream_id": "00000000000000002f0e4c2d1ae1ad3d25d1a1e1a2d1b2c3",
        "_time": "2024-05-01T12:00:01Z",
        "app": "checkout",
        "job": "shop/checkout",
        "level": "info",
        "namespace": "shop",
    },
]

STATS = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"__name__": "count(*)", "level": "info"}, "values": [[1714564800, "40"], [1714564860, "38"]]},
            {"metric": {"__name__": "count(*)", "level": "error"}, "values": [[1714564800, "2"], [1714564860, "5"]]},
        ],
    },
}

HITS = {
    "hits": [
        {
            "fields": {"level": "error"},
            "timestamps": ["2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z"],
            "values": [2, 5],
            "total": 7,
        },
        {
            "fields": {"level": "info"},
            "timestamps": ["2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z"],
            "values": [40, 38],
            "total": 78,
        },
    ]
}


def _sent() -> dict[str, list[str]]:
    return parse_qs(urlparse(responses.calls[-1].request.url).query)


@responses.activate
def test_query_gives_lines_oldest_first_with_stream_fields() -> None:
    body = "\n".join(json.dumps(e) for e in ENTRIES) + "\n"
    responses.get(f"{URL}/select/logsql/query", body=body, content_type="application/stream+json")
    frame = VictoriaLogs(URL).query(
        '{app="checkout"}', start="2024-05-01T12:00:00Z", end="2024-05-01T12:01:00Z", limit=50
    )
    assert list(frame.columns) == ["timestamp", "app", "job", "level", "namespace", "line"]
    assert frame["level"].tolist() == ["info", "error"]
    assert frame["timestamp"].iloc[0] == datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)
    assert frame["line"].iloc[1].startswith('msg="checkout failed"')
    sent = _sent()
    assert sent["query"] == ['{app="checkout"}'] and sent["limit"] == ["50"]
    assert sent["start"] == ["1714564800.000"] and sent["end"] == ["1714564860.000"]


@responses.activate
def test_query_fields_pick_columns_and_empty_answer_is_an_empty_frame() -> None:
    responses.get(f"{URL}/select/logsql/query", body="\n".join(json.dumps(e) for e in ENTRIES))
    frame = VictoriaLogs(URL).query('{app="checkout"}', fields=["level"])
    assert list(frame.columns) == ["timestamp", "level", "line"]
    responses.get(f"{URL}/select/logsql/query", body="")
    empty = VictoriaLogs(URL).query('{app="nothing"}', fields=["level"])
    assert list(empty.columns) == ["timestamp", "level", "line"] and empty.empty


@responses.activate
def test_stats_range_gives_the_frame_of_a_prometheus_range_query() -> None:
    responses.get(f"{URL}/select/logsql/stats_query_range", json=STATS)
    frame = VictoriaLogs(URL).stats_range('{app="checkout"} | stats by (level) count()', start="-2m", step="1m")
    assert list(frame.columns) == ["timestamp", "level", "value"]
    assert sorted(frame["value"].tolist()) == [2.0, 5.0, 38.0, 40.0]
    assert _sent()["step"] == ["60s"]
    # a range query's matrix gives a frame of the same shape, so the same plots draw both
    matrix = observe.matrix_frame([{"metric": {"level": "error"}, "values": [[1714564800, "2"]]}])
    assert list(matrix.columns) == list(frame.columns)
    fig = plots.log_volume(frame)
    assert {t.name for t in fig.data} == {"error", "info"}


@responses.activate
def test_hits_grouped_by_level() -> None:
    responses.get(f"{URL}/select/logsql/hits", json=HITS)
    frame = VictoriaLogs(URL).hits('{app="checkout"}', step="1m", by=["level"])
    assert list(frame.columns) == ["timestamp", "level", "value"]
    assert frame.groupby("level")["value"].sum().to_dict() == {"error": 7.0, "info": 78.0}
    assert _sent()["field"] == ["level"]


@responses.activate
def test_stream_fields_and_field_values() -> None:
    responses.get(
        f"{URL}/select/logsql/stream_field_names",
        json={
            "values": [{"value": "namespace", "hits": 9}, {"value": "app", "hits": 9}, {"value": "level", "hits": 9}]
        },
    )
    responses.get(
        f"{URL}/select/logsql/field_values",
        json={"values": [{"value": "warn", "hits": 1}, {"value": "info", "hits": 8}]},
    )
    logs = VictoriaLogs(URL)
    assert logs.stream_fields() == ["app", "level", "namespace"]
    assert logs.field_values("level") == ["info", "warn"]
    assert _sent()["field"] == ["level"]


@responses.activate
def test_bad_logsql_is_a_query_error_with_the_servers_message() -> None:
    # VictoriaLogs answers a query it cannot parse with HTTP 400 and a plain-text reason.
    message = 'cannot parse query [{app="checkout"} | stats by (level]: missing `)`'
    for path in ("query", "stats_query_range"):
        responses.get(f"{URL}/select/logsql/{path}", status=400, body=message, content_type="text/plain")
    logs = VictoriaLogs(URL)
    with pytest.raises(QueryError, match="cannot parse query"):
        logs.query('{app="checkout"} | stats by (level')
    with pytest.raises(QueryError, match="cannot parse query"):
        logs.stats_range('{app="checkout"} | stats by (level count()')


def test_input_is_checked_before_any_request() -> None:
    logs = VictoriaLogs(URL)  # nothing is registered: any request would fail with a connection error
    with pytest.raises(ConfigError, match="empty"):
        logs.query("  ")
    with pytest.raises(ConfigError, match="limit"):
        logs.query("*", limit=0)
    with pytest.raises(ConfigError, match="stats pipe"):
        logs.stats_range('{app="checkout"}')
    with pytest.raises(ConfigError, match=r"start \(.*\) is after end"):
        logs.hits("*", start="now", end="-1h")
    with pytest.raises(ConfigError, match="field name"):
        logs.field_values("")


def test_every_logql_question_has_a_logsql_twin() -> None:
    assert len(LOGQL_TO_LOGSQL) >= 5
    for logql, logsql, answers in LOGQL_TO_LOGSQL:
        assert "{app=" in logql or "{namespace=" in logql
        assert logsql.startswith("{") and answers
        assert "|=" not in logsql and "| logfmt" not in logsql  # LogQL syntax does not leak into LogsQL
