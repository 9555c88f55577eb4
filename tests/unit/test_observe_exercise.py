"""The error-ratio exercise check, with an injected Prometheus that answers like the real one would."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from course_lib.errors import ExerciseError, QueryError
from course_lib.observe import ERROR_RATIO_REFERENCE, CheckResult, check_error_ratio, vector_frame
from course_lib.observe._http import query_error

REF_VALUE = 0.1


class FakeProm:
    """Answers known queries with vector frames; unknown text is a parse error, as Prometheus would say."""

    def __init__(self, answers: dict[str, list[tuple[dict[str, str], float]]]) -> None:
        self.answers = answers
        self.times: list[Any] = []

    def query(self, promql: str, *, time: Any = None) -> pd.DataFrame:
        self.times.append(time)
        if promql not in self.answers:
            raise query_error("Prometheus", error_type="bad_data", error="1:1: parse error: unexpected character")
        return vector_frame([{"metric": labels, "value": [1714564800, repr(v)]} for labels, v in self.answers[promql]])


RIGHT = 'sum(rate(checkout_requests_total{status="500"}[5m])) / sum(rate(checkout_requests_total[5m]))'
NO_SUM = 'rate(checkout_requests_total{status="500"}[5m]) / rate(checkout_requests_total[5m])'
NO_SUM_EQ = 'rate(checkout_requests_total{status="500"}[5m]) / on(job) rate(checkout_requests_total{status="200"}[5m])'
RAW = 'sum(checkout_requests_total{status="500"}) / sum(checkout_requests_total)'
PERCENT = f"100 * {RIGHT}"
WINDOW = 'sum(rate(checkout_requests_total{status="500"}[1m])) / sum(rate(checkout_requests_total[1m]))'
NO_FILTER = "sum(rate(checkout_requests_total[5m])) / sum(rate(checkout_requests_total[5m]))"
BY_STATUS = 'sum by (status) (rate(checkout_requests_total{status=~"5.."}[5m])) / ignoring(status) group_left sum(rate(checkout_requests_total[5m]))'
INVERTED = 'sum(rate(checkout_requests_total[5m])) / sum(rate(checkout_requests_total{status="500"}[5m]))'


def _prom() -> FakeProm:
    return FakeProm(
        {
            ERROR_RATIO_REFERENCE: [({}, REF_VALUE)],
            RIGHT: [({}, REF_VALUE)],
            # real Prometheus matches status="500" with itself: one series, value 1 (see the integration test)
            NO_SUM: [({"job": "checkout", "status": "500"}, 1.0)],
            NO_SUM_EQ: [],
            RAW: [({}, 0.0371)],
            PERCENT: [({}, REF_VALUE * 100)],
            WINDOW: [({}, 0.14)],
            NO_FILTER: [({}, 1.0)],
            BY_STATUS: [({"status": "500"}, REF_VALUE), ({"status": "503"}, 0.0)],
            INVERTED: [({}, 10.0)],
        }
    )


def test_right_answer_passes_and_both_run_at_the_same_instant() -> None:
    prom = _prom()
    result = check_error_ratio(prom, RIGHT)  # type: ignore[arg-type]
    assert isinstance(result, CheckResult) and result.value == pytest.approx(REF_VALUE)
    assert "10.00%" in result.message
    assert prom.times[0] == prom.times[1] is not None


@pytest.mark.parametrize(
    ("answer", "hint_part"),
    [
        (NO_SUM, "divided by itself"),
        (NO_SUM_EQ, "Wrap both sides in sum(...)"),
        (RAW, "rate(checkout_requests_total[5m])"),
        (PERCENT, "drop the * 100"),
        (WINDOW, "5m window"),
        (NO_FILTER, 'status filter {status=~"5.."}'),
        (BY_STATUS, "sum(...) the numerator and the denominator"),
        (INVERTED, "cannot exceed 1"),
        ("sum(rate(checkout_requests_total[5m]", "fix the syntax"),
        ("", "write a PromQL expression"),
    ],
)
def test_wrong_answers_get_specific_hints(answer: str, hint_part: str) -> None:
    with pytest.raises(ExerciseError) as info:
        check_error_ratio(_prom(), answer)  # type: ignore[arg-type]
    assert hint_part in info.value.hint


def test_no_traffic_yet_is_explained() -> None:
    prom = FakeProm({ERROR_RATIO_REFERENCE: []})
    with pytest.raises(ExerciseError, match="no data yet") as info:
        check_error_ratio(prom, RIGHT)  # type: ignore[arg-type]
    assert "traffic" in info.value.hint


def test_query_error_type_is_kept() -> None:
    exc = query_error("Prometheus", error_type="bad_data", error="boom")
    assert isinstance(exc, QueryError) and exc.error == "boom"  # type: ignore[attr-defined]
