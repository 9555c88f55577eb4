"""The Prometheus and Alertmanager clients against recorded HTTP answers (shaped like Prometheus 2.42's and 3.13's)."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from course_lib.errors import ConfigError, QueryError
from course_lib.observe import Alertmanager, BuildInfo, Prometheus

URL = "http://prom.test:9090"


def _ok(data: object) -> dict:
    return {"status": "success", "data": data}


@pytest.fixture
def prom() -> Prometheus:
    return Prometheus(URL, timeout=2)


@responses.activate
def test_query_returns_tidy_frame(prom: Prometheus) -> None:
    responses.get(
        f"{URL}/api/v1/query",
        json=_ok(
            {
                "resultType": "vector",
                "result": [
                    {"metric": {"job": "checkout", "status": "200"}, "value": [1714564800.5, "4.2"]},
                    {"metric": {"job": "checkout", "status": "500"}, "value": [1714564800.5, "NaN"]},
                ],
            }
        ),
    )
    frame = prom.query("sum by (job, status) (rate(checkout_requests_total[1m]))", time="2024-05-01T12:00:00Z")
    assert list(frame.columns) == ["timestamp", "job", "status", "value"]
    assert frame["value"].iloc[0] == 4.2 and math.isnan(frame["value"].iloc[1])
    sent = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert sent["time"] == ["1714564800.0"]
    assert frame.attrs["result_type"] == "vector"


@responses.activate
def test_query_range_sends_seconds_and_step(prom: Prometheus) -> None:
    responses.get(
        f"{URL}/api/v1/query_range",
        json=_ok({"resultType": "matrix", "result": [{"metric": {"job": "a"}, "values": [[1, "1"], [16, "+Inf"]]}]}),
    )
    frame = prom.query_range("up", start="2024-05-01T11:45:00Z", end="2024-05-01T12:00:00Z", step="1m")
    sent = parse_qs(urlparse(responses.calls[0].request.url).query)
    assert sent["start"] == ["1714563900.0"] and sent["end"] == ["1714564800.0"] and sent["step"] == ["60.0"]
    assert frame["value"].tolist() == [1.0, math.inf]


@responses.activate
def test_promql_error_carries_prometheus_words(prom: Prometheus) -> None:
    responses.get(
        f"{URL}/api/v1/query",
        status=400,
        json={
            "status": "error",
            "errorType": "bad_data",
            "error": 'invalid parameter "query": 1:6: parse error: unexpected "]"',
        },
    )
    with pytest.raises(QueryError) as info:
        prom.query("rate(]")
    exc = info.value
    assert exc.error_type == "bad_data"  # type: ignore[attr-defined]
    assert "unexpected" in exc.error  # type: ignore[attr-defined]
    assert "parse error" in str(exc) and "syntax" in exc.hint


@responses.activate
def test_bad_input_is_rejected_before_any_request(prom: Prometheus) -> None:
    with pytest.raises(ConfigError, match="empty"):
        prom.query("  ")
    with pytest.raises(ConfigError, match="after end"):
        prom.query_range("up", start="now", end="-1h")
    with pytest.raises(ConfigError, match="11,000") as info:
        prom.query_range("up", start="-7d", step="1s")
    assert "step=" in info.value.hint
    assert len(responses.calls) == 0


def test_unreachable_server_gives_a_hint() -> None:
    prom = Prometheus("http://127.0.0.1:9", timeout=1)
    with pytest.raises(QueryError, match="could not reach Prometheus") as info:
        prom.query("up")
    assert "sandbox" in info.value.hint
    assert prom.ready() is False


def test_url_is_checked() -> None:
    with pytest.raises(ConfigError, match="http"):
        Prometheus("127.0.0.1:9090")


@responses.activate
def test_session_is_injectable() -> None:
    session = requests.Session()
    session.headers["X-Test"] = "yes"
    responses.get(f"{URL}/api/v1/labels", json=_ok(["job", "__name__", "instance"]))
    assert Prometheus(URL, session=session).labels() == ["__name__", "instance", "job"]
    assert responses.calls[0].request.headers["X-Test"] == "yes"


@responses.activate
def test_series_and_label_values(prom: Prometheus) -> None:
    responses.get(
        f"{URL}/api/v1/series", json=_ok([{"__name__": "up", "job": "a"}, {"__name__": "up", "job": "b", "x": "1"}])
    )
    responses.get(f"{URL}/api/v1/label/job/values", json=_ok(["b", "a"]))
    frame = prom.series("up")
    assert list(frame.columns) == ["__name__", "job", "x"] and frame["job"].tolist() == ["a", "b"]
    assert prom.label_values("job") == ["a", "b"]
    assert parse_qs(urlparse(responses.calls[0].request.url).query)["match[]"] == ["up"]


@responses.activate
def test_targets(prom: Prometheus) -> None:
    responses.get(
        f"{URL}/api/v1/targets",
        json=_ok(
            {
                "activeTargets": [
                    {
                        "labels": {"job": "checkout", "instance": "127.0.0.1:8080"},
                        "scrapePool": "checkout",
                        "scrapeUrl": "http://127.0.0.1:8080/metrics",
                        "lastError": "",
                        "lastScrape": "2024-05-01T12:00:00.123456789Z",
                        "lastScrapeDuration": 0.0042,
                        "health": "up",
                    },
                    {
                        "labels": {"job": "broken", "instance": "127.0.0.1:1"},
                        "scrapePool": "broken",
                        "scrapeUrl": "http://127.0.0.1:1/metrics",
                        "lastError": "connection refused",
                        "lastScrape": "2024-05-01T12:00:01Z",
                        "lastScrapeDuration": 0.001,
                        "health": "down",
                    },
                ],
                "droppedTargets": [],
            }
        ),
    )
    frame = prom.targets()
    assert frame["job"].tolist() == ["broken", "checkout"]
    assert frame.set_index("job").loc["broken", "last_error"] == "connection refused"
    assert str(frame["last_scrape"].dt.tz) == "UTC"


RULES = {
    "groups": [
        {
            "name": "checkout.rules",
            "file": "/tmp/rules/checkout.yml",
            "interval": 1,
            "rules": [
                {
                    "state": "firing",
                    "name": "CheckoutHighLatency",
                    "query": "histogram_quantile(0.95, ...) > 0.4",
                    "duration": 10,
                    "labels": {"severity": "critical"},
                    "annotations": {"summary": "slow"},
                    "alerts": [{"labels": {"alertname": "CheckoutHighLatency"}, "state": "firing"}],
                    "health": "ok",
                    "type": "alerting",
                },
                {"name": "instance:node_cpu:rate:sum", "query": "sum(...)", "health": "ok", "type": "recording"},
            ],
        }
    ]
}


@responses.activate
def test_rules_and_alerts(prom: Prometheus) -> None:
    responses.get(f"{URL}/api/v1/rules", json=_ok(RULES))
    responses.get(
        f"{URL}/api/v1/alerts",
        json=_ok(
            {
                "alerts": [
                    {
                        "labels": {"alertname": "CheckoutHighLatency", "severity": "critical"},
                        "annotations": {"summary": "Checkout p95 latency is 520ms"},
                        "state": "firing",
                        "activeAt": "2024-05-01T12:00:00Z",
                        "value": "5.2e-01",
                    }
                ]
            }
        ),
    )
    rules = prom.rules()
    assert rules["name"].tolist() == ["CheckoutHighLatency", "instance:node_cpu:rate:sum"]
    assert rules["for_s"].tolist() == [10.0, 0.0] and rules["active_alerts"].tolist() == [1, 0]
    assert rules["label_severity"].iloc[0] == "critical"
    alerts = prom.alerts()
    assert alerts.loc[0, "alertname"] == "CheckoutHighLatency" and alerts.loc[0, "value"] == 0.52
    assert alerts.loc[0, "severity"] == "critical" and alerts.loc[0, "summary"].startswith("Checkout")
    with pytest.raises(ConfigError):
        prom.rules(type="alerting")


@responses.activate
def test_alertmanager_v2_alerts() -> None:
    responses.get(
        "http://am.test:9093/api/v2/alerts",
        json=[
            {
                "annotations": {"summary": "slow"},
                "endsAt": "2024-05-01T12:05:00.000Z",
                "fingerprint": "abc123",
                "receivers": [{"name": "course-webhook"}],
                "startsAt": "2024-05-01T12:00:00.000Z",
                "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
                "updatedAt": "2024-05-01T12:00:01.000Z",
                "generatorURL": "http://prom/graph",
                "labels": {"alertname": "CheckoutHighLatency", "severity": "critical"},
            }
        ],
    )
    frame = Alertmanager("http://am.test:9093").alerts()
    row = frame.iloc[0]
    assert (
        row["alertname"] == "CheckoutHighLatency" and row["state"] == "active" and row["receivers"] == "course-webhook"
    )
    assert not row["silenced"] and row["ends_at"] > row["starts_at"]
    assert parse_qs(urlparse(responses.calls[0].request.url).query)["active"] == ["true"]


@responses.activate
def test_latency_quantiles_one_query_per_quantile(prom: Prometheus) -> None:
    from course_lib.observe import latency_quantiles

    for value in ("0.07", "0.11", "0.45"):
        responses.get(
            f"{URL}/api/v1/query_range",
            json=_ok({"resultType": "matrix", "result": [{"metric": {}, "values": [[1714564800, value]]}]}),
        )
    frame = latency_quantiles(prom, start="-5m", step="5s")
    sent = [parse_qs(urlparse(c.request.url).query)["query"][0] for c in responses.calls]
    assert sent[1] == "histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[1m])))"
    assert frame["quantile"].tolist() == ["p50", "p95", "p99"] and frame["value"].tolist() == [0.07, 0.11, 0.45]
    with pytest.raises(ConfigError):
        latency_quantiles(prom, quantiles=(95,))


@responses.activate
def test_buildinfo_names_the_release_that_answers(prom: Prometheus) -> None:
    # shaped like the answer of the Prometheus 3.13.1 that `make tools` builds (no git revision is stamped)
    responses.get(
        f"{URL}/api/v1/status/buildinfo",
        json=_ok(
            {
                "version": "3.13.1",
                "revision": "",
                "branch": "HEAD",
                "buildUser": "course-lib",
                "buildDate": "",
                "goVersion": "go1.26.8",
            }
        ),
    )
    info = prom.buildinfo()
    assert (info.version, info.branch, info.go_version, info.major) == ("3.13.1", "HEAD", "go1.26.8", 3)
    assert BuildInfo.from_api({"version": "2.42.0+ds"}).major == 2
    assert BuildInfo.from_api({}).major == 0


@responses.activate
def test_alertmanager_buildinfo_reads_version_info() -> None:
    responses.get(
        "http://am.test:9093/api/v2/status",
        json={
            "cluster": {"status": "disabled", "peers": []},
            "config": {"original": "route: {}\n"},
            "uptime": "2026-12-02T03:00:00.000Z",
            "versionInfo": {"branch": "HEAD", "goVersion": "go1.26.8", "revision": "", "version": "0.31.1"},
        },
    )
    info = Alertmanager("http://am.test:9093", timeout=2).buildinfo()
    assert info.version == "0.31.1" and info.major == 0 and info.go_version == "go1.26.8"


def test_a_missing_url_names_the_notebook_parameter_and_the_port_forward() -> None:
    from course_lib import ConfigError, observe

    with pytest.raises(ConfigError) as err:
        observe.Prometheus(None)  # type: ignore[arg-type]  # notebook 03 on a cluster target without prometheus_url
    assert "no Prometheus URL was given" in err.value.message and "prometheus_url" in err.value.message
    assert "port-forward" in str(err.value.hint)
