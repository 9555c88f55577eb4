"""The Loki client against recorded answers shaped like Loki's documented HTTP API responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from course_lib.errors import ConfigError, QueryError
from course_lib.observe import Loki

URL = "http://loki.test:3100"

STREAMS = {
    "status": "success",
    "data": {
        "resultType": "streams",
        "result": [
            {
                "stream": {"app": "checkout", "level": "error", "namespace": "default"},
                "values": [
                    ["1714564805000000000", 'level=error msg="payment backend unavailable"'],
                    ["1714564801000000000", 'level=error msg="payment backend unavailable"'],
                ],
            },
            {
                "stream": {"app": "checkout", "level": "info", "namespace": "default"},
                "values": [["1714564803000000000", 'level=info msg="order 1234 ok"']],
            },
        ],
        "stats": {"summary": {"bytesProcessedPerSecond": 1, "linesProcessedPerSecond": 1, "totalBytesProcessed": 1}},
    },
}

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"level": "error"}, "values": [[1714564800, "2"], [1714564860, "5"]]},
            {"metric": {"level": "info"}, "values": [[1714564800, "40"], [1714564860, "38"]]},
        ],
        "stats": {},
    },
}


@responses.activate
def test_log_query_range_gives_lines_oldest_first() -> None:
    responses.get(f"{URL}/loki/api/v1/query_range", json=STREAMS)
    frame = Loki(URL).query_range(
        '{app="checkout"}', start="2024-05-01T12:00:00Z", end="2024-05-01T12:01:00Z", limit=50
    )
    assert list(frame.columns) == ["timestamp", "app", "level", "namespace", "line"]
    assert frame["level"].astype(str).tolist() == ["error", "info", "error"]
    assert frame["timestamp"].iloc[0] == datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)
    sent = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert sent["start"] == ["1714564800000000000"] and sent["end"] == ["1714564860000000000"]
    assert sent["limit"] == ["50"] and sent["direction"] == ["backward"]


@responses.activate
def test_metric_query_gives_prometheus_style_frame() -> None:
    responses.get(f"{URL}/loki/api/v1/query_range", json=MATRIX)
    frame = Loki(URL).query_range('sum by (level) (count_over_time({app="checkout"}[1m]))', step="1m")
    assert list(frame.columns) == ["timestamp", "level", "value"]
    assert frame["value"].tolist() == [2.0, 5.0, 40.0, 38.0]
    assert parse_qs(urlparse(responses.calls[0].request.url).query)["step"] == ["60.0"]


@responses.activate
def test_instant_query_and_labels_and_tenant() -> None:
    responses.get(
        f"{URL}/loki/api/v1/query",
        json={
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {"level": "error"}, "value": [1714564800, "7"]}]},
        },
    )
    responses.get(f"{URL}/loki/api/v1/labels", json={"status": "success", "data": ["namespace", "app", "level"]})
    responses.get(f"{URL}/loki/api/v1/label/level/values", json={"status": "success", "data": ["info", "error"]})
    loki = Loki(URL, tenant="team-a")
    assert loki.query('sum by (level) (count_over_time({app="checkout"}[5m]))')["value"].tolist() == [7.0]
    assert loki.labels() == ["app", "level", "namespace"]
    assert loki.label_values("level") == ["error", "info"]
    assert all(call.request.headers["X-Scope-OrgID"] == "team-a" for call in responses.calls)


@responses.activate
def test_logql_parse_error_is_a_query_error() -> None:
    # Loki answers a bad query with HTTP 400 and a plain-text body.
    responses.get(
        f"{URL}/loki/api/v1/query_range",
        status=400,
        body="parse error at line 1, col 1: syntax error: unexpected IDENTIFIER",
        content_type="text/plain; charset=utf-8",
    )
    with pytest.raises(QueryError, match="syntax error") as info:
        Loki(URL).query_range("app=checkout")
    assert info.value.error_type == "bad_data"  # type: ignore[attr-defined]


@responses.activate
def test_push_sends_loki_json_and_counts_lines() -> None:
    responses.post(f"{URL}/loki/api/v1/push", status=204)
    sent = Loki(URL).push(
        [
            {
                "stream": {"app": "checkout", "level": "info"},
                "values": [[datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "order ok"], [1714564801000000000, "order ok"]],
            }
        ]
    )
    assert sent == 2
    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "streams": [
            {
                "stream": {"app": "checkout", "level": "info"},
                "values": [["1714564800000000000", "order ok"], ["1714564801000000000", "order ok"]],
            }
        ]
    }
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_push_refused_by_loki() -> None:
    responses.post(f"{URL}/loki/api/v1/push", status=400, body="entry too far behind")
    with pytest.raises(QueryError, match="too far behind"):
        Loki(URL).push([{"stream": {"app": "a"}, "values": [["1", "x"]]}])


@pytest.mark.parametrize(
    "streams",
    [
        [],
        {"stream": {"app": "a"}, "values": [["1", "x"]]},
        [{"stream": {}, "values": [["1", "x"]]}],
        [{"stream": {"app": "a"}, "values": []}],
        [{"stream": {"app": "a"}, "values": [["1", 5]]}],
        [{"stream": {"app": "a"}, "values": [["yesterday", "x"]]}],
        [{"stream": {"app": 1}, "values": [["1", "x"]]}],
    ],
)
@responses.activate
def test_push_rejects_bad_streams_before_sending(streams: object) -> None:
    with pytest.raises(ConfigError):
        Loki(URL).push(streams)  # type: ignore[arg-type]
    assert len(responses.calls) == 0


def test_query_input_checks() -> None:
    loki = Loki(URL)
    with pytest.raises(ConfigError, match="empty"):
        loki.query("")
    with pytest.raises(ConfigError, match="direction"):
        loki.query('{app="a"}', direction="up")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="limit"):
        loki.query_range('{app="a"}', limit=0)
