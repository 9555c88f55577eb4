"""Alert inspection: Prometheus rules and alerts, Alertmanager alerts, webhook notifications, and a timeline.

All functions here are pure (JSON or DataFrame in, DataFrame out); the clients call them.

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_TIME_COLUMNS_AM = ("starts_at", "ends_at", "updated_at")


def _utc(values: Any) -> Any:
    import pandas as pd

    # Alertmanager writes the zero time 0001-01-01T00:00:00Z for "no end yet": that is a missing value.
    series = pd.Series(values, dtype=object).map(lambda v: None if isinstance(v, str) and v.startswith("0001-") else v)
    return pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601").astype("datetime64[ns, UTC]")


def _frame(rows: list[dict[str, Any]], first: Sequence[str]) -> pd.DataFrame:
    """DataFrame whose columns are ``first`` then any other keys, sorted."""
    import pandas as pd

    extra = sorted({k for row in rows for k in row} - set(first))
    return pd.DataFrame(rows, columns=[*first, *extra])


def rules_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """One row per rule from ``/api/v1/rules`` ``data``: group, name, type, state, health, query, for_s, ...

    >>> rules_frame({"groups": [{"name": "g", "rules": [{"type": "recording", "name": "r", "query": "up"}]}]}).name[0]
    'r'
    """
    rows = []
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            row: dict[str, Any] = {
                "group": group.get("name"),
                "name": rule.get("name"),
                "type": rule.get("type"),
                "state": rule.get("state", "" if rule.get("type") == "recording" else None),
                "health": rule.get("health"),
                "query": rule.get("query"),
                "for_s": float(rule.get("duration", 0) or 0),
                "active_alerts": len(rule.get("alerts", []) or []),
                "last_error": rule.get("lastError", ""),
            }
            for key, value in (rule.get("labels") or {}).items():
                row[f"label_{key}"] = value
            rows.append(row)
    return _frame(rows, ["group", "name", "type", "state", "health", "query", "for_s", "active_alerts", "last_error"])


def prometheus_alerts_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """One row per active alert from ``/api/v1/alerts`` ``data``: alertname, state, active_at, value, labels, summary."""
    rows = []
    for alert in data.get("alerts", []):
        labels = dict(alert.get("labels") or {})
        row: dict[str, Any] = {
            "alertname": labels.pop("alertname", None),
            "state": alert.get("state"),
            "active_at": alert.get("activeAt"),
            "value": float(alert["value"]) if alert.get("value") not in (None, "") else float("nan"),
            "summary": (alert.get("annotations") or {}).get("summary", ""),
        }
        row.update(labels)
        rows.append(row)
    frame = _frame(rows, ["alertname", "state", "active_at", "value", "summary"])
    frame["active_at"] = _utc(frame["active_at"])
    return frame.sort_values(["alertname", "state"], kind="stable").reset_index(drop=True)


def alertmanager_frame(alerts: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per alert from Alertmanager ``/api/v2/alerts``: alertname, state, starts_at, ends_at, receivers ..."""
    rows = []
    for alert in alerts:
        labels = dict(alert.get("labels") or {})
        status = alert.get("status") or {}
        row: dict[str, Any] = {
            "alertname": labels.pop("alertname", None),
            "state": status.get("state"),
            "starts_at": alert.get("startsAt"),
            "ends_at": alert.get("endsAt"),
            "receivers": ",".join(r.get("name", "") for r in alert.get("receivers") or []),
            "silenced": bool(status.get("silencedBy")),
            "inhibited": bool(status.get("inhibitedBy")),
            "summary": (alert.get("annotations") or {}).get("summary", ""),
            "fingerprint": alert.get("fingerprint"),
        }
        row.update(labels)
        rows.append(row)
    frame = _frame(
        rows,
        ["alertname", "state", "starts_at", "ends_at", "receivers", "silenced", "inhibited", "summary", "fingerprint"],
    )
    for column in ("starts_at", "ends_at"):
        frame[column] = _utc(frame[column])
    return frame


def _unwrap(notification: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
    """A webhook notification may be the raw Alertmanager payload or a record wrapping it."""
    for key in ("payload", "body", "notification"):
        inner = notification.get(key)
        if isinstance(inner, Mapping) and "alerts" in inner:
            received = notification.get("received_at") or notification.get("receivedAt") or notification.get("time")
            return inner, received
    received = notification.get("received_at") or notification.get("receivedAt")
    return notification, received


def notifications_frame(notifications: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per alert per webhook notification that Alertmanager delivered.

    Args:
        notifications: the list from ``stack.webhook_notifications()`` — Alertmanager webhook payloads
            (``{"version": "4", "status": ..., "receiver": ..., "alerts": [...]}``), raw or wrapped in a record
            with ``payload`` and ``received_at``.

    Returns:
        DataFrame with ``received_at``, ``receiver``, ``group_status``, ``alertname``, ``status`` (firing or
        resolved), ``starts_at``, ``ends_at`` (NaT while firing), ``summary`` and the alert's other labels.

    Example:
        >>> notifications_frame([{"status": "firing", "receiver": "r", "alerts": [
        ...     {"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2024-01-01T00:00:00Z"}]}]).status[0]
        'firing'
    """
    rows = []
    for number, notification in enumerate(notifications):
        payload, received = _unwrap(notification)
        for alert in payload.get("alerts", []):
            labels = dict(alert.get("labels") or {})
            row: dict[str, Any] = {
                "notification": number,
                "received_at": received,
                "receiver": payload.get("receiver"),
                "group_status": payload.get("status"),
                "alertname": labels.pop("alertname", None),
                "status": alert.get("status"),
                "starts_at": alert.get("startsAt"),
                "ends_at": alert.get("endsAt"),
                "summary": (alert.get("annotations") or {}).get("summary", ""),
            }
            row.update(labels)
            rows.append(row)
    frame = _frame(
        rows,
        [
            "notification",
            "received_at",
            "receiver",
            "group_status",
            "alertname",
            "status",
            "starts_at",
            "ends_at",
            "summary",
        ],
    )
    for column in ("received_at", "starts_at", "ends_at"):
        if column == "received_at" and frame[column].map(lambda v: isinstance(v, int | float)).all() and len(frame):
            import pandas as pd

            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        else:
            frame[column] = _utc(frame[column])
    return frame


TIMELINE_COLUMNS = ["alertname", "state", "start", "end", "duration_s", "labels"]


def timeline_frame(alerts: pd.DataFrame, *, step: float, end: Any = None) -> pd.DataFrame:
    """Alert intervals from an ``ALERTS`` range-query frame.

    Each contiguous run of ``ALERTS{alertstate=...}`` samples becomes one ``pending`` or ``firing`` row. After a
    firing run that stops before ``end`` a ``resolved`` row follows, from the moment it stopped to ``end``.

    Args:
        alerts: frame from ``prom.query_range("ALERTS", ...)``.
        step: the step of that range query in seconds; gaps longer than 1.5 steps split runs.
        end: end of the queried range (a UTC timestamp); defaults to the last sample.

    Returns:
        DataFrame with columns ``alertname, state, start, end, duration_s, labels`` sorted by start.
    """
    import pandas as pd

    if alerts.empty:
        return pd.DataFrame(
            {
                "alertname": pd.Series(dtype=object),
                "state": pd.Series(dtype=object),
                "start": pd.Series(dtype="datetime64[ns, UTC]"),
                "end": pd.Series(dtype="datetime64[ns, UTC]"),
                "duration_s": pd.Series(dtype=float),
                "labels": pd.Series(dtype=object),
            }
        )
    gap = pd.Timedelta(seconds=1.5 * step)
    one_step = pd.Timedelta(seconds=step)
    range_end = pd.Timestamp(end) if end is not None else alerts["timestamp"].max()
    if range_end.tzinfo is None:
        range_end = range_end.tz_localize("UTC")
    ident_cols = [c for c in alerts.columns if c not in ("timestamp", "value", "__name__", "alertstate")]
    other = [c for c in ident_cols if c != "alertname"]
    rows: list[dict[str, Any]] = []
    frame = alerts.astype({c: object for c in ident_cols + ["alertstate"]})
    for key, group in frame.groupby(ident_cols, dropna=False, sort=True) if ident_cols else [((), frame)]:
        key_t = key if isinstance(key, tuple) else (key,)
        ident = dict(zip(ident_cols, key_t, strict=True))
        label_text = ", ".join(f"{k}={ident[k]}" for k in other if isinstance(ident[k], str))
        for state in ("pending", "firing"):
            times = group.loc[group["alertstate"] == state, "timestamp"].sort_values()
            if times.empty:
                continue
            breaks = times.diff() > gap
            run_ids = breaks.cumsum()
            for _, run in times.groupby(run_ids):
                start, stop = run.iloc[0], min(run.iloc[-1] + one_step, range_end)
                rows.append(
                    {
                        "alertname": ident.get("alertname"),
                        "state": state,
                        "start": start,
                        "end": stop,
                        "labels": label_text,
                    }
                )
                if state == "firing" and run.iloc[-1] + one_step < range_end:
                    later = group.loc[
                        (group["alertstate"] == "firing") & (group["timestamp"] > run.iloc[-1]), "timestamp"
                    ]
                    resolved_end = later.min() if not later.empty else range_end
                    rows.append(
                        {
                            "alertname": ident.get("alertname"),
                            "state": "resolved",
                            "start": stop,
                            "end": resolved_end,
                            "labels": label_text,
                        }
                    )
    out = pd.DataFrame(rows)
    out["duration_s"] = (out["end"] - out["start"]).dt.total_seconds()
    return out[TIMELINE_COLUMNS].sort_values(["alertname", "start", "state"], kind="stable").reset_index(drop=True)
