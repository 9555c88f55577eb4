"""A client for Grafana Loki's HTTP API (``/loki/api/v1/...``) whose answers are DataFrames.

Loki speaks the Prometheus response envelope (``{"status": "success", "data": {"resultType": ...}}``) but its
log results are ``streams`` whose timestamps are nanosecond strings. Log queries give one row per line;
metric queries (``count_over_time``, ``rate`` ...) give the same frame as Prometheus.

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError
from . import _frames
from ._http import HttpClient
from ._time import StepLike, TimeLike, parse_range, parse_step, parse_time, to_unix_ns

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Direction = Literal["backward", "forward"]

#: LogQL queries of Part 3, each with what it answers.
LOGQL_EXAMPLES: tuple[tuple[str, str], ...] = (
    ('{namespace="default"}', "every log line of the default namespace (the seed's first query)"),
    ('{app="checkout"} |= "error"', "checkout lines that contain the text error"),
    ('{app="checkout"} | logfmt | level="error"', "parse key=value lines, keep those whose level field is error"),
    ('sum by (level) (count_over_time({app="checkout"} | logfmt [1m]))', "lines per minute by level (a metric)"),
    ('sum(rate({app="checkout"} |= "payment backend unavailable" [5m]))', "failed payments per second"),
)


def _check_logql(logql: str) -> str:
    if not isinstance(logql, str) or not logql.strip():
        raise ConfigError("the LogQL query is empty", hint='start with a stream selector such as {app="checkout"}')
    return logql.strip()


def _check_direction(direction: str) -> None:
    if direction not in ("backward", "forward"):
        raise ConfigError(f"unknown direction {direction!r}", hint='use "backward" (newest first) or "forward"')


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}", hint="e.g. limit=100")


def _ns(value: Any) -> str:
    """A push timestamp as Loki wants it: unix nanoseconds in a string."""
    if isinstance(value, datetime):
        return str(to_unix_ns(parse_time(value, what="log timestamp")))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    raise ConfigError(
        f"log timestamp {value!r} is not unix nanoseconds",
        hint="use an aware datetime, an int of nanoseconds, or a string of digits",
    )


def normalize_streams(streams: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check push streams and convert their timestamps; raises :class:`ConfigError` on bad input.

    >>> normalize_streams([{"stream": {"app": "a"}, "values": [[1, "hi"]]}])
    [{'stream': {'app': 'a'}, 'values': [['1', 'hi']]}]
    """
    if isinstance(streams, Mapping) or not isinstance(streams, Sequence) or not streams:
        raise ConfigError(
            "push() needs a non-empty list of streams",
            hint='pass [{"stream": {"app": "checkout"}, "values": [[datetime.now(UTC), "a log line"]]}]',
        )
    out = []
    for number, stream in enumerate(streams):
        labels = stream.get("stream") if isinstance(stream, Mapping) else None
        values = stream.get("values") if isinstance(stream, Mapping) else None
        if not isinstance(labels, Mapping) or not labels:
            raise ConfigError(
                f"stream {number} has no labels", hint='every stream needs labels, e.g. {"stream": {"app": "checkout"}}'
            )
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise ConfigError(f"stream {number} has non-string labels", hint="label names and values must be strings")
        if not isinstance(values, Sequence) or not values:
            raise ConfigError(f"stream {number} has no values", hint='add "values": [[timestamp, "line"], ...]')
        entries = []
        for entry in values:
            if (
                not isinstance(entry, Sequence)
                or isinstance(entry, str)
                or len(entry) < 2
                or not isinstance(entry[1], str)
            ):
                raise ConfigError(
                    f"stream {number} has a bad entry {entry!r}", hint="each entry is [timestamp, line] with a str line"
                )
            entries.append([_ns(entry[0]), entry[1], *entry[2:]])
        out.append({"stream": dict(labels), "values": entries})
    return out


class Loki(HttpClient):
    """A client for Loki's HTTP API.

    Args:
        url: base URL such as ``http://127.0.0.1:3100``.
        session: a ``requests.Session`` to reuse; tests inject one.
        timeout: seconds per request.
        tenant: ``X-Scope-OrgID`` for multi-tenant Loki (not a secret).

    Example:
        >>> loki = Loki("http://127.0.0.1:3100")                                   # doctest: +SKIP
        >>> loki.query_range('{app="checkout"} |= "error"', start="-15m")          # doctest: +SKIP

    Used in: notebook 03.
    """

    service = "Loki"
    start_hint = "check the URL; the local sandbox gets a Loki in a later issue, on a cluster use the Loki service"

    def __init__(self, url: str, *, session: Any = None, timeout: float = 10.0, tenant: str | None = None) -> None:
        super().__init__(url, session=session, timeout=timeout)
        self.headers = {"X-Scope-OrgID": tenant} if tenant else {}

    def query(
        self, logql: str, *, time: TimeLike | None = None, limit: int = 100, direction: Direction = "backward"
    ) -> pd.DataFrame:
        """Instant query (``/loki/api/v1/query``): metric queries give a vector frame, log queries lines."""
        logql = _check_logql(logql)
        _check_limit(limit)
        _check_direction(direction)
        params: dict[str, Any] = {"query": logql, "limit": limit, "direction": direction}
        if time is not None:
            params["time"] = to_unix_ns(parse_time(time, what="time"))
        data = self._json("GET", "/loki/api/v1/query", params=params, headers=self.headers, query=logql)
        frame = _frames.result_frame(data)
        frame.attrs.update(query=logql, result_type=data.get("resultType"))
        return frame

    def query_range(
        self,
        logql: str,
        *,
        start: TimeLike = "-1h",
        end: TimeLike = "now",
        limit: int = 1000,
        step: StepLike | None = None,
        direction: Direction = "backward",
    ) -> pd.DataFrame:
        """Range query (``/loki/api/v1/query_range``).

        Returns:
            For log queries a frame of ``timestamp`` (UTC), one column per stream label and ``line``, oldest
            first; for metric queries the Prometheus-style ``timestamp``/labels/``value`` frame.
        """
        logql = _check_logql(logql)
        _check_limit(limit)
        _check_direction(direction)
        t0, t1 = parse_range(start, end)
        params: dict[str, Any] = {
            "query": logql,
            "start": to_unix_ns(t0),
            "end": to_unix_ns(t1),
            "limit": limit,
            "direction": direction,
        }
        if step is not None:
            params["step"] = parse_step(step)
        data = self._json("GET", "/loki/api/v1/query_range", params=params, headers=self.headers, query=logql)
        frame = _frames.result_frame(data)
        frame.attrs.update(query=logql, result_type=data.get("resultType"), start=t0, end=t1)
        return frame

    def labels(self, *, start: TimeLike | None = None, end: TimeLike | None = None) -> list[str]:
        """Label names known to Loki (``/loki/api/v1/labels``)."""
        params = {}
        if start is not None:
            params["start"] = to_unix_ns(parse_time(start, what="start"))
        if end is not None:
            params["end"] = to_unix_ns(parse_time(end, what="end"))
        return sorted(self._json("GET", "/loki/api/v1/labels", params=params, headers=self.headers) or [])

    def label_values(self, name: str) -> list[str]:
        """Values of one label (``/loki/api/v1/label/<name>/values``)."""
        if not name or not isinstance(name, str):
            raise ConfigError("label_values() needs a label name", hint='e.g. loki.label_values("app")')
        return sorted(self._json("GET", f"/loki/api/v1/label/{name}/values", headers=self.headers) or [])

    def push(self, streams: Sequence[Mapping[str, Any]]) -> int:
        """Send log lines (``POST /loki/api/v1/push``, JSON body). Returns the number of lines sent.

        Args:
            streams: ``[{"stream": {label: value}, "values": [[timestamp, line], ...]}, ...]``; a timestamp is an
                aware datetime, an int of unix nanoseconds or a string of digits.

        Raises:
            ConfigError: malformed streams (checked before anything is sent).
            QueryError: Loki refused them (for example entries too far in the past).
        """
        body = {"streams": normalize_streams(streams)}
        response = self._send("POST", "/loki/api/v1/push", json=body, headers=self.headers)
        if response.status_code >= 300:
            from ._http import query_error

            raise query_error("Loki", error_type="push", error=response.text.strip()[:300], status=response.status_code)
        return sum(len(s["values"]) for s in body["streams"])
