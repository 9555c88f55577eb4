"""The "Your turn" check of notebook 03: the checkout error ratio in PromQL.

The learner's query runs against the live Prometheus next to a reference query, at the same instant, and a
wrong answer gets a specific hint (no rate, no sum, no status filter, a percentage instead of a ratio ...).

Used in: notebook 03.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import ExerciseError, QueryError

if TYPE_CHECKING:  # pragma: no cover
    from ._prometheus import Prometheus

#: The reference answer: the share of checkout requests that failed with a 5xx status over 5 minutes.
ERROR_RATIO_REFERENCE = 'sum(rate(checkout_requests_total{status=~"5.."}[5m])) / sum(rate(checkout_requests_total[5m]))'


@dataclass(frozen=True, repr=False)
class CheckResult:
    """A passed exercise check: the learner's value next to the reference value.

    Its ``repr`` leaves out the live values, so an executed notebook shows the same text every run.
    """

    exercise: str
    query: str
    value: float
    expected: float
    message: str

    def __repr__(self) -> str:
        return f"CheckResult(exercise={self.exercise!r}, ok=True)"

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return f"✅ **{self.exercise}**: correct, your query gives the same ratio as the reference"


def _fail(message: str, hint: str, query: str) -> ExerciseError:
    return ExerciseError(message, hint=hint, query=query)


def _single_value(prom: Prometheus, promql: str, at: datetime) -> tuple[float | None, int]:
    frame = prom.query(promql, time=at)
    if frame.empty:
        return None, 0
    return float(frame["value"].iloc[0]), len(frame)


def check_error_ratio(prom: Prometheus, query: str, *, rel_tol: float = 1e-6) -> CheckResult:
    """Check a PromQL answer for "the fraction of checkout requests that failed (HTTP 5xx) over 5 minutes".

    Args:
        prom: the Prometheus to ask (the sandbox's or the cluster's).
        query: the learner's PromQL.
        rel_tol: relative tolerance when comparing with the reference.

    Returns:
        A :class:`CheckResult` when the answer matches the reference.

    Raises:
        ExerciseError: the answer is not right yet; the hint says what to change.

    Example:
        >>> check_error_ratio(prom, ERROR_RATIO_REFERENCE)                                  # doctest: +SKIP
        CheckResult(exercise='checkout error ratio', ...)

    Used in: notebook 03.
    """
    exercise = "checkout error ratio"
    text = (query or "").strip()
    if not text:
        raise _fail("the answer is empty", "write a PromQL expression in the answer cell", text)
    at = datetime.now(UTC).replace(microsecond=0)
    expected, _ = _single_value(prom, ERROR_RATIO_REFERENCE, at)
    if expected is None or math.isnan(expected):
        raise ExerciseError(
            "the reference has no data yet, so there is nothing to compare with",
            hint="the checkout service needs a minute of traffic: run stack.set_traffic(rps=5.0), wait, and check again",
        )
    try:
        value, count = _single_value(prom, text, at)
    except QueryError as exc:
        raise _fail(
            f"Prometheus could not run the answer: {getattr(exc, 'error', exc.message)}",
            'fix the syntax first: balanced parentheses, {status=~"5.."} in braces, [5m] in square brackets',
            text,
        ) from None
    compact = re.sub(r"\s+", "", text)
    if "checkout_requests_total" not in compact:
        raise _fail(
            "the answer does not use checkout_requests_total",
            "count requests with the counter checkout_requests_total",
            text,
        )
    if value is None:
        if "sum" not in compact:
            raise _fail(
                "the answer returned no series",
                'dividing two vectors matches series label by label; the status="500" series has no partner in the '
                "denominator. Wrap both sides in sum(...) so each is a single series",
                text,
            )
        raise _fail(
            "the answer returned no series",
            'check the label matcher: the status label holds HTTP codes such as "200" and "500" (try status=~"5..")',
            text,
        )
    if count > 1:
        raise _fail(
            f"the answer returned {count} series, the ratio is one number",
            "aggregate away the labels: sum(...) the numerator and the denominator separately",
            text,
        )
    if not re.search(r"\b(rate|irate|increase)\(", compact):
        raise _fail(
            "the answer divides raw counter values",
            "counters only grow since the process started; take rate(checkout_requests_total[5m]) on both sides "
            "so you compare the last five minutes",
            text,
        )
    if math.isnan(value):
        raise _fail(
            "the answer is NaN (0/0)", "the denominator is zero: divide by all requests, not only the errors", text
        )
    if expected > 0 and math.isclose(value, 1.0 / expected, rel_tol=1e-6) and "100" not in compact:
        raise _fail(
            f"the answer is {value:.4g}, the inverse of the ratio",
            'a share of requests cannot exceed 1: put the errors (status=~"5..") over all requests, not the other way round',
            text,
        )
    if math.isclose(value, expected * 100, rel_tol=1e-3) and expected > 0:
        raise _fail(
            f"the answer is {value:.4g}, a percentage",
            "the exercise asks for a ratio between 0 and 1: drop the * 100",
            text,
        )
    if value > 1.0 + 1e-9:
        raise _fail(
            f"the answer is {value:.4g}, more than 1",
            'a share of requests cannot exceed 1: put the errors (status=~"5..") over all requests, not the other way round',
            text,
        )
    if math.isclose(value, 1.0, rel_tol=1e-9) and not math.isclose(expected, 1.0, rel_tol=1e-6):
        if not re.search(r"\bsum\b", compact):
            raise _fail(
                "the answer is exactly 1",
                'without sum(...), division matches series label by label, so the status="500" series is divided '
                "by itself. Wrap both sides in sum(...) so each is one series over all statuses",
                text,
            )
        raise _fail(
            "the answer is exactly 1",
            'the numerator counts every request: add the status filter {status=~"5.."} to the numerator only',
            text,
        )
    if not math.isclose(value, expected, rel_tol=rel_tol, abs_tol=1e-12):
        window = re.findall(r"\[(\w+)\]", compact)
        if window and any(w != "5m" for w in window):
            raise _fail(
                f"the answer is {value:.4g} but the 5-minute ratio is {expected:.4g}",
                f"use a 5m window on both sides (you used {', '.join(sorted(set(window)))})",
                text,
            )
        raise _fail(
            f"the answer is {value:.4g} but the expected ratio is {expected:.4g}",
            'divide the 5xx rate by the rate of all requests: sum(rate(…{status=~"5.."}[5m])) / sum(rate(…[5m]))',
            text,
        )
    return CheckResult(
        exercise=exercise,
        query=text,
        value=value,
        expected=expected,
        message=f"correct: {value:.2%} of checkout requests failed over the last 5 minutes",
    )
