"""Prometheus and Alertmanager HTTP API clients that answer with tidy pandas DataFrames.

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from . import _alerts, _frames
from ._http import HttpClient
from ._time import StepLike, TimeLike, parse_range, parse_step, parse_time, to_unix

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Prometheus refuses range queries with more points than this per series.
MAX_POINTS = 11_000


def _check_promql(promql: str) -> str:
    if not isinstance(promql, str) or not promql.strip():
        raise ConfigError(
            "the PromQL query is empty", hint="write a query such as up or rate(checkout_requests_total[5m])"
        )
    return promql.strip()


@dataclass(frozen=True)
class BuildInfo:
    """Which release of Prometheus or Alertmanager answers, as the server itself reports it.

    Attributes:
        version: the release, e.g. ``"3.13.1"`` (Debian's packages add a suffix: ``"2.42.0+ds"``).
        revision: the git commit it was built from (empty when the build did not stamp one).
        branch: the git branch stamped into the build.
        go_version: the Go release it was compiled with.
    """

    version: str
    revision: str = ""
    branch: str = ""
    go_version: str = ""

    @property
    def major(self) -> int:
        """The major release (``3`` for Prometheus 3.13.1); ``0`` for Alertmanager's 0.x releases."""
        head = self.version.lstrip("v").split(".", 1)[0]
        return int(head) if head.isdigit() else 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> BuildInfo:
        """From Prometheus's ``/api/v1/status/buildinfo`` data or Alertmanager's ``versionInfo``."""
        return cls(
            version=str(data.get("version", "")),
            revision=str(data.get("revision", "")),
            branch=str(data.get("branch", "")),
            go_version=str(data.get("goVersion", "")),
        )


class Prometheus(HttpClient):
    """A client for the Prometheus HTTP API (``/api/v1/...``) whose answers are DataFrames.

    Args:
        url: base URL, e.g. ``stack.endpoints.prometheus``.
        session: a ``requests.Session`` to reuse; tests inject one.
        timeout: seconds per request.

    Example:
        >>> prom = Prometheus("http://127.0.0.1:9090")                      # doctest: +SKIP
        >>> prom.query_range("rate(checkout_requests_total[1m])", start="-10m", step="15s")  # doctest: +SKIP

    Used in: notebook 03.
    """

    service = "Prometheus"

    def ready(self) -> bool:
        """True when ``/-/ready`` answers 200."""
        import requests

        try:
            return self.session.get(self.url + "/-/ready", timeout=self.timeout).status_code == 200
        except requests.RequestException:
            return False

    def buildinfo(self) -> BuildInfo:
        """The release that answers (``/api/v1/status/buildinfo``): 3.x where ``make tools`` built it.

        Example:
            >>> prom.buildinfo().version  # doctest: +SKIP
            '3.13.1'
        """
        return BuildInfo.from_api(self._json("GET", "/api/v1/status/buildinfo"))

    def query(self, promql: str, *, time: TimeLike | None = None) -> pd.DataFrame:
        """Evaluate an instant query; one row per series (``timestamp``, labels..., ``value``).

        Args:
            promql: the PromQL expression.
            time: evaluation instant (aware datetime, ``"now"``, ``"-5m"``, timedelta ago, unix seconds).

        Raises:
            QueryError: Prometheus rejected the query; ``error_type`` and ``error`` hold its own words.
        """
        promql = _check_promql(promql)
        params: dict[str, Any] = {"query": promql}
        if time is not None:
            params["time"] = to_unix(parse_time(time, what="time"))
        data = self._json("GET", "/api/v1/query", params=params, query=promql)
        frame = _frames.result_frame(data)
        frame.attrs.update(query=promql, result_type=data.get("resultType"))
        return frame

    def query_range(
        self,
        promql: str,
        *,
        start: TimeLike = "-15m",
        end: TimeLike = "now",
        step: StepLike = "15s",
    ) -> pd.DataFrame:
        """Evaluate a range query; one row per sample, series after series.

        Args:
            promql: the PromQL expression.
            start: first instant (``"-15m"``, ``"now-1h"``, aware datetime, timedelta ago, unix seconds).
            end: last instant (default ``"now"``).
            step: resolution, ``"15s"`` or seconds; at most 11,000 points per series.

        Returns:
            DataFrame with ``timestamp`` (UTC), one column per label and a float ``value``.

        Raises:
            ConfigError: start after end, or too many points (before anything is sent).
            QueryError: Prometheus rejected the query.
        """
        promql = _check_promql(promql)
        t0, t1 = parse_range(start, end)
        seconds = parse_step(step)
        points = (t1 - t0).total_seconds() / seconds
        if points > MAX_POINTS:
            suggested = max(1, int((t1 - t0).total_seconds() / 1000))
            raise ConfigError(
                f"this range and step give {points:,.0f} points per series; Prometheus allows {MAX_POINTS:,}",
                hint=f'use a larger step, e.g. step="{suggested}s", or a shorter range',
            )
        params = {"query": promql, "start": to_unix(t0), "end": to_unix(t1), "step": seconds}
        data = self._json("GET", "/api/v1/query_range", params=params, query=promql)
        frame = _frames.result_frame(data)
        frame.attrs.update(query=promql, result_type=data.get("resultType"), start=t0, end=t1, step=seconds)
        return frame

    def series(
        self, match: str | Sequence[str], *, start: TimeLike | None = None, end: TimeLike | None = None
    ) -> pd.DataFrame:
        """Label sets of the series matching one or more selectors (``/api/v1/series``)."""
        matches = [match] if isinstance(match, str) else list(match)
        if not matches or not all(isinstance(m, str) and m.strip() for m in matches):
            raise ConfigError(
                "series() needs at least one selector", hint='e.g. prom.series("up") or \'{job="checkout"}\''
            )
        params: dict[str, Any] = {"match[]": matches}
        if start is not None:
            params["start"] = to_unix(parse_time(start, what="start"))
        if end is not None:
            params["end"] = to_unix(parse_time(end, what="end"))
        return _frames.labels_frame(self._json("GET", "/api/v1/series", params=params, query=" ".join(matches)))

    def labels(self, *, match: str | None = None) -> list[str]:
        """All label names (``/api/v1/labels``), optionally only those of series matching ``match``."""
        params = {"match[]": [match]} if match else {}
        return sorted(self._json("GET", "/api/v1/labels", params=params))

    def label_values(self, name: str) -> list[str]:
        """All values of one label (``/api/v1/label/<name>/values``)."""
        if not name or not isinstance(name, str):
            raise ConfigError("label_values() needs a label name", hint='e.g. prom.label_values("job")')
        return sorted(self._json("GET", f"/api/v1/label/{name}/values"))

    def targets(self) -> pd.DataFrame:
        """Active scrape targets and their health (``/api/v1/targets``).

        Returns:
            DataFrame with ``job, instance, health, scrape_url, last_scrape, last_scrape_duration_s, last_error``.
        """
        import pandas as pd

        data = self._json("GET", "/api/v1/targets", params={"state": "active"})
        rows = [
            {
                "job": t.get("labels", {}).get("job", t.get("scrapePool")),
                "instance": t.get("labels", {}).get("instance"),
                "health": t.get("health"),
                "scrape_url": t.get("scrapeUrl"),
                "last_scrape": t.get("lastScrape"),
                "last_scrape_duration_s": float(t.get("lastScrapeDuration") or 0.0),
                "last_error": t.get("lastError", ""),
            }
            for t in data.get("activeTargets", [])
        ]
        columns = ["job", "instance", "health", "scrape_url", "last_scrape", "last_scrape_duration_s", "last_error"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["last_scrape"] = pd.to_datetime(frame["last_scrape"], utc=True, errors="coerce", format="ISO8601")
        return frame.sort_values(["job", "instance"], kind="stable").reset_index(drop=True)

    def rules(self, *, type: str | None = None) -> pd.DataFrame:
        """Loaded rule groups, one row per rule (``/api/v1/rules``); ``type`` is ``"alert"`` or ``"record"``."""
        if type not in (None, "alert", "record"):
            raise ConfigError(f"unknown rule type {type!r}", hint='use type="alert", type="record" or leave it out')
        params = {"type": type} if type else {}
        return _alerts.rules_frame(self._json("GET", "/api/v1/rules", params=params))

    def alerts(self) -> pd.DataFrame:
        """Pending and firing alerts as Prometheus sees them (``/api/v1/alerts``)."""
        return _alerts.prometheus_alerts_frame(self._json("GET", "/api/v1/alerts"))

    def alert_timeline(
        self,
        *,
        start: TimeLike = "-15m",
        end: TimeLike = "now",
        step: StepLike = "5s",
        alertname: str | None = None,
    ) -> pd.DataFrame:
        """Pending → firing → resolved intervals of alerts, from the ``ALERTS`` series.

        Returns:
            DataFrame with ``alertname, state, start, end, duration_s, labels`` (see :func:`timeline_frame`).
        """
        selector = f'ALERTS{{alertname="{alertname}"}}' if alertname else "ALERTS"
        now = datetime.now(UTC)
        t1 = parse_time(end, now=now, what="end")
        frame = self.query_range(selector, start=parse_time(start, now=now, what="start"), end=t1, step=step)
        return _alerts.timeline_frame(frame, step=parse_step(step), end=t1)


class Alertmanager(HttpClient):
    """A client for the Alertmanager v2 API.

    Example:
        >>> am = Alertmanager(stack.endpoints.alertmanager)   # doctest: +SKIP
        >>> am.alerts()                                          # doctest: +SKIP

    Used in: notebook 03.
    """

    service = "Alertmanager"

    def alerts(self, *, active: bool = True, silenced: bool = True, inhibited: bool = True) -> pd.DataFrame:
        """Alerts Alertmanager currently holds (``/api/v2/alerts``), one row each."""
        params = {"active": str(active).lower(), "silenced": str(silenced).lower(), "inhibited": str(inhibited).lower()}
        return _alerts.alertmanager_frame(self._json("GET", "/api/v2/alerts", params=params))

    def buildinfo(self) -> BuildInfo:
        """The release that answers (``versionInfo`` of ``/api/v2/status``)."""
        return BuildInfo.from_api(self._json("GET", "/api/v2/status").get("versionInfo") or {})

    def ready(self) -> bool:
        """True when ``/-/ready`` answers 200."""
        import requests

        try:
            return self.session.get(self.url + "/-/ready", timeout=self.timeout).status_code == 200
        except requests.RequestException:
            return False


def latency_quantiles(
    prom: Prometheus,
    *,
    metric: str = "checkout_request_duration_seconds",
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    window: str = "1m",
    start: TimeLike = "-15m",
    end: TimeLike = "now",
    step: StepLike = "15s",
) -> pd.DataFrame:
    """p50/p95/p99 (or any quantiles) of a histogram over time, one ``quantile`` column (``"p95"`` ...).

    Each quantile is ``histogram_quantile(q, sum by (le) (rate(<metric>_bucket[window])))``.

    Used in: notebook 03.
    """
    import pandas as pd

    if not quantiles or not all(0 < q < 1 for q in quantiles):
        raise ConfigError(
            f"quantiles must be between 0 and 1, got {list(quantiles)}", hint="e.g. quantiles=(0.5, 0.95, 0.99)"
        )
    now = datetime.now(UTC)
    t0, t1 = parse_time(start, now=now, what="start"), parse_time(end, now=now, what="end")
    frames = []
    for q in quantiles:
        promql = f"histogram_quantile({q:g}, sum by (le) (rate({metric}_bucket[{window}])))"
        frame = prom.query_range(promql, start=t0, end=t1, step=step)
        frames.append(frame[["timestamp", "value"]].assign(quantile=f"p{q * 100:g}"))
    return pd.concat(frames, ignore_index=True)[["timestamp", "quantile", "value"]]
