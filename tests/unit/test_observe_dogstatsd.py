"""DogStatsD datagrams (the wire format the Datadog Agent receives), the loopback listener, and the check that the
seed's monitors read what an app sends."""

from __future__ import annotations

import math
import socket

import pytest

from course_lib.errors import ConfigError, ValidationError
from course_lib.observe import (
    DogStatsdListener,
    check_monitor_inputs,
    monitor_inputs,
    monitor_inputs_frame,
    parse_datagrams,
    queryable_names,
    seed_monitors,
)


def test_a_full_line_with_every_optional_field() -> None:
    [d] = parse_datagrams("custom.checkout.latency:94.5|h|@0.5|#env:course,service:checkout-api|T1733000000|c:in-42")
    assert (d.name, d.value, d.type, d.sample_rate) == ("custom.checkout.latency", 94.5, "h", 0.5)
    assert d.tags == ("env:course", "service:checkout-api")
    assert (d.timestamp, d.container) == (1733000000, "in-42")
    assert d.tag("service") == "checkout-api" and d.tag("route") is None


def test_packed_values_several_lines_and_non_metrics() -> None:
    packet = b"a.b:1:2:3|d\n_e{5,4}:title|text\n_sc|svc.up|0\nc.d:7|c\n"
    got = parse_datagrams(packet)
    assert [(d.name, d.value) for d in got] == [("a.b", 1.0), ("a.b", 2.0), ("a.b", 3.0), ("c.d", 7.0)]
    [s] = parse_datagrams("users.unique:alice|s")
    assert s.type == "s" and math.isnan(s.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("no-value|c", "not a DogStatsD metric line"),
        ("custom.x:1", "not a DogStatsD metric line"),
        ("custom.x:1|q", "unknown DogStatsD type 'q'"),
        ("9starts.with.digit:1|c", "not a DogStatsD metric line"),
    ],
)
def test_bad_lines_are_named(line: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_datagrams(line)


def test_scope_matching_is_datadogs() -> None:
    [d] = parse_datagrams("m.x:1|g|#service:checkout-api,env:course")
    assert d.matches("*") and d.matches("service:checkout-api") and d.matches("env:course, service:checkout-api")
    assert not d.matches("service:payments") and not d.matches("service:checkout-api,region:fra1")


def test_the_listener_binds_loopback_and_keeps_what_arrives() -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        DogStatsdListener(host="0.0.0.0")
    with pytest.raises(ConfigError, match="port"):
        DogStatsdListener(port=70000)
    with DogStatsdListener() as listener, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        assert listener.host == "127.0.0.1" and listener.port > 0
        client.sendto(b"custom.checkout.latency:12|h|#service:checkout-api", ("127.0.0.1", listener.port))
        client.sendto(b"this is not statsd", ("127.0.0.1", listener.port))
        client.sendto(b"custom.checkout.latency:30|h|#service:checkout-api", ("127.0.0.1", listener.port))
        got = listener.wait("custom.checkout.latency", 2, timeout=5)
        assert [d.value for d in got] == [12.0, 30.0]
        assert listener.rejected == ["this is not statsd"]
        frame = listener.frame()
        assert list(frame["type"]) == ["histogram", "histogram"]
        with pytest.raises(
            ValidationError, match=r"0 of 1 other.metric samples .*\(names seen: custom.checkout.latency\)"
        ):
            listener.wait("other.metric", timeout=0.2)


def test_monitor_inputs_follow_the_monitors_queries() -> None:
    sent = parse_datagrams(
        "custom.checkout.latency:80|d|#service:checkout-api\ncustom.checkout.latency:90|d|#service:x"
    )
    inputs = monitor_inputs(seed_monitors(), sent)
    # the CPU monitor reads an Agent metric and the composite reads monitors: neither is the app's
    assert [(i.monitor, i.metric, i.scope, i.samples) for i in inputs] == [
        ("latency_anomaly", "custom.checkout.latency", "service:checkout-api", 1),
        ("latency_high", "custom.checkout.latency", "service:checkout-api", 1),
    ]
    check_monitor_inputs(inputs)
    assert list(monitor_inputs_frame(inputs)["fed"]) == [True, True]
    renamed = monitor_inputs(seed_monitors(metric="custom.checkout.duration"), sent)
    with pytest.raises(
        ValidationError, match=r"latency_anomaly reads custom.checkout.duration\{service:checkout-api\}"
    ):
        check_monitor_inputs(renamed)
    with pytest.raises(ValidationError, match="no monitor reads an app metric"):
        check_monitor_inputs([])


def test_a_histogram_is_stored_under_suffixed_names_so_the_seed_monitor_reads_nothing() -> None:
    sent = parse_datagrams(
        "custom.checkout.latency:80|h|#service:checkout-api\ncustom.checkout.requests:1|c|#service:checkout-api"
    )
    assert queryable_names("custom.checkout.latency", "ms") == sent[0].queryable
    assert sent[0].queryable == tuple(
        f"custom.checkout.latency.{s}" for s in ("avg", "count", "median", "max", "95percentile")
    )
    inputs = monitor_inputs(seed_monitors(), sent)
    assert [i.samples for i in inputs] == [0, 0]
    assert inputs[0].stored_as == tuple(sorted(sent[0].queryable))  # the request counter is not offered
    with pytest.raises(ValidationError) as caught:
        check_monitor_inputs(inputs)
    assert "custom.checkout.latency.avg" in str(caught.value) and "distribution" in str(caught.value)
    # querying one of the stored names is fed by the same histogram
    fixed = monitor_inputs(seed_monitors(metric="custom.checkout.latency.avg"), sent)
    assert [i.samples for i in fixed] == [1, 1]
    with pytest.raises(ConfigError, match="unknown DogStatsD type"):
        queryable_names("x", "q")
