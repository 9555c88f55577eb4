"""The DigitalOcean client: ``pydo`` with every failure translated, and the options (live or the snapshot).

Every failure becomes a :class:`~course_lib.errors.ProvisionError` that carries DigitalOcean's own message, the HTTP
status and the request id (``x-request-id``) to quote to support; never the token. Reads and deletes (429 and 5xx)
are retried by azure-core's retry policy, which pydo uses and which honours ``Retry-After``; the create request (a
POST) is sent with retries off (``_api.create_cluster`` decides what a retry is).

Used in: notebook 01 (options, create, kubeconfig), notebook 11 (delete, leftovers).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..config import token as read_token
from ..errors import ProvisionError, redact
from ._options import Options, build_options, snapshot_options

API_BASE = "https://api.digitalocean.com"

_HINTS: dict[int, str] = {
    400: "the request was malformed; this is a course_lib bug, please report it with the request id",
    401: (
        "the token is missing, mistyped, expired or revoked: create a new one in the control panel (API → Tokens) "
        "and export DIGITALOCEAN_TOKEN again before starting Jupyter"
    ),
    403: (
        "the token is valid but may not do this: give it write access (or the kubernetes, droplet, load_balancer, "
        "block_storage and tag scopes) or use a token of the team that owns the resource"
    ),
    404: "it does not exist (any more): check the name or id, e.g. with `course provision leftovers`",
    409: "it is busy or in a conflicting state: wait a minute and try again",
    422: (
        "DigitalOcean rejected the values: read its message above; check the name is unused and the region, size "
        "and version with `course provision options`"
    ),
    429: (
        "rate limited (DigitalOcean allows 250 requests a minute and 5,000 an hour per token): wait a minute, then "
        "run the cell again"
    ),
}
_HINT_5XX = (
    "an error on DigitalOcean's side: wait a minute and run the cell again; if it persists, check "
    "status.digitalocean.com and quote the request id to support"
)


def _raw(pipeline_response: Any, deserialized: Any, headers: Any) -> tuple[Any, Any]:
    """pydo ``cls=`` hook: keep the raw response so status and headers are visible (pydo returns 404 bodies)."""
    return pipeline_response.http_response, deserialized


def _body_of(response: Any) -> dict[str, Any]:
    try:
        text = response.text()
        data = json.loads(text) if text else {}
        return data if isinstance(data, dict) else {}
    except (ValueError, AttributeError, TypeError):
        return {}


def api_error(what: str, response: Any) -> ProvisionError:
    """Turn an HTTP error response into a :class:`ProvisionError` (message, status, DO error id, request id)."""
    status = int(response.status_code)
    body = _body_of(response)
    headers = {k.lower(): v for k, v in dict(response.headers).items()}
    request_id = headers.get("x-request-id") or body.get("request_id")
    message = body.get("message") or getattr(response, "reason", "") or "no message"
    hint = _HINTS.get(status, _HINT_5XX if status >= 500 else "see DigitalOcean's message above")
    label = f"HTTP {status} {body['id']}" if body.get("id") else f"HTTP {status}"
    return ProvisionError(
        f"DigitalOcean could not {what}: {label}: {message}",
        hint=hint,
        status=status,
        request_id=request_id,
        retry_after=headers.get("retry-after") if status == 429 or status >= 500 else None,
    )


class DOApi:
    """A thin, error-translating wrapper around ``pydo.Client``.

    Args:
        client: an existing ``pydo.Client`` (tests); by default one is built from ``DIGITALOCEAN_TOKEN``.
        retry_total: retries for reads/deletes on 429/5xx/connection errors (azure-core ``RetryPolicy``).
        retry_backoff_factor: seconds; backoff doubles per retry, capped by ``retry_backoff_max``.
        poll_interval: seconds between status polls while waiting.
        sleep, clock: injectable for tests.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        retry_total: int = 4,
        retry_backoff_factor: float = 0.8,
        retry_backoff_max: float = 30.0,
        poll_interval: float = 10.0,
        per_page: int = 200,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if client is None:
            from pydo import Client

            secret = read_token(required=True)
            assert secret is not None
            client = Client(
                token=secret.get(),
                retry_total=retry_total,
                retry_backoff_factor=retry_backoff_factor,
                retry_backoff_max=retry_backoff_max,
                logging_enable=False,
            )
        self.client = client
        self.poll_interval = poll_interval
        self.per_page = per_page
        self.sleep = sleep
        self.clock = clock

    # -- plumbing ---------------------------------------------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def _translated(what: str) -> Iterator[None]:
        """Turn azure-core's transport and HTTP errors raised inside the block into :class:`ProvisionError`."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        try:
            yield
        except HttpResponseError as exc:
            if exc.response is None:
                raise ProvisionError(f"DigitalOcean could not {what}: {redact(str(exc))}", hint=_HINT_5XX) from None
            raise api_error(what, exc.response) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise ProvisionError(
                f"could not reach DigitalOcean to {what}: {type(exc).__name__}",
                hint="check your network connection (and proxy settings), then run the cell again",
            ) from None

    def call(self, what: str, op: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one pydo operation; return its JSON body or raise a translated :class:`ProvisionError`."""
        from azure.core.exceptions import DecodeError

        with self._translated(what):
            try:
                response, body = op(*args, cls=_raw, **kwargs)
            except DecodeError as exc:  # an HttpResponseError too: told apart first
                status = getattr(exc.response, "status_code", None)
                if status is not None and status >= 400:
                    raise api_error(what, exc.response) from None
                raise ProvisionError(
                    f"DigitalOcean's reply to {what} could not be decoded",
                    hint="usually a proxy or an outage in between; run the cell again",
                    status=status,
                ) from None
        if response is not None and response.status_code >= 400:
            raise api_error(what, response)
        return body

    def paged(self, what: str, op: Callable[..., Any], key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """All items of a paginated listing, following ``links.pages.next``."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.call(what, op, per_page=self.per_page, page=page, **kwargs) or {}
            items.extend(body.get(key) or [])
            if not ((body.get("links") or {}).get("pages") or {}).get("next") or page >= 1000:
                return items
            page += 1

    # -- reads ------------------------------------------------------------------------------------------------------
    def options(self) -> Options:
        """Live options: ``/v2/kubernetes/options`` plus prices from ``/v2/sizes`` (add-on prices from the snapshot)."""
        opts = self.call("list Kubernetes options", self.client.kubernetes.list_options)
        sizes = self.paged("list Droplet sizes", self.client.sizes.list, "sizes")
        snap = snapshot_options()
        addons = {
            k: {"price_monthly": p.price_monthly, "price_hourly": p.price_hourly, "unit": p.unit}
            for k, p in (
                ("ha_control_plane", snap.ha_control_plane),
                ("load_balancer", snap.load_balancer),
                ("volume_gib", snap.volume_gib),
            )
        }
        return build_options(opts, sizes, addons, source="live", note="node prices live; add-on prices from snapshot")

    def list_clusters(self) -> list[dict[str, Any]]:
        return self.paged("list Kubernetes clusters", self.client.kubernetes.list_clusters, "kubernetes_clusters")

    def find_cluster(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.list_clusters() if c.get("name") == name), None)

    def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        body = self.call(f"get cluster {cluster_id}", self.client.kubernetes.get_cluster, cluster_id)
        return dict(body["kubernetes_cluster"])

    # -- writes -----------------------------------------------------------------------------------------------------
    def post_cluster(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/kubernetes/clusters`` once, with azure-core's retries switched off for this request."""
        out = self.call(
            f"create cluster {body.get('name')!r}", self.client.kubernetes.create_cluster, body=body, retry_total=0
        )
        return dict(out["kubernetes_cluster"])

    def kubeconfig_text(self, cluster_id: str, *, expiry_seconds: int | None = None) -> str:
        """The kubeconfig YAML. pydo's ``get_kubeconfig`` cannot decode this YAML reply, so the request goes through
        the client's pipeline as a raw, streamed HTTP request (same auth, retries and error handling)."""
        from azure.core.rest import HttpRequest

        params = {"expiry_seconds": expiry_seconds} if expiry_seconds else None
        request = HttpRequest("GET", f"/v2/kubernetes/clusters/{cluster_id}/kubeconfig", params=params)
        what = f"get the kubeconfig of cluster {cluster_id}"
        with self._translated(what):
            # stream=True keeps azure-core's ContentDecodePolicy away from the YAML body (it only decodes JSON/XML
            # and raises DecodeError on application/yaml, which is exactly why pydo's get_kubeconfig fails).
            response = self.client.send_request(request, stream=True)
            response.read()
        if response.status_code >= 400:
            raise api_error(what, response)
        return str(response.text())

    def destroy_cluster(self, cluster_id: str) -> None:
        """``DELETE …/destroy_with_associated_resources/dangerous``: the cluster plus its LBs, volumes, snapshots."""
        self.call(
            f"delete cluster {cluster_id} with its associated resources",
            self.client.kubernetes.destroy_associated_resources_dangerous,
            cluster_id,
        )


def get_options(*, live: bool | None = None) -> Options:
    """Valid regions, sizes and versions with prices.

    Args:
        live: ``True`` reads the API (needs ``DIGITALOCEAN_TOKEN``), ``False`` uses the snapshot, ``None`` (default)
            reads the API when a token is set and the snapshot otherwise.

    Example:
        >>> opts = get_options(live=False)
        >>> "s-2vcpu-4gb" in opts.size_slugs
        True

    Used in: notebook 01.
    """
    if live is False or (live is None and read_token() is None):
        return snapshot_options()
    return DOApi().options()
