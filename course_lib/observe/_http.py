"""Small shared HTTP layer: one session, one timeout, server errors turned into :class:`QueryError`.

Used in: notebook 03 (through the Prometheus, Alertmanager and Loki clients).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import is_http_url
from ..errors import ConfigError, QueryError, redact

if TYPE_CHECKING:  # pragma: no cover
    import requests

_ERROR_HINTS = {
    "bad_data": 'check the query syntax: metric names, {label="value"} selectors, [5m] range brackets and parentheses',
    "execution": "the query is valid but failed while running; check that both sides of an operator match (on/ignoring)",
    "timeout": "the query took too long; use a shorter range or a larger step",
    "canceled": "the query was cancelled by the server; try again",
    "unavailable": "the server is not ready yet; wait a few seconds and retry",
    "internal": "the server hit an internal error; look at its log",
    "not_found": "the endpoint does not exist on this server version",
}


def query_error(
    service: str,
    *,
    error_type: str,
    error: str,
    status: int | None = None,
    query: str | None = None,
) -> QueryError:
    """Build a :class:`QueryError` that carries the server's own ``errorType`` and ``error``."""
    exc = QueryError(
        f"{service} rejected the request: {error}",
        hint=_ERROR_HINTS.get(error_type, "read the server's message above"),
        error_type=error_type,
        status=status,
        query=query,
    )
    exc.error_type = error_type  # type: ignore[attr-defined]
    exc.error = error  # type: ignore[attr-defined]
    return exc


class HttpClient:
    """Base of the course's HTTP API clients.

    Args:
        url: base URL such as ``http://127.0.0.1:9090``.
        session: a ``requests.Session`` to reuse (tests inject one); a new one by default.
        timeout: seconds per request.
    """

    service = "server"
    start_hint = "start it (course_lib.sandbox.up()) or check the URL"

    def __init__(self, url: str, *, session: requests.Session | None = None, timeout: float = 10.0) -> None:
        if not is_http_url(url):
            raise ConfigError(
                f"no {self.service} URL was given (on a cluster target, set the notebook's `{self.service.lower()}_url`)"
                if url is None
                else f"{self.service} URL must start with http:// or https://, got {url!r}",
                hint=(
                    "pass the base URL: on the sandbox stack.endpoints.prometheus (or .alertmanager); on a cluster a "
                    "port-forward such as `kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus "
                    "9090` and then http://127.0.0.1:9090"
                ),
            )
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout!r}", hint="use a number of seconds like 10")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        if session is None:
            import requests

            session = requests.Session()
        self.session = session

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _send(self, method: str, path: str, *, query: str | None = None, **kwargs: Any) -> requests.Response:
        import requests

        try:
            return self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise QueryError(
                f"{self.service} did not answer within {self.timeout:g} s",
                hint="use a shorter range or larger step, or raise timeout=",
                url=self.url + path,
                query=query,
            ) from None
        except requests.ConnectionError as exc:
            raise QueryError(
                f"could not reach {self.service} at {self.url}",
                hint=self.start_hint,
                url=self.url + path,
                error=redact(type(exc).__name__),
            ) from None

    def _json(self, method: str, path: str, *, query: str | None = None, **kwargs: Any) -> Any:
        """Send a request and return the ``data`` of a Prometheus-style ``{"status": ..., "data": ...}`` body."""
        response = self._send(method, path, query=query, **kwargs)
        try:
            body = response.json()
        except ValueError:
            text = redact(response.text.strip()[:300])
            if response.status_code >= 400:
                raise query_error(
                    self.service, error_type="bad_data", error=text, status=response.status_code, query=query
                ) from None
            raise QueryError(
                f"{self.service} answered with something that is not JSON",
                hint="check that the URL points at the right service",
                status=response.status_code,
                url=self.url + path,
            ) from None
        if isinstance(body, dict) and body.get("status") == "error":
            raise query_error(
                self.service,
                error_type=str(body.get("errorType", "unknown")),
                error=str(body.get("error", "")),
                status=response.status_code,
                query=query,
            )
        if response.status_code >= 400:
            raise query_error(
                self.service, error_type="http", error=redact(str(body)[:300]), status=response.status_code, query=query
            )
        if isinstance(body, dict) and "data" in body and "status" in body:
            return body["data"]
        return body
