"""wait_for_alert / wait_for_notification: polling with one deadline, stable reprs."""

from __future__ import annotations

import pandas as pd
import pytest

from course_lib.errors import ConfigError, QueryError
from course_lib.observe import prometheus_alerts_frame, wait_for_alert, wait_for_notification


class ScriptedProm:
    """Answers /api/v1/alerts from a script: one state list per poll."""

    def __init__(self, states: list[list[str]]) -> None:
        self.states = states
        self.polls = 0

    def alerts(self) -> pd.DataFrame:
        now = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return prometheus_alerts_frame(
            {
                "alerts": [
                    {
                        "labels": {"alertname": "CheckoutHighLatency"},
                        "state": s,
                        "activeAt": "2024-05-01T12:00:00Z",
                        "value": "0.5",
                    }
                    for s in now
                ]
            }
        )


def test_waits_through_pending_to_firing() -> None:
    prom = ScriptedProm([[], ["pending"], ["pending"], ["firing"]])
    result = wait_for_alert(prom, "CheckoutHighLatency", state="firing", timeout=5, interval=0.01)  # type: ignore[arg-type]
    assert prom.polls == 4 and result.state == "firing" and len(result.rows) == 1
    assert repr(result) == "AlertWait(alertname='CheckoutHighLatency', state='firing', what='firing in Prometheus')"


def test_inactive_and_timeout() -> None:
    assert (
        wait_for_alert(
            ScriptedProm([["firing"], []]), "CheckoutHighLatency", state="inactive", timeout=5, interval=0.01
        ).state
        == "inactive"
    )  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="timed out") as info:
        wait_for_alert(ScriptedProm([["pending"]]), "CheckoutHighLatency", state="firing", timeout=0.05, interval=0.01)  # type: ignore[arg-type]
    assert "prom.rules()" in info.value.hint
    with pytest.raises(ConfigError):
        wait_for_alert(ScriptedProm([[]]), "X", state="resolved", timeout=1)  # type: ignore[arg-type]


def test_notification_wait_filters_by_alert_and_status() -> None:
    inbox: list[dict] = []
    payload = {
        "status": "firing",
        "receiver": "r",
        "alerts": [{"status": "firing", "labels": {"alertname": "HighNodeCPU"}}],
    }

    def fetch() -> list[dict]:
        if len(inbox) == 0:
            inbox.append(payload)  # another alert first: must not count
        elif len(inbox) == 1:
            inbox.append(
                {**payload, "alerts": [{"status": "resolved", "labels": {"alertname": "CheckoutHighLatency"}}]}
            )
        return list(inbox)

    result = wait_for_notification(fetch, "CheckoutHighLatency", status="resolved", timeout=5, interval=0.01)
    assert result.rows["alertname"].tolist() == ["CheckoutHighLatency"] and len(inbox) == 2
    with pytest.raises(ConfigError):
        wait_for_notification(fetch, "X", status="pending", timeout=1)  # type: ignore[arg-type]
