"""Webhook notifications and the ALERTS timeline."""

from __future__ import annotations

import pandas as pd

from course_lib.observe import matrix_frame, notifications_frame, timeline_frame

FIRING = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutHighLatency"}',
    "status": "firing",
    "receiver": "course-webhook",
    "groupLabels": {"alertname": "CheckoutHighLatency"},
    "commonLabels": {"alertname": "CheckoutHighLatency", "severity": "critical"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "CheckoutHighLatency", "severity": "critical"},
            "annotations": {"summary": "Checkout p95 latency is 520ms"},
            "startsAt": "2024-05-01T12:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "abc",
        }
    ],
    "received_at": 1714564805.5,
}


def test_notifications_frame_from_sandbox_records() -> None:
    resolved = {
        **FIRING,
        "status": "resolved",
        "alerts": [{**FIRING["alerts"][0], "status": "resolved", "endsAt": "2024-05-01T12:03:00Z"}],
        "received_at": 1714564990.0,
    }
    frame = notifications_frame([FIRING, resolved])
    assert frame["status"].tolist() == ["firing", "resolved"]
    assert frame["alertname"].tolist() == ["CheckoutHighLatency"] * 2
    assert pd.isna(frame.loc[0, "ends_at"])  # Alertmanager's zero time means "still firing"
    assert frame.loc[1, "ends_at"] == pd.Timestamp("2024-05-01T12:03:00Z")
    assert frame.loc[0, "received_at"] == pd.Timestamp("2024-05-01T12:00:05.5Z")
    assert frame.loc[0, "severity"] == "critical"


def test_notifications_frame_wrapped_and_empty() -> None:
    wrapped = {
        "payload": {k: v for k, v in FIRING.items() if k != "received_at"},
        "received_at": "2024-05-01T12:00:05Z",
    }
    frame = notifications_frame([wrapped])
    assert frame.loc[0, "received_at"] == pd.Timestamp("2024-05-01T12:00:05Z")
    empty = notifications_frame([])
    assert empty.empty and "status" in empty.columns


def _alerts_series(state: str, seconds: range, **labels: str) -> dict:
    metric = {"__name__": "ALERTS", "alertname": "CheckoutHighLatency", "alertstate": state, **labels}
    return {"metric": metric, "values": [[1714564800 + s, "1"] for s in seconds]}


def test_timeline_pending_firing_resolved() -> None:
    frame = matrix_frame(
        [
            _alerts_series("pending", range(0, 20, 5), severity="critical"),
            _alerts_series("firing", range(20, 60, 5), severity="critical"),
        ]
    )
    end = pd.Timestamp("2024-05-01T12:02:00Z")
    timeline = timeline_frame(frame, step=5, end=end)
    assert timeline["state"].tolist() == ["pending", "firing", "resolved"]
    t0 = pd.Timestamp("2024-05-01T12:00:00Z")
    assert timeline.loc[0, "start"] == t0 and timeline.loc[0, "end"] == t0 + pd.Timedelta(seconds=20)
    assert timeline.loc[1, "end"] == t0 + pd.Timedelta(seconds=60)
    assert timeline.loc[2, "start"] == timeline.loc[1, "end"] and timeline.loc[2, "end"] == end
    assert timeline["duration_s"].tolist() == [20.0, 40.0, 60.0]
    assert timeline.loc[0, "labels"] == "severity=critical"


def test_timeline_still_firing_has_no_resolved_band_and_gaps_split_runs() -> None:
    frame = matrix_frame(
        [
            _alerts_series("firing", range(0, 30, 5)),
            _alerts_series("pending", [*range(100, 110, 5), *range(200, 210, 5)]),
        ]
    )
    timeline = timeline_frame(frame, step=5, end=pd.Timestamp("2024-05-01T12:00:30Z"))
    assert "resolved" not in timeline["state"].tolist()
    assert timeline["state"].tolist().count("pending") == 2


def test_timeline_empty() -> None:
    assert timeline_frame(matrix_frame([]), step=5).empty
