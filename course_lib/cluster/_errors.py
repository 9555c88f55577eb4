"""Turn Kubernetes API failures into :class:`~course_lib.errors.ClusterError` with the server's own words.

The API server answers a failed request with a ``Status`` object (``kind: Status``) that has ``reason``
(``NotFound``, ``Conflict``, ``Forbidden``, ``Invalid`` ...), ``message`` and ``code``. We keep those three
and add a hint that says what usually fixes that reason.

Example:
    >>> err = status_error(404, b'{"kind":"Status","reason":"NotFound","message":"deployments.apps \\\\"web\\\\" not found","code":404}')
    >>> err.context["reason"], err.context["code"]
    ('NotFound', 404)

Used in: every notebook that talks to a cluster (error messages in cell outputs).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ClusterError

_HINTS: dict[str, str] = {
    "NotFound": "check the name and the namespace (`cluster.events(namespace)` lists what is there); "
    "a custom kind needs its CRD installed first",
    "AlreadyExists": "the object exists already; `cluster.apply` updates it in place",
    "Conflict": "another field manager owns these fields (e.g. kubectl or a controller); "
    "apply with `force=True` to take them over, or change them with the tool that owns them",
    "Invalid": "a field has a wrong value; the message names it: fix the manifest and apply again",
    "BadRequest": "the request was malformed: check apiVersion/kind and the YAML structure",
    "Forbidden": "your credentials may not do this: check the kubeconfig context and its RBAC role "
    "(`kubectl auth can-i ...`); admission policies (Kyverno, PodSecurity) also answer Forbidden",
    "Unauthorized": "the kubeconfig's credentials were rejected: on DOKS refresh them "
    "(`doctl kubernetes cluster kubeconfig save <name>`), elsewhere get a new kubeconfig",
    "MethodNotAllowed": "this resource does not support that verb",
    "Timeout": "the API server took too long; try again, or with a longer timeout",
    "ServerTimeout": "the API server took too long; try again, or with a longer timeout",
    "TooManyRequests": "the API server is rate-limiting: wait a few seconds and retry",
    "InternalError": "the API server or a webhook failed; look at its message and the events",
    "ServiceUnavailable": "the API server or the proxied service is not ready yet; wait and retry",
    "Gone": "the watch expired; repeat the call",
    "Expired": "the watch expired; repeat the call",
    "UnsupportedMediaType": "the server does not accept this patch type (server-side apply needs Kubernetes ≥ 1.22)",
}
_CODE_REASON = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def parse_status(body: Any) -> dict[str, Any]:
    """Return the Status object in a response body as a dict, or ``{}`` when the body is not one."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        return body
    return {}


def status_error(
    code: int | None,
    body: Any,
    *,
    action: str = "request",
    obj: str | None = None,
    hint: str | None = None,
) -> ClusterError:
    """Build a :class:`ClusterError` from an HTTP status code and a response body (a Status object or text).

    Args:
        code: HTTP status code.
        body: response body: bytes, text or a parsed dict.
        action: what we were doing, e.g. ``"apply"``.
        obj: which object, e.g. ``"Deployment/web -n shop"``.
        hint: overrides the hint derived from the reason.
    """
    status = parse_status(body)
    reason = status.get("reason") or _CODE_REASON.get(int(code or 0), "Unknown")
    message = status.get("message")
    if not message:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body or "")
        message = text.strip()[:300] or f"HTTP {code}"
    causes = [
        f"{c.get('field', '')}: {c.get('message', '')}".strip(": ")
        for c in (status.get("details") or {}).get("causes") or []
        if isinstance(c, dict)
    ]
    what = f"{action} {obj}" if obj else action
    text = f"{what} failed: {reason}: {message}"
    if causes and not all(c in message for c in causes):
        text += "\n  causes: " + "; ".join(causes)
    return ClusterError(
        text,
        hint=hint if hint is not None else _HINTS.get(reason, "see the server's message above"),
        reason=reason,
        code=int(status.get("code") or code or 0) or None,
    )


def from_api_exception(exc: BaseException, *, action: str = "request", obj: str | None = None) -> ClusterError:
    """Convert an ``ApiException`` (or the dynamic client's ``DynamicApiError``) into a :class:`ClusterError`."""
    code = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    if body is None and not isinstance(code, int):  # connection problems have no status
        return ClusterError(
            f"{action} {obj or ''} failed: cannot reach the API server: {exc}".replace("  ", " "),
            hint="check that the cluster is running and the kubeconfig points at it (`kubectl cluster-info`)",
        )
    return status_error(code, body, action=action, obj=obj)


__all__ = ["from_api_exception", "parse_status", "status_error"]
