"""Wait for alert states and webhook notifications, with one deadline per wait.

The results print the same way every run (no timings in their text), so executed notebooks stay comparable.

Used in: notebook 03.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, QueryError
from ._alerts import notifications_frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._prometheus import Prometheus

AlertState = Literal["pending", "firing", "inactive"]


@dataclass(frozen=True)
class AlertWait:
    """The outcome of :func:`wait_for_alert` or :func:`wait_for_notification`.

    Attributes:
        alertname: the alert waited for.
        state: the state reached (``pending``, ``firing``, ``inactive``, or ``resolved``/``firing`` for notifications).
        seconds: how long the wait took (not part of ``repr``; it varies run to run).
        rows: the matching rows (Prometheus alerts or webhook notifications).
    """

    alertname: str
    state: str
    what: str
    seconds: float = field(repr=False, compare=False)
    rows: Any = field(repr=False, compare=False, default=None)

    def __str__(self) -> str:
        return f"{self.alertname}: {self.what}"

    def _repr_markdown_(self) -> str:
        return f"**{self.alertname}**: {self.what}"


def _poll(check: Callable[[], Any], *, timeout: float, interval: float, what: str, hint: str) -> tuple[Any, float]:
    start = time.monotonic()
    deadline = start + timeout
    while True:
        found = check()
        if found is not None:
            return found, time.monotonic() - start
        if time.monotonic() >= deadline:
            raise QueryError(f"timed out after {timeout:.0f} s waiting for {what}", hint=hint, timeout=timeout)
        time.sleep(interval)


def wait_for_alert(
    prom: Prometheus, alertname: str, *, state: AlertState = "firing", timeout: float = 60.0, interval: float = 0.5
) -> AlertWait:
    """Poll Prometheus's ``/api/v1/alerts`` until ``alertname`` is in ``state`` (``inactive``: not listed).

    Example:
        >>> wait_for_alert(prom, "CheckoutHighLatency", state="firing")   # doctest: +SKIP
        AlertWait(alertname='CheckoutHighLatency', state='firing', what='firing in Prometheus')

    Used in: notebook 03.
    """
    if state not in ("pending", "firing", "inactive"):
        raise ConfigError(f"unknown alert state {state!r}", hint='use "pending", "firing" or "inactive"')
    if timeout <= 0:
        raise ConfigError("timeout must be positive", hint="e.g. timeout=60")

    def check() -> Any:
        alerts = prom.alerts()
        mine = alerts[alerts["alertname"] == alertname] if not alerts.empty else alerts
        if state == "inactive":
            return mine if mine.empty else None
        hit = mine[mine["state"] == state] if not mine.empty else mine
        return hit.reset_index(drop=True) if not hit.empty else None

    rows, seconds = _poll(
        check,
        timeout=timeout,
        interval=interval,
        what=f"{alertname} to be {state}",
        hint="check the rule with prom.rules() and the expression's current value with prom.query(...)",
    )
    what = "no longer active in Prometheus" if state == "inactive" else f"{state} in Prometheus"
    return AlertWait(alertname, state, what, seconds, rows)


def wait_for_notification(
    fetch: Callable[[], Sequence[Mapping[str, Any]]],
    alertname: str,
    *,
    status: Literal["firing", "resolved"] = "firing",
    timeout: float = 60.0,
    interval: float = 0.5,
) -> AlertWait:
    """Poll a webhook receiver (e.g. ``stack.webhook_notifications``) until it got ``alertname`` with ``status``.

    Used in: notebook 03.
    """
    if status not in ("firing", "resolved"):
        raise ConfigError(f"unknown notification status {status!r}", hint='use "firing" or "resolved"')
    if not callable(fetch):
        raise ConfigError("fetch must be a function returning notifications", hint="pass stack.webhook_notifications")

    def check() -> pd.DataFrame | None:
        frame = notifications_frame(fetch())
        if frame.empty:
            return None
        hit = frame[(frame["alertname"] == alertname) & (frame["status"] == status)]
        return hit.reset_index(drop=True) if not hit.empty else None

    rows, seconds = _poll(
        check,
        timeout=timeout,
        interval=interval,
        what=f"a {status} notification for {alertname}",
        hint="check Alertmanager's route (receiver, group_wait, send_resolved) and that the alert fired in Prometheus",
    )
    return AlertWait(alertname, status, f"webhook received a {status} notification", seconds, rows)
