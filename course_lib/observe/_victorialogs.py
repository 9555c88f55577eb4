"""A client for VictoriaLogs' LogsQL HTTP API (``/select/logsql/...``) whose answers are DataFrames.

VictoriaLogs (Apache-2.0) is the course's log store, on the sandbox and on a cluster (``victorialogs_install``):
it accepts Loki's push protocol (so a log agent configured for Loki can ship to it), keeps Loki's labels as
*stream fields*, and answers **LogsQL**, not LogQL. Grafana Loki itself is AGPL-3.0: the course neither runs nor
queries it, and teaches LogQL only side by side with its LogsQL twin (:data:`LOGQL_TO_LOGSQL`). The frames have the
shapes of the Prometheus client's, so ``plots.log_volume`` and friends draw them:

- :meth:`VictoriaLogs.query` (``/select/logsql/query``, JSON lines) → ``timestamp`` (UTC), one column per stream
  field, ``line``;
- :meth:`VictoriaLogs.stats_range` (``/select/logsql/stats_query_range``, Prometheus ``matrix`` form) →
  ``timestamp``, labels, ``value`` (what a range query gives);
- :meth:`VictoriaLogs.hits` (``/select/logsql/hits``) → ``timestamp``, the grouping fields, ``value``.

Used in: notebook 03.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, QueryError
from . import _frames
from ._http import HttpClient, query_error
from ._time import StepLike, TimeLike, parse_range, parse_step, to_unix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Part 3's log questions, each as LogQL (what many clusters' Loki answers; the course does not run Loki) and its
#: LogsQL twin (what the course's VictoriaLogs answers, on the sandbox and on a cluster).
LOGQL_TO_LOGSQL: tuple[tuple[str, str, str], ...] = (
    ('{namespace="shop"}', '{namespace="shop"}', "every log line of the shop namespace (a stream selector)"),
    (
        '{app="checkout"} |= "error"',
        '{app="checkout"} *error*',
        "lines that contain the text error (`*error*` is a substring; a bare `error` matches the whole word only)",
    ),
    (
        '{app="checkout"} | logfmt | status="500"',
        '{app="checkout"} | unpack_logfmt | filter status:=500',
        "parse key=value lines, keep those whose status field is 500",
    ),
    (
        'sum by (level) (count_over_time({app="checkout"}[1m]))',
        '{app="checkout"} | stats by (level) count()',
        "lines per minute by level (a metric; LogsQL: stats over time, step=1m)",
    ),
    (
        '{app="checkout", level="warn"} | logfmt | duration_ms > 400',
        '{app="checkout", level="warn"} | unpack_logfmt | filter duration_ms:>400',
        "the slow checkouts behind a latency alert",
    ),
)

#: Stream fields VictoriaLogs adds to every log entry; not labels of the pushed stream.
_INTERNAL = ("_msg", "_time", "_stream", "_stream_id")


def _check_logsql(logsql: str) -> str:
    if not isinstance(logsql, str) or not logsql.strip():
        raise ConfigError("the LogsQL query is empty", hint='start with a stream filter such as {app="checkout"}')
    return logsql.strip()


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}", hint="e.g. limit=100")


def _duration(seconds: float) -> str:
    """A LogsQL duration: ``10s``, ``0.5s``."""
    return f"{seconds:g}s"


def entries_frame(entries: Sequence[dict[str, Any]], *, fields: Sequence[str] | None = None) -> pd.DataFrame:
    """DataFrame from ``/select/logsql/query`` entries: ``timestamp`` (UTC), one column per field, ``line``.

    Args:
        entries: decoded JSON lines, each with ``_time`` (RFC 3339) and ``_msg``.
        fields: the label columns to keep, in order (default: every non-internal field, sorted).

    Rows are sorted by time, oldest first, like :func:`course_lib.observe.streams_frame`.

    >>> entries_frame([{"_time": "2024-01-01T00:00:00Z", "_msg": "hi", "app": "a"}]).columns.tolist()
    ['timestamp', 'app', 'line']
    """
    import pandas as pd

    names = list(fields) if fields is not None else sorted({k for e in entries for k in e if k not in _INTERNAL})
    data: dict[str, Any] = {"timestamp": pd.to_datetime([e.get("_time") for e in entries], utc=True, format="ISO8601")}
    for name in names:
        data[name] = pd.Series([e.get(name) for e in entries], dtype="object")
    data["line"] = pd.Series([e.get("_msg", "") for e in entries], dtype="object")
    frame = pd.DataFrame(data)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def hits_frame(hits: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """DataFrame from ``/select/logsql/hits``: ``timestamp`` (UTC), one column per grouping field, ``value``."""
    import pandas as pd

    rows = []
    names: list[str] = sorted({k for h in hits for k in (h.get("fields") or {})})
    for hit in hits:
        fields = hit.get("fields") or {}
        for ts, value in zip(hit.get("timestamps") or [], hit.get("values") or [], strict=False):
            rows.append({"timestamp": ts, **{n: fields.get(n) for n in names}, "value": float(value)})
    frame = pd.DataFrame(rows, columns=["timestamp", *names, "value"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    return frame.sort_values(["timestamp", *names], kind="stable").reset_index(drop=True)


class VictoriaLogs(HttpClient):
    """A client for VictoriaLogs' LogsQL API.

    Args:
        url: base URL such as ``http://127.0.0.1:9428`` (the sandbox: ``stack.endpoints.victorialogs``).
        session: a ``requests.Session`` to reuse; tests inject one.
        timeout: seconds per request.

    Example:
        >>> logs = VictoriaLogs("http://127.0.0.1:9428")                                     # doctest: +SKIP
        >>> logs.query('{app="checkout"} *error*', start="-15m", limit=5)                   # doctest: +SKIP
        >>> logs.stats_range('{app="checkout"} | stats by (level) count()', step="1m")     # doctest: +SKIP

    Used in: notebook 03.
    """

    service = "VictoriaLogs"
    start_hint = "start the sandbox (course sandbox up; `make tools` builds VictoriaLogs) or check the URL"

    def query(
        self,
        logsql: str,
        *,
        start: TimeLike = "-1h",
        end: TimeLike = "now",
        limit: int = 1000,
        fields: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Log lines (``/select/logsql/query``): the newest ``limit`` matches in ``[start, end)``, oldest first.

        Args:
            fields: label columns to keep (default: every field the entries carry, sorted).

        Returns:
            ``timestamp`` (UTC), one column per field, ``line`` (the log message, ``_msg``).
        """
        logsql = _check_logsql(logsql)
        _check_limit(limit)
        t0, t1 = parse_range(start, end)
        params = {"query": logsql, "start": f"{to_unix(t0):.3f}", "end": f"{to_unix(t1):.3f}", "limit": limit}
        response = self._send("GET", "/select/logsql/query", params=params, query=logsql)
        if response.status_code >= 400:
            raise query_error(
                self.service, error_type="bad_data", error=response.text.strip()[:300], status=response.status_code
            )
        try:
            entries = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        except ValueError:
            raise QueryError(
                f"{self.service} answered with something that is not JSON lines",
                hint="check that the URL points at VictoriaLogs",
                url=self.url,
            ) from None
        frame = entries_frame(entries, fields=fields)
        frame.attrs.update(query=logsql, start=t0, end=t1)
        return frame

    def stats_range(
        self, logsql: str, *, start: TimeLike = "-1h", end: TimeLike = "now", step: StepLike = "1m"
    ) -> pd.DataFrame:
        """Stats over time (``/select/logsql/stats_query_range``): the query must end in a ``| stats`` pipe.

        The answer is Prometheus' ``matrix`` form, so the frame is Prometheus' too: ``timestamp``, one column per
        ``by (...)`` field, ``value``; the stats function's name is dropped like Prometheus drops ``__name__``.
        """
        logsql = _check_logsql(logsql)
        if "| stats" not in logsql.replace("|stats", "| stats"):
            raise ConfigError(
                "stats_range needs a query that ends in a stats pipe",
                hint='e.g. {app="checkout"} | stats by (level) count()',
            )
        t0, t1 = parse_range(start, end)
        params = {
            "query": logsql,
            "start": f"{to_unix(t0):.3f}",
            "end": f"{to_unix(t1):.3f}",
            "step": _duration(parse_step(step)),
        }
        data = self._json("GET", "/select/logsql/stats_query_range", params=params, query=logsql)
        for series in data.get("result", []):
            series.get("metric", {}).pop("__name__", None)
        frame = _frames.result_frame(data)
        frame.attrs.update(query=logsql, result_type=data.get("resultType"), start=t0, end=t1)
        return frame

    def hits(
        self,
        logsql: str,
        *,
        start: TimeLike = "-1h",
        end: TimeLike = "now",
        step: StepLike = "1m",
        by: Sequence[str] = (),
    ) -> pd.DataFrame:
        """Matching lines per time bucket (``/select/logsql/hits``), grouped by the ``by`` fields."""
        logsql = _check_logsql(logsql)
        t0, t1 = parse_range(start, end)
        params: list[tuple[str, str]] = [
            ("query", logsql),
            ("start", f"{to_unix(t0):.3f}"),
            ("end", f"{to_unix(t1):.3f}"),
            ("step", _duration(parse_step(step))),
            *(("field", f) for f in by),
        ]
        data = self._json("GET", "/select/logsql/hits", params=params, query=logsql)
        frame = hits_frame(data.get("hits") or [])
        frame.attrs.update(query=logsql, start=t0, end=t1)
        return frame

    def stream_fields(self, logsql: str = "*", *, start: TimeLike = "-1h", end: TimeLike = "now") -> list[str]:
        """Stream field names (the pushed labels) of the matching logs — LogQL's ``/labels``."""
        t0, t1 = parse_range(start, end)
        params = {"query": _check_logsql(logsql), "start": f"{to_unix(t0):.3f}", "end": f"{to_unix(t1):.3f}"}
        data = self._json("GET", "/select/logsql/stream_field_names", params=params, query=logsql)
        return sorted(v["value"] for v in data.get("values") or [])

    def field_values(
        self, field: str, logsql: str = "*", *, start: TimeLike = "-1h", end: TimeLike = "now"
    ) -> list[str]:
        """Values of one field in the matching logs — LogQL's ``/label/<name>/values``."""
        if not field or not isinstance(field, str):
            raise ConfigError("field_values() needs a field name", hint='e.g. logs.field_values("level")')
        t0, t1 = parse_range(start, end)
        params = {
            "query": _check_logsql(logsql),
            "field": field,
            "start": f"{to_unix(t0):.3f}",
            "end": f"{to_unix(t1):.3f}",
        }
        data = self._json("GET", "/select/logsql/field_values", params=params, query=logsql)
        return sorted(v["value"] for v in data.get("values") or [])


__all__ = ["LOGQL_TO_LOGSQL", "VictoriaLogs", "entries_frame", "hits_frame"]
