"""Part 4 on the sandbox: requests through the real Traefik (to 127.0.0.1 only), a self-signed TLS pair, the
edge's route objects (IngressRoutes, a Gateway API HTTPRoute) and waiting until Traefik serves them. See
:mod:`course_lib.traffic`."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ._plans import canary_weights

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


# --- on the sandbox: real requests through a real Traefik -----------------------------------------------------
#
# Everything below sends packets only to 127.0.0.1: Traefik's entry points and API (TraefikEndpoints), which in
# turn reach only the loopback backends the EndpointSlices name. `_loopback` refuses any other target.

#: Host names of the sandbox routes (requests carry them in ``Host``/SNI; nothing resolves them in DNS).
EDGE_HOSTS = {
    "api": "api.example.com",
    "secure": "secure.example.com",
    "limited": "limited.example.com",
    "canary": "shop.example.com",
    "gateway": "gw.example.com",
}
EDGE_NAMESPACE = "edge"


def _loopback(url: str) -> urllib.parse.SplitResult:
    from ..sandbox import is_loopback_url

    if not is_loopback_url(url):
        raise ConfigError(
            f"{url} is not a loopback address",
            hint="on the sandbox every request goes to 127.0.0.1 (Traefik's entry points), never to a pod or Service IP",
        )
    return urllib.parse.urlsplit(url)


@dataclass(frozen=True)
class EdgeResponse:
    """One real response through Traefik: status, which checkout version answered (header), and the body."""

    host: str
    path: str
    status: int
    version: str | None
    body: str
    seconds: float


def edge_request(
    url: str, host: str, path: str = "/", *, ca_pem: str | None = None, timeout: float = 5.0
) -> EdgeResponse:
    """``GET path`` on a Traefik entry point (``http://`` or ``https://127.0.0.1:PORT``) with ``Host: host``.

    For ``https`` the TLS handshake names ``host`` (SNI) and the server's certificate is verified against
    ``ca_pem`` — the same as ``curl --resolve host:PORT:127.0.0.1 --cacert ca.pem https://host:PORT/path``.

    Raises:
        ConfigError: ``url`` is not on 127.0.0.0/8.
        OSError: the connection failed (e.g. Traefik is stopped), ``ssl.SSLError`` when verification fails.

    Used in: notebook 04.
    """
    import http.client
    import ssl
    import time

    parts = _loopback(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
        conn = _SNIConnection(parts.hostname or "127.0.0.1", port, sni=host, context=context, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", port, timeout=timeout)
    start = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return EdgeResponse(
            host, path, resp.status, resp.getheader("X-Checkout-Version"), body[:500], time.perf_counter() - start
        )
    finally:
        conn.close()


class _SNIConnection:  # built lazily so importing traffic stays light
    def __new__(cls, address: str, port: int, *, sni: str, context: Any, timeout: float) -> Any:
        import http.client

        class Conn(http.client.HTTPSConnection):
            def connect(self) -> None:
                http.client.HTTPConnection.connect(self)
                self.sock = context.wrap_socket(self.sock, server_hostname=sni)

        return Conn(address, port, context=context, timeout=timeout)


def self_signed_tls(host: str, *, days: int = 7) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for ``host`` signed by it: ``(ca_pem, cert_pem, key_pem)``.

    The certificate and key go into a ``kubernetes.io/tls`` Secret for Traefik; clients trust ``ca_pem``.

    Example:
        >>> ca, cert, key = self_signed_tls("secure.example.com")
        >>> ca.startswith("-----BEGIN CERTIFICATE-----"), "PRIVATE KEY" in key
        (True, True)

    Used in: notebook 04.
    """
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "course sandbox CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return ca.public_bytes(pem).decode(), cert.public_bytes(pem).decode(), key_pem


def edge_objects(
    backends: Mapping[str, int],
    *,
    tls: tuple[str, str] | None = None,
    canary_percent: int = 10,
    average: int = 20,
    burst: int = 10,
    namespace: str = EDGE_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What Part 4 applies on the sandbox for Traefik to route to the local checkout versions.

    - per version, a selector-less Service ``checkout-<version>`` (port 80, as in the canary of section 7) and an
      EndpointSlice with the version's local port on 127.0.0.1;
    - ``edge-routes``: ``api.example.com`` ``/users`` → v1, ``/orders`` → v2 (host and path rules);
    - ``edge-secure`` on ``websecure`` with the certificate of Secret ``edge-tls`` (``tls=(cert_pem, key_pem)``);
    - Middleware ``edge-rate-limit`` (``average``/s, ``burst``) on ``limited.example.com``;
    - TraefikService ``checkout-canary`` (``canary_percent`` to v2) on ``shop.example.com``.

    Args:
        backends: checkout version → local port (``TraefikEndpoints.ports["backend-v1"]`` …).

    Used in: notebook 04.
    """
    from .. import manifests as m

    weights = canary_weights(canary_percent)
    objects: list[dict[str, Any]] = [m.namespace(namespace, labels=labels)]
    for version, port in backends.items():
        svc = f"checkout-{version}"
        objects.append(m.checkout_service(svc, namespace=namespace, version=version, select_pods=False, labels=labels))
        objects.append(m.local_endpoint_slice(svc, namespace=namespace, port=port, labels=labels))
    h = EDGE_HOSTS
    objects.append(
        m.traefik_ingress_route(
            "edge-routes",
            namespace=namespace,
            labels=labels,
            routes=[
                m.traefik_route(host=h["api"], path_prefix="/users", service="checkout-v1"),
                m.traefik_route(host=h["api"], path_prefix="/orders", service="checkout-v2"),
            ],
        )
    )
    if tls is not None:
        cert_pem, key_pem = tls
        objects.append(
            m.secret(
                "edge-tls",
                namespace=namespace,
                secret_type="kubernetes.io/tls",
                string_data={"tls.crt": cert_pem, "tls.key": key_pem},
                labels=labels,
            )
        )
        objects.append(
            m.traefik_ingress_route(
                "edge-secure",
                namespace=namespace,
                entry_points=["websecure"],
                tls_secret="edge-tls",
                labels=labels,
                routes=[m.traefik_route(host=h["secure"], service="checkout-v1")],
            )
        )
    objects.append(
        m.traefik_rate_limit("edge-rate-limit", namespace=namespace, average=average, burst=burst, labels=labels)
    )
    objects.append(
        m.traefik_ingress_route(
            "edge-limited",
            namespace=namespace,
            labels=labels,
            routes=[m.traefik_route(host=h["limited"], service="checkout-v1", middlewares=["edge-rate-limit"])],
        )
    )
    objects.append(
        m.traefik_weighted_service(
            "checkout-canary",
            namespace=namespace,
            backends={f"checkout-{v}": w for v, w in weights.items()},
            labels=labels,
        )
    )
    objects.append(
        m.traefik_ingress_route(
            "checkout-canary",
            namespace=namespace,
            labels=labels,
            routes=[m.traefik_route(host=h["canary"], service="checkout-canary", service_kind="TraefikService")],
        )
    )
    return objects


def gateway_objects(
    web_port: int,
    *,
    canary_percent: int = 10,
    namespace: str = EDGE_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The same canary in Gateway API terms: GatewayClass ``traefik`` (Traefik's controller), a Gateway whose HTTP
    listener is the ``web`` entry point's port, and an HTTPRoute for ``gw.example.com`` whose ``backendRefs``
    weights split between ``checkout-v1`` and ``checkout-v2`` (the Services of :func:`edge_objects`).

    Used in: notebook 04.
    """
    from .. import manifests as m
    from ..sandbox._traefik import GATEWAY_CONTROLLER

    weights = canary_weights(canary_percent)
    return [
        m.gateway_class("traefik", controller=GATEWAY_CONTROLLER, labels=labels),
        m.gateway("shop", namespace=namespace, port=web_port, labels=labels),
        m.http_route(
            "checkout-canary",
            namespace=namespace,
            gateway="shop",
            hostnames=[EDGE_HOSTS["gateway"]],
            backends={f"checkout-{v}": w for v, w in weights.items()},
            labels=labels,
        ),
    ]


def traefik_servers(api: str, *, timeout: float = 5.0) -> pd.DataFrame:
    """Every server Traefik would send traffic to, from its own API (``GET /api/http/services``): one row per
    ``service``/``url`` with ``loopback`` (True when the URL's host is in 127.0.0.0/8), plus weighted services'
    ``weights``.

    Used in: notebook 04 (and the test that no backend leaves this machine).
    """
    import json
    import urllib.request

    import pandas as pd

    from ..sandbox import is_loopback_url

    parts = _loopback(api)
    with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/api/http/services", timeout=timeout) as resp:  # noqa: S310
        services = json.loads(resp.read())
    rows = []
    for svc in services:
        for server in (svc.get("loadBalancer") or {}).get("servers") or []:
            url = server.get("url", "")
            rows.append({"service": svc["name"], "url": url, "loopback": is_loopback_url(url), "weight": None})
        for w in (svc.get("weighted") or {}).get("services") or []:
            rows.append({"service": svc["name"], "url": w.get("name"), "loopback": None, "weight": w.get("weight")})
    return pd.DataFrame(rows, columns=["service", "url", "loopback", "weight"])


def wait_for_routes(
    web: str,
    hosts: Mapping[str, str],
    *,
    timeout: float = 30.0,
    websecure: str | None = None,
    ca_pem: str | None = None,
) -> float:
    """Poll until a request to every ``host: path`` pair answers something else than Traefik's 404 (no router yet),
    502 (its servers are the old ones: Traefik has not read the new EndpointSlices yet) or 503 (no server yet).
    Returns the seconds waited.

    Raises:
        SandboxError: a route still answers 404/502/503 or fails after ``timeout`` seconds.
    """
    import time

    from ..errors import SandboxError

    start = time.monotonic()
    pending = dict(hosts)
    last: Any = None
    while pending:
        for host, path in list(pending.items()):
            url = websecure if (websecure and host == EDGE_HOSTS["secure"]) else web
            try:
                last = edge_request(url, host, path, ca_pem=ca_pem, timeout=2.0)
                if last.status not in (404, 502, 503):
                    pending.pop(host)
            except OSError as exc:
                last = exc
        if pending and time.monotonic() - start > timeout:
            raise SandboxError(
                f"Traefik did not route {sorted(pending)} within {timeout:.0f} s (last: {last})",
                hint="check `kubectl get ingressroute -n edge` and Traefik's dashboard for errors",
                timeout=timeout,
            )
        if pending:
            time.sleep(0.1)
    return time.monotonic() - start
