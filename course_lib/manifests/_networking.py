"""Traffic objects: Traefik IngressRoute / Middleware / TraefikService and Istio VirtualService /
DestinationRule / PeerAuthentication.

Traefik's CRDs moved from the ``traefik.containo.us`` group to ``traefik.io`` (Traefik v2.10); Traefik v3
no longer serves the old group. The builders emit ``traefik.io/v1alpha1``. The seed's YAML uses
``traefik.containo.us/v1alpha1``: that is the legacy spelling, shown in notebooks only as a note.

Example:
    >>> r = traefik_ingress_route("myapp-secure", namespace="default",
    ...                           routes=[traefik_route(host="secure.example.com", service="myapp")],
    ...                           cert_resolver="myresolver")
    >>> r["spec"]["tls"]
    {'certResolver': 'myresolver'}

Used in: notebook 04.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..errors import ConfigError
from ._meta import Manifest, check_name, object_meta, resource

TRAEFIK_API_VERSION = "traefik.io/v1alpha1"
#: The group the seed text uses; Traefik v3 does not serve it any more.
TRAEFIK_LEGACY_API_VERSION = "traefik.containo.us/v1alpha1"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1"
ISTIO_SECURITY_API_VERSION = "security.istio.io/v1"


def _port(port: int) -> int:
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"port {port!r} is not a TCP port", hint="use a whole number between 1 and 65535")
    return port


def traefik_route(
    *,
    host: str,
    service: str,
    port: int | None = 80,
    path_prefix: str | None = None,
    middlewares: Sequence[str] = (),
    service_kind: Literal["Service", "TraefikService"] = "Service",
) -> dict[str, Any]:
    """One route of an IngressRoute: a ``match`` rule (Host, optional PathPrefix) and its backend.

    ``service_kind="TraefikService"`` points at a weighted TraefikService instead of a Kubernetes Service
    (no port then).

    Example:
        >>> traefik_route(host="api.example.com", service="user-service", port=8080, path_prefix="/users")["match"]
        'Host(`api.example.com`) && PathPrefix(`/users`)'
    """
    if not host or "`" in host:
        raise ConfigError(f"host {host!r} is not a hostname", hint="e.g. host='myapp.example.com'")
    match = f"Host(`{host}`)"
    if path_prefix is not None:
        if not path_prefix.startswith("/"):
            raise ConfigError(f"path_prefix {path_prefix!r} must start with '/'", hint="e.g. path_prefix='/users'")
        match += f" && PathPrefix(`{path_prefix}`)"
    backend: dict[str, Any] = {"name": check_name(service, what="service")}
    if service_kind == "TraefikService":
        backend["kind"] = "TraefikService"
    elif port is not None:
        backend["port"] = _port(port)
    route: dict[str, Any] = {"match": match, "kind": "Rule", "services": [backend]}
    if middlewares:
        route["middlewares"] = [{"name": check_name(m, what="middleware")} for m in middlewares]
    return route


def traefik_ingress_route(
    name: str,
    *,
    namespace: str,
    routes: Sequence[Mapping[str, Any]],
    entry_points: Sequence[str] = ("web",),
    cert_resolver: str | None = None,
    tls_secret: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Traefik IngressRoute; with ``cert_resolver`` Traefik obtains a Let's Encrypt certificate for it, with
    ``tls_secret`` it serves the certificate of that ``kubernetes.io/tls`` Secret (same namespace).

    Used in: notebook 04.
    """
    if not routes:
        raise ConfigError("an IngressRoute needs at least one route", hint="pass routes=[traefik_route(...)]")
    if cert_resolver and tls_secret:
        raise ConfigError("give cert_resolver or tls_secret, not both", hint="one source of certificates per route")
    spec: dict[str, Any] = {"entryPoints": list(entry_points), "routes": [dict(r) for r in routes]}
    if cert_resolver:
        spec["tls"] = {"certResolver": cert_resolver}
    elif tls_secret:
        spec["tls"] = {"secretName": check_name(tls_secret, what="secret")}
    return resource(
        TRAEFIK_API_VERSION, "IngressRoute", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def traefik_rate_limit(
    name: str,
    *,
    namespace: str,
    average: int = 100,
    burst: int = 50,
    period: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Traefik Middleware that rate-limits: ``average`` requests per ``period`` (default 1s), ``burst`` extra.

    Example:
        >>> traefik_rate_limit("api-rate-limit", namespace="default")["spec"]
        {'rateLimit': {'average': 100, 'burst': 50}}

    Used in: notebook 04.
    """
    if average < 0 or burst < 0:
        raise ConfigError("average and burst must be >= 0", hint="e.g. average=100, burst=50")
    limit: dict[str, Any] = {"average": average, "burst": burst}
    if period:
        limit["period"] = period
    return resource(
        TRAEFIK_API_VERSION,
        "Middleware",
        object_meta(name, namespace=namespace, labels=labels),
        spec={"rateLimit": limit},
    )


def traefik_weighted_service(
    name: str,
    *,
    namespace: str,
    backends: Mapping[str, int],
    port: int = 80,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A TraefikService that splits traffic between Kubernetes Services by weight (canary release).

    Args:
        backends: Service name → weight, e.g. ``{"myapp-v1": 90, "myapp-v2": 10}``.

    Used in: notebook 04.
    """
    if not backends or any(w < 0 for w in backends.values()) or sum(backends.values()) == 0:
        raise ConfigError(
            f"backends {dict(backends)!r} need at least one positive weight",
            hint='e.g. backends={"myapp-v1": 90, "myapp-v2": 10}',
        )
    services = [
        {"name": check_name(svc, what="service"), "port": _port(port), "weight": w} for svc, w in backends.items()
    ]
    return resource(
        TRAEFIK_API_VERSION,
        "TraefikService",
        object_meta(name, namespace=namespace, labels=labels),
        spec={"weighted": {"services": services}},
    )


def gateway_class(
    name: str = "traefik",
    *,
    controller: str = "traefik.io/gateway-controller",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Gateway API GatewayClass: which controller implements the Gateways of this class (cluster-scoped).

    Used in: notebook 04.
    """
    return resource(
        GATEWAY_API_VERSION, "GatewayClass", object_meta(name, labels=labels), spec={"controllerName": controller}
    )


def gateway(
    name: str,
    *,
    namespace: str,
    port: int,
    class_name: str = "traefik",
    listener: str = "web",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Gateway API Gateway with one HTTP listener on ``port`` (Traefik serves it on the entry point of that port).

    Example:
        >>> gateway("shop", namespace="edge", port=8000)["spec"]["listeners"]
        [{'name': 'web', 'protocol': 'HTTP', 'port': 8000}]

    Used in: notebook 04.
    """
    spec = {
        "gatewayClassName": check_name(class_name, what="gatewayClassName"),
        "listeners": [{"name": check_name(listener, what="listener"), "protocol": "HTTP", "port": _port(port)}],
    }
    return resource(GATEWAY_API_VERSION, "Gateway", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def http_route(
    name: str,
    *,
    namespace: str,
    gateway: str,
    hostnames: Sequence[str],
    backends: Mapping[str, int],
    port: int = 80,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Gateway API HTTPRoute attached to ``gateway`` that splits ``hostnames`` between Services by weight.

    ``backendRefs`` weights are relative, as in a TraefikService: ``{"checkout-v1": 9, "checkout-v2": 1}`` is 90/10.

    Example:
        >>> r = http_route("canary", namespace="edge", gateway="shop", hostnames=["gw.example.com"],
        ...                backends={"checkout-v1": 90, "checkout-v2": 10})
        >>> [(b["name"], b["weight"]) for b in r["spec"]["rules"][0]["backendRefs"]]
        [('checkout-v1', 90), ('checkout-v2', 10)]

    Used in: notebook 04.
    """
    if not backends or any(w < 0 for w in backends.values()) or sum(backends.values()) == 0:
        raise ConfigError(
            f"backends {dict(backends)!r} need at least one positive weight", hint='e.g. {"a": 90, "b": 10}'
        )
    refs = [{"name": check_name(svc, what="service"), "port": _port(port), "weight": w} for svc, w in backends.items()]
    spec = {
        "parentRefs": [{"name": check_name(gateway, what="gateway")}],
        "hostnames": list(hostnames),
        "rules": [{"backendRefs": refs}],
    }
    return resource(GATEWAY_API_VERSION, "HTTPRoute", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def istio_destination_rule(
    name: str,
    *,
    namespace: str,
    host: str,
    subsets: Sequence[str] = ("v1", "v2"),
    version_label: str = "version",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An Istio DestinationRule naming one subset per version label value.

    Used in: notebook 04.
    """
    spec = {
        "host": host,
        "subsets": [{"name": check_name(s, what="subset"), "labels": {version_label: s}} for s in subsets],
    }
    return resource(
        ISTIO_NETWORKING_API_VERSION,
        "DestinationRule",
        object_meta(name, namespace=namespace, labels=labels),
        spec=spec,
    )


def istio_virtual_service(
    name: str,
    *,
    namespace: str,
    host: str,
    weights: Mapping[str, int],
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An Istio VirtualService that splits HTTP traffic between subsets by weight.

    Istio's weights are relative: a destination receives ``weight / (sum of all weights)`` of the requests (the API
    reference says so today; older releases asked for a sum of 100, which the course's canaries still write).

    Example:
        >>> vs = istio_virtual_service("myapp", namespace="shop", host="myapp", weights={"v1": 90, "v2": 10})
        >>> [r["weight"] for r in vs["spec"]["http"][0]["route"]]
        [90, 10]

    Used in: notebook 04.
    """
    if not weights or any(not isinstance(w, int) or w < 0 for w in weights.values()) or sum(weights.values()) == 0:
        raise ConfigError(
            f"weights {dict(weights)!r} need whole numbers >= 0 and at least one positive weight",
            hint='e.g. {"v1": 90, "v2": 10}; they are relative, so {"v1": 9, "v2": 1} splits the same way',
        )
    route = [{"destination": {"host": host, "subset": subset}, "weight": w} for subset, w in weights.items()]
    spec = {"hosts": [host], "http": [{"route": route}]}
    return resource(
        ISTIO_NETWORKING_API_VERSION, "VirtualService", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def istio_peer_authentication(
    name: str = "default",
    *,
    namespace: str,
    mode: Literal["STRICT", "PERMISSIVE", "DISABLE"] = "STRICT",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An Istio PeerAuthentication; ``STRICT`` accepts only mutual-TLS traffic from mesh workloads.

    Used in: notebook 04.
    """
    if mode not in ("STRICT", "PERMISSIVE", "DISABLE"):
        raise ConfigError(f"mode {mode!r} is not an mTLS mode", hint="use STRICT, PERMISSIVE or DISABLE")
    return resource(
        ISTIO_SECURITY_API_VERSION,
        "PeerAuthentication",
        object_meta(name, namespace=namespace, labels=labels),
        spec={"mtls": {"mode": mode}},
    )
