"""Traffic management for Part 4: Traefik and Istio install plans, canary weights, and a canary simulator.

Nothing here needs a running proxy. The canary helpers build the objects that split traffic between the
checkout ``v1`` (stable) and ``v2`` (canary) versions — an Istio DestinationRule + VirtualService and a
Traefik TraefikService — and validate them against the CRD schemas. :func:`simulate_split` then shows,
with a seeded random generator, how a given number of requests would actually fall on each version
(Envoy picks a backend at random for each request, weighted), next to the binomial expectation band.

Example:
    >>> plan = canary_plan(10)
    >>> plan.weights
    {'v1': 90, 'v2': 10}
    >>> plan.ok
    True
    >>> simulate_split(10, requests=1000, seed=4).canary  # doctest: +SKIP
    97

Used in: notebook 04.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError
from .exercises import CheckResult, exercise

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .manifests import ValidationReport

from .pins import ISTIO_CHART_REPO, ISTIO_VERSION, TRAEFIK_CHART_REPO, TRAEFIK_CHART_VERSION

STABLE = "v1"
CANARY = "v2"
#: z-score of the two-sided 95 % band drawn around the expected share.
Z95 = 1.959964


# --- install plans ----------------------------------------------------------------------------------


def traefik_values(
    *,
    email: str = "you@example.com",
    resolver: str = "myresolver",
    staging: bool = True,
    dashboard: bool = True,
) -> dict[str, Any]:
    """Helm values for the Traefik chart: an ACME (Let's Encrypt) certificate resolver and the dashboard.

    The resolver answers the HTTP-01 challenge on the ``web`` entrypoint (port 80) and keeps its account and
    certificates in ``/data/acme.json`` on a persistent volume, so a restart does not request new certificates
    (Let's Encrypt rate-limits those). ``staging=True`` uses Let's Encrypt's staging server: untrusted
    certificates, generous limits — switch to production once the flow works.

    Args:
        email: the ACME account's contact address.
        resolver: the name IngressRoutes use in ``tls.certResolver``.
        staging: use the staging CA server.
        dashboard: create the chart's dashboard IngressRoute on the internal ``traefik`` entrypoint.

    Raises:
        ConfigError: ``email`` does not look like an address, or ``resolver`` is empty.

    Example:
        >>> traefik_values()["certificatesResolvers"]["myresolver"]["acme"]["httpChallenge"]
        {'entryPoint': 'web'}

    Used in: notebook 04.
    """
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise ConfigError(f"{email!r} is not an e-mail address", hint="Let's Encrypt needs a contact address")
    if not resolver or not resolver.replace("-", "").isalnum():
        raise ConfigError(f"resolver name {resolver!r} is not usable", hint="letters, digits and '-', e.g. myresolver")
    acme: dict[str, Any] = {"email": email, "storage": "/data/acme.json", "httpChallenge": {"entryPoint": "web"}}
    if staging:
        acme["caServer"] = "https://acme-staging-v02.api.letsencrypt.org/directory"
    return {
        "certificatesResolvers": {resolver: {"acme": acme}},
        "persistence": {"enabled": True, "size": "128Mi"},
        "ingressRoute": {"dashboard": {"enabled": dashboard}},
        "providers": {"kubernetesCRD": {"enabled": True}, "kubernetesIngress": {"enabled": True}},
    }


def traefik_install_commands(
    *, release: str = "traefik", namespace: str = "traefik", version: str = TRAEFIK_CHART_VERSION
) -> tuple[str, ...]:
    """The shell commands that install the pinned Traefik chart with the values of :func:`traefik_values`.

    Example:
        >>> traefik_install_commands()[-1].split()[:4]
        ['helm', 'upgrade', '--install', 'traefik']

    Used in: notebook 04.
    """
    return (
        f"helm repo add traefik {TRAEFIK_CHART_REPO}",
        "helm repo update traefik",
        f"helm upgrade --install {release} traefik/traefik --version {version} "
        f"--namespace {namespace} --create-namespace --values traefik-values.yaml",
    )


def istio_install_commands(
    *, method: Literal["istioctl", "helm"] = "istioctl", version: str = ISTIO_VERSION
) -> tuple[str, ...]:
    """How to install Istio's control plane (istiod), pinned: with ``istioctl`` or with Helm.

    Raises:
        ConfigError: unknown ``method``.

    Example:
        >>> istio_install_commands(method="helm")[2].split()[:3]
        ['helm', 'install', 'istio-base']

    Used in: notebook 04.
    """
    if method == "istioctl":
        return (
            f"curl -L https://istio.io/downloadIstio | ISTIO_VERSION={version} sh -",
            f"export PATH=$PWD/istio-{version}/bin:$PATH",
            "istioctl install --set profile=demo -y",
            "istioctl verify-install",
        )
    if method == "helm":
        return (
            f"helm repo add istio {ISTIO_CHART_REPO}",
            "helm repo update istio",
            f"helm install istio-base istio/base --version {version} -n istio-system --create-namespace",
            f"helm install istiod istio/istiod --version {version} -n istio-system --wait",
        )
    raise ConfigError(f"unknown install method {method!r}", hint="use 'istioctl' or 'helm'")


# --- canary weights ---------------------------------------------------------------------------------


def canary_weights(canary_percent: int) -> dict[str, int]:
    """The stable/canary weights for a canary share in percent: ``{"v1": 100 - p, "v2": p}``.

    Raises:
        ConfigError: ``canary_percent`` is not a whole number between 0 and 100.

    Example:
        >>> canary_weights(25)
        {'v1': 75, 'v2': 25}
    """
    if not isinstance(canary_percent, int) or isinstance(canary_percent, bool) or not 0 <= canary_percent <= 100:
        raise ConfigError(
            f"canary share {canary_percent!r} is not a whole percentage",
            hint="use a whole number from 0 (all stable) to 100 (all canary), e.g. 10",
        )
    return {STABLE: 100 - canary_percent, CANARY: canary_percent}


def canary_objects(
    canary_percent: int,
    *,
    namespace: str = "shop",
    host: str = "checkout",
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The objects of a canary at ``canary_percent``: Istio DestinationRule + VirtualService, Traefik TraefikService.

    The Istio pair splits the ``host`` Service's traffic between subsets ``v1``/``v2`` (pods labelled
    ``version``); the TraefikService splits an IngressRoute's traffic between the Services ``<host>-v1`` and
    ``<host>-v2``. A weight of 0 keeps the route in place with no traffic (useful for instant rollback).

    Used in: notebook 04.
    """
    from . import manifests as m

    weights = canary_weights(canary_percent)
    return [
        m.istio_destination_rule(host, namespace=namespace, host=host, subsets=(STABLE, CANARY), labels=labels),
        m.istio_virtual_service(host, namespace=namespace, host=host, weights=weights, labels=labels),
        m.traefik_weighted_service(
            f"{host}-canary",
            namespace=namespace,
            backends={f"{host}-{version}": w for version, w in weights.items()},
            labels=labels,
        ),
    ]


def route_weights(objects: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Read the weights back out of VirtualService / TraefikService objects: one row per backend.

    Example:
        >>> [r["weight"] for r in route_weights(canary_objects(10))]
        [90, 10, 90, 10]
    """
    rows: list[dict[str, Any]] = []
    for obj in objects:
        kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
        spec = obj.get("spec") or {}
        if kind == "VirtualService":
            for http in spec.get("http") or []:
                for route in http.get("route") or []:
                    backend = route["destination"].get("subset", route["destination"]["host"])
                    rows.append({"kind": kind, "name": name, "backend": backend, "weight": route.get("weight", 100)})
        elif kind == "TraefikService":
            for svc in (spec.get("weighted") or {}).get("services") or []:
                rows.append({"kind": kind, "name": name, "backend": svc["name"], "weight": svc.get("weight", 1)})
    return rows


@dataclass(frozen=True)
class CanaryPlan:
    """The canary objects for one split and their validation.

    Attributes:
        canary_percent: the canary's share in percent.
        weights: ``{"v1": ..., "v2": ...}``.
        objects: DestinationRule, VirtualService, TraefikService.
        report: the schema validation of ``objects``.
    """

    canary_percent: int
    weights: dict[str, int]
    objects: tuple[dict[str, Any], ...] = field(repr=False)
    report: ValidationReport = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when every object matches its CRD schema."""
        return bool(self.report.ok)

    def rows(self) -> list[dict[str, Any]]:
        """One row per backend: kind, name, backend, weight, share of traffic, schema result."""
        results = {(r["kind"], r["name"]): r["result"] for r in self.report.rows()}
        out = []
        for row in route_weights(list(self.objects)):
            # both kinds split by relative weight: a backend gets weight / (sum of the object's weights)
            total = sum(r["weight"] for r in route_weights(list(self.objects)) if r["name"] == row["name"])
            share = f"{100 * row['weight'] / total:.0f}%" if total else "0%"
            out.append({**row, "share": share, "schema": results.get((row["kind"], row["name"]), "?")})
        return out

    def to_yaml(self) -> str:
        """The objects as one YAML stream."""
        from .manifests import to_yaml

        return to_yaml(list(self.objects))

    def __str__(self) -> str:
        lines = [f"canary {self.canary_percent}%: {'valid' if self.ok else 'INVALID'}"]
        lines += [f"  {r['kind']:<15} {r['backend']:<12} weight {r['weight']:>3}  {r['schema']}" for r in self.rows()]
        return "\n".join(lines)

    __repr__ = __str__


def canary_plan(
    canary_percent: int, *, namespace: str = "shop", host: str = "checkout", labels: Mapping[str, str] | None = None
) -> CanaryPlan:
    """Build and validate the canary objects for one split (see :func:`canary_objects`).

    Raises:
        ConfigError: ``canary_percent`` is not a whole number between 0 and 100.

    Used in: notebook 04.
    """
    from .manifests import validate

    objects = canary_objects(canary_percent, namespace=namespace, host=host, labels=labels)
    return CanaryPlan(canary_percent, canary_weights(canary_percent), tuple(objects), validate(objects))


# --- simulation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitSimulation:
    """How ``requests`` requests fell on the stable and canary versions in one seeded run.

    Attributes:
        canary_percent: the configured canary share.
        requests: how many requests were simulated.
        seed: the random seed (same seed, same result).
        canary: requests that reached the canary.
        frame: per request: ``request`` (1..n), ``backend``, cumulative ``canary_share``, and the 95 % band
            ``low``/``high`` around the expected share.
    """

    canary_percent: int
    requests: int
    seed: int
    canary: int
    frame: pd.DataFrame = field(repr=False)

    @property
    def stable(self) -> int:
        return self.requests - self.canary

    @property
    def expected(self) -> float:
        """Expected canary requests: n·p."""
        return self.requests * self.canary_percent / 100

    @property
    def band(self) -> tuple[int, int]:
        """The 95 % range of canary requests for n requests (normal approximation of the binomial, clipped)."""
        low, high = binomial_band(self.canary_percent / 100, self.requests)
        return max(0, math.floor(low * self.requests)), min(self.requests, math.ceil(high * self.requests))

    @property
    def within_band(self) -> bool:
        low, high = self.band
        return low <= self.canary <= high

    def summary(self) -> dict[str, Any]:
        """The numbers of the run, for a table."""
        low, high = self.band
        return {
            "requests": self.requests,
            "stable (v1)": self.stable,
            "canary (v2)": self.canary,
            "canary share": f"{100 * self.canary / self.requests:.1f}%",
            "expected": f"{self.expected:.0f}",
            "95% band": f"{low}–{high}",
            "within band": self.within_band,
        }

    def __str__(self) -> str:
        low, high = self.band
        return (
            f"{self.requests} requests at {self.canary_percent}% canary (seed {self.seed}): "
            f"{self.canary} to v2, {self.stable} to v1; expected {self.expected:.0f}, 95% band {low}–{high}"
        )

    __repr__ = __str__


def binomial_band(p: float, n: Any, *, z: float = Z95) -> tuple[Any, Any]:
    """The share band ``p ± z·sqrt(p(1-p)/n)`` (works on a number or a numpy array of ``n``), clipped to [0, 1].

    Example:
        >>> [round(x, 3) for x in binomial_band(0.1, 1000)]
        [0.081, 0.119]
    """
    import numpy as np

    if not 0 <= p <= 1:
        raise ConfigError(f"share {p!r} is not between 0 and 1", hint="pass a fraction, e.g. 0.1 for 10 %")
    half = z * np.sqrt(p * (1 - p) / np.asarray(n, dtype=float))
    low, high = np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


def simulate_split(canary_percent: int, *, requests: int = 1000, seed: int = 4) -> SplitSimulation:
    """Send ``requests`` simulated requests through a weighted random choice, as Envoy does for each request.

    Traefik's weighted round robin is deterministic (it interleaves backends so the split is exact every
    ``sum(weights)`` requests); Envoy's choice is random, so small samples wander around the target. This
    simulates the random one with ``numpy.random.default_rng(seed)``: the same seed gives the same run.

    Raises:
        ConfigError: ``canary_percent`` out of 0..100 or ``requests`` not between 1 and 1,000,000.

    Used in: notebook 04.
    """
    import numpy as np
    import pandas as pd

    p = canary_weights(canary_percent)[CANARY] / 100
    if not isinstance(requests, int) or isinstance(requests, bool) or not 1 <= requests <= 1_000_000:
        raise ConfigError(f"requests={requests!r} is out of range", hint="simulate between 1 and 1,000,000 requests")
    rng = np.random.default_rng(seed)
    to_canary = rng.random(requests) < p
    n = np.arange(1, requests + 1)
    low, high = binomial_band(p, n)
    frame = pd.DataFrame(
        {
            "request": n,
            "backend": np.where(to_canary, CANARY, STABLE),
            "canary_share": np.cumsum(to_canary) / n,
            "low": low,
            "high": high,
        }
    )
    return SplitSimulation(canary_percent, requests, seed, int(to_canary.sum()), frame)


# --- the slider -------------------------------------------------------------------------------------


# --- Your turn ----------------------------------------------------------------------------------------


@exercise("04-canary-75-25")
def _check_canary_75_25(answer: Any) -> CheckResult:
    """Part 4: weights for a 75/25 canary, ``{"v1": 75, "v2": 25}``, that build valid Istio and Traefik objects."""
    name = "04-canary-75-25"
    if not isinstance(answer, Mapping):
        return CheckResult(
            name,
            False,
            f"the answer is a {type(answer).__name__}, not a dict of weights.",
            'write it like {"v1": ..., "v2": ...}',
        )
    keys = set(answer)
    if keys != {STABLE, CANARY}:
        return CheckResult(
            name,
            False,
            f"the subsets are {sorted(map(str, keys))}; the DestinationRule defines v1 and v2.",
            "the keys are the subset names of the DestinationRule",
        )
    bad = {k: v for k, v in answer.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
    if bad:
        return CheckResult(name, False, f"weights must be whole numbers >= 0, got {bad}.", "Istio weights are integers")
    total = sum(answer.values())
    if total == 0:
        return CheckResult(name, False, "both weights are 0: no version gets any traffic.", "give v1 and v2 weights")
    share = 100 * answer[CANARY] / total  # Istio's weights are relative: a destination gets weight / sum
    if share == 75:
        return CheckResult(
            name,
            False,
            "that sends 75 % to the new version: the roles are swapped.",
            "the canary is the small share; v2 is the canary",
        )
    if share != 25:
        summed = f"the weights add up to {total}, so " if total != 100 else ""
        return CheckResult(
            name,
            False,
            f"{summed}v2 gets {share:.0f} % of the requests; the task asks for a quarter of the traffic.",
            "weights are relative (weight / sum of weights): 75/25 keeps three requests in four on v1",
        )
    plan = canary_plan(25)
    if not plan.ok:  # pragma: no cover - the builders only emit valid objects
        return CheckResult(name, False, plan.report.table(), "fix the objects named above")
    return CheckResult(name, True, "75/25: the VirtualService and TraefikService built from it are valid.")


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
#: z-score of the two-sided 99 % band (the benchmark's acceptance band for the observed canary share).
Z99 = 2.575829


def _loopback(url: str) -> urllib.parse.SplitResult:
    from .sandbox import is_loopback_url

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
    from . import manifests as m

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
    from . import manifests as m
    from .sandbox._traefik import GATEWAY_CONTROLLER

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

    from .sandbox import is_loopback_url

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

    from .errors import SandboxError

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


@dataclass(frozen=True)
class ObservedSplit:
    """``requests`` real requests through the canary route: which version answered each.

    Attributes:
        canary_percent: the weight configured for v2.
        frame: per request: ``request`` (1..n), ``backend``, cumulative ``canary_share`` and the binomial
            model's band ``low``/``high`` (``z``: 1.96 for 95 %, 2.58 for 99 %) — the *model*, not a measurement.
    """

    canary_percent: int
    requests: int
    canary: int
    failed: int
    z: float
    frame: pd.DataFrame = field(repr=False)

    @property
    def stable(self) -> int:
        return self.requests - self.canary - self.failed

    @property
    def share(self) -> float:
        return self.canary / self.requests

    @property
    def band(self) -> tuple[int, int]:
        """The model's range of canary requests (binomial, normal approximation) for ``requests`` requests."""
        low, high = binomial_band(self.canary_percent / 100, self.requests, z=self.z)
        return max(0, math.floor(low * self.requests)), min(self.requests, math.ceil(high * self.requests))

    @property
    def within_band(self) -> bool:
        low, high = self.band
        return low <= self.canary <= high

    def summary(self) -> dict[str, Any]:
        low, high = self.band
        level = "99%" if self.z > 2 else "95%"
        return {
            "requests": self.requests,
            "v1 answered": self.stable,
            "v2 answered": self.canary,
            "failed": self.failed,
            "observed v2 share": f"{100 * self.share:.1f}%",
            "configured": f"{self.canary_percent}%",
            f"model {level} band": f"{low}–{high}",
            "within model band": self.within_band,
        }

    def __str__(self) -> str:
        low, high = self.band
        return (
            f"{self.requests} real requests at {self.canary_percent}% canary: {self.canary} answered by v2, "
            f"{self.stable} by v1, {self.failed} failed; binomial model band {low}–{high}"
        )

    __repr__ = __str__


def measure_split(
    web: str, *, canary_percent: int, requests: int = 1000, host: str = EDGE_HOSTS["canary"], z: float = Z95
) -> ObservedSplit:
    """Send ``requests`` real requests to the canary route and count which version answered each one.

    Used in: notebook 04.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(requests, int) or isinstance(requests, bool) or not 1 <= requests <= 100_000:
        raise ConfigError(f"requests={requests!r} is out of range", hint="send between 1 and 100,000 requests")
    canary_weights(canary_percent)
    backends = []
    for i in range(requests):
        try:
            got = edge_request(web, host, f"/checkout-canary/{i}").version
        except OSError:
            got = None
        backends.append(got or "failed")
    to_canary = np.array([b == CANARY for b in backends])
    n = np.arange(1, requests + 1)
    low, high = binomial_band(canary_percent / 100, n, z=z)
    frame = pd.DataFrame(
        {"request": n, "backend": backends, "canary_share": np.cumsum(to_canary) / n, "low": low, "high": high}
    )
    return ObservedSplit(canary_percent, requests, int(to_canary.sum()), sum(b == "failed" for b in backends), z, frame)


@dataclass(frozen=True)
class RateLimitRun:
    """A burst of real requests through the rate-limited route.

    Attributes:
        frame: per request: ``t`` (seconds since the first), ``status``.
        average, burst: the Middleware's settings (per second).
    """

    average: int
    burst: int
    frame: pd.DataFrame = field(repr=False)

    @property
    def requests(self) -> int:
        return len(self.frame)

    @property
    def rejected(self) -> int:
        return int((self.frame["status"] == 429).sum())

    @property
    def duration(self) -> float:
        return float(self.frame["t"].iloc[-1]) if len(self.frame) else 0.0

    @property
    def expected_rejected(self) -> float:
        """What a token bucket (``burst`` tokens, refilled at ``average``/s) rejects of these requests."""
        return expected_rejections(self.requests, self.duration, average=self.average, burst=self.burst)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.duration, 2),
            "200": int((self.frame["status"] == 200).sum()),
            "429": self.rejected,
            "429 share": f"{100 * self.rejected / max(1, self.requests):.1f}%",
            "token-bucket model 429 share": f"{100 * self.expected_rejected / max(1, self.requests):.1f}%",
        }


def expected_rejections(requests: int, seconds: float, *, average: float, burst: int) -> float:
    """Requests a token bucket of ``burst`` tokens refilled at ``average`` per second rejects, when ``requests``
    arrive evenly over ``seconds`` faster than the refill: ``max(0, n - (burst + average·seconds))``.

    Example:
        >>> expected_rejections(100, 2.0, average=20, burst=10)
        50.0
    """
    return float(max(0.0, requests - (max(burst, 1) + average * seconds)))


def rate_limit_burst(
    web: str,
    *,
    requests: int = 100,
    average: int,
    burst: int,
    rps: float | None = None,
    host: str = EDGE_HOSTS["limited"],
) -> RateLimitRun:
    """Send ``requests`` requests to the rate-limited route, ``rps`` per second (``None``: as fast as one client
    can); record each status.

    Used in: notebook 04.
    """
    import time

    import pandas as pd

    if rps is not None and not 0 < rps <= 1000:
        raise ConfigError(f"rps={rps!r} is out of range", hint="between 1 and 1000 requests per second, or None")
    start = time.perf_counter()
    rows = []
    for i in range(requests):
        if rps is not None:
            time.sleep(max(0.0, start + i / rps - time.perf_counter()))
        status = edge_request(web, host, f"/limited/{i}").status
        rows.append({"t": time.perf_counter() - start, "status": status})
    return RateLimitRun(average, burst, pd.DataFrame(rows))


def set_canary_weight(
    cluster: Any,
    api: str,
    canary_percent: int,
    *,
    namespace: str = EDGE_NAMESPACE,
    labels: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> float:
    """Apply the TraefikService ``checkout-canary`` with ``canary_percent`` to v2 and wait until Traefik's API shows
    the new weights (its CRD provider watches the API server). Returns the seconds that took.

    Raises:
        SandboxError: Traefik still shows other weights after ``timeout`` seconds.

    Used in: notebook 04 (the canary slider on the sandbox).
    """
    import time

    from . import manifests as m
    from .errors import SandboxError

    weights = canary_weights(canary_percent)
    backends = {f"checkout-{v}": w for v, w in weights.items()}
    cluster.apply(
        [m.traefik_weighted_service("checkout-canary", namespace=namespace, backends=backends, labels=labels)]
    )
    name = f"{namespace}-checkout-canary@kubernetescrd"
    want = {f"{namespace}-checkout-{v}-80": float(w) for v, w in weights.items()}
    start = time.monotonic()
    seen: dict[str, Any] = {}
    while time.monotonic() - start < timeout:
        rows = traefik_servers(api)
        seen = {r.url: r.weight for r in rows[rows["service"] == name].itertuples()}
        if seen == want:
            return time.monotonic() - start
        time.sleep(0.1)
    raise SandboxError(
        f"Traefik shows weights {seen} for {name}, not {want}, after {timeout:.0f} s",
        hint="check `kubectl get traefikservice -n edge -o yaml` and Traefik's log",
        timeout=timeout,
    )


@dataclass(frozen=True)
class Edge:
    """Traefik running on the sandbox with Part 4's objects applied: what the notebook's live cells use.

    Attributes:
        traefik: the process's endpoints (``web``, ``websecure``, ``api``, ``metrics``, ``backends``, ``version``).
        ca_pem: the CA that signed the ``edge-tls`` certificate (clients trust it); ``ca_file`` holds it for curl.
        objects: what was applied (Namespace, Services, EndpointSlices, Secret, IngressRoutes, Middleware,
            TraefikService).
        waited: seconds from starting Traefik to every route answering.
    """

    traefik: Any
    ca_pem: str
    ca_file: str
    objects: tuple[dict[str, Any], ...] = field(repr=False)
    waited: float
    namespace: str = EDGE_NAMESPACE
    average: int = 20
    burst: int = 10
    #: the labels put on every object applied (course label and run id)
    labels: Mapping[str, str] = field(default_factory=dict)

    def get(self, host: str, path: str = "/", *, https: bool = False) -> EdgeResponse:
        """One real request through Traefik (``https`` verifies against :attr:`ca_pem`)."""
        if https:
            return edge_request(self.traefik.websecure, host, path, ca_pem=self.ca_pem)
        return edge_request(self.traefik.web, host, path)

    def routes(self, requests: tuple[tuple[str, str], ...] | None = None) -> pd.DataFrame:
        """Real requests for each ``(host, path)``: the status and which checkout version answered.

        Used in: notebook 04.
        """
        import pandas as pd

        h = EDGE_HOSTS
        requests = requests or (
            (h["api"], "/users/42"),
            (h["api"], "/orders/7"),
            (h["api"], "/admin"),
            ("unknown.example.com", "/users/42"),
        )
        rows = []
        for host, path in requests:
            got = self.get(host, path)
            rows.append({"host": host, "path": path, "status": got.status, "answered by": got.version or "-"})
        return pd.DataFrame(rows)

    def servers(self) -> pd.DataFrame:
        """Every server Traefik routes to, from its API: all must be loopback (see :func:`traefik_servers`)."""
        return traefik_servers(self.traefik.api)

    def __repr__(self) -> str:
        t = self.traefik
        return f"Edge(traefik {t.version}: web {t.web}, websecure {t.websecure}, dashboard {t.dashboard})"


def start_edge(
    cluster: Any,
    *,
    canary_percent: int = 10,
    average: int = 20,
    burst: int = 10,
    gateway_api: bool = True,
    timeout: float = 60,
) -> Edge:
    """Start Traefik on the sandbox for ``cluster`` (its API server must be the sandbox's), apply
    :func:`edge_objects` with a fresh self-signed certificate, and wait until every route answers.

    Raises:
        SandboxError: ``cluster`` is a dry run (no API server for Traefik to read), or something did not start.

    Example:
        >>> edge = start_edge(cluster)                 # doctest: +SKIP
        >>> edge.get("api.example.com", "/orders/7").version  # doctest: +SKIP
        'v2'

    Used in: notebook 04.
    """
    from . import sandbox
    from .errors import SandboxError
    from .sandbox._ondemand import workdir
    from .sandbox._traefik import GROUP

    if getattr(cluster, "dry_run", True) or not getattr(cluster, "kubeconfig", None):
        raise SandboxError(
            "Traefik on the sandbox needs the sandbox's API server; this cluster is a dry run",
            hint="run `make tools` (it builds the control plane and Traefik), then connect again",
        )
    import time

    start = time.monotonic()
    up = sandbox.traefik_up(kubeconfig=cluster.kubeconfig, gateway=gateway_api, timeout=timeout)
    ca, cert, key = self_signed_tls(EDGE_HOSTS["secure"])
    ca_file = workdir(GROUP) / "edge-ca.pem"
    ca_file.write_text(ca)
    backends = {v: up.ports[f"backend-{v}"] for v in up.backends}
    labels = getattr(getattr(cluster, "settings", None), "labels", None)
    objects = edge_objects(
        backends, tls=(cert, key), canary_percent=canary_percent, average=average, burst=burst, labels=labels
    )
    cluster.apply(objects)
    h = EDGE_HOSTS
    remaining = max(5.0, timeout - (time.monotonic() - start))
    wait_for_routes(
        up.web,
        {h["api"]: "/users", h["limited"]: "/", h["canary"]: "/", h["secure"]: "/"},
        websecure=up.websecure,
        ca_pem=ca,
        timeout=remaining,
    )
    return Edge(
        up,
        ca,
        str(ca_file),
        tuple(objects),
        time.monotonic() - start,
        average=average,
        burst=burst,
        labels=dict(labels or {}),
    )


def weight_sweep(
    cluster: Any,
    edge: Edge,
    *,
    weights: tuple[int, ...] = (0, 10, 25, 50, 75, 100),
    requests: int = 200,
    restore: int | None = 10,
) -> pd.DataFrame:
    """Set the canary's real weight to each of ``weights`` in turn and measure ``requests`` real requests: one row
    per weight with the ``configured`` and ``observed`` v2 share (%) and the binomial model's 99 % band
    (``model_low``/``model_high``). Afterwards the weight is set back to ``restore`` (unless ``None``).

    Used in: notebook 04 (the live canary slider, and its static form).
    """
    import pandas as pd

    rows = []
    try:
        for percent in weights:
            set_canary_weight(cluster, edge.traefik.api, percent, namespace=edge.namespace, labels=edge.labels)
            run = measure_split(edge.traefik.web, canary_percent=percent, requests=requests, z=Z99)
            low, high = run.band
            rows.append(
                {
                    "configured": percent,
                    "observed": round(100 * run.share, 1),
                    "model_low": round(100 * low / requests, 1),
                    "model_high": round(100 * high / requests, 1),
                    "requests": requests,
                    "failed": run.failed,
                }
            )
    finally:
        if restore is not None:
            set_canary_weight(cluster, edge.traefik.api, restore, namespace=edge.namespace, labels=edge.labels)
    return pd.DataFrame(rows)


#: Part 3's PromQL for Traefik's per-backend request rate (``exported_service``: see :func:`traefik_request_rates`).
TRAEFIK_RATE_PROMQL = 'sum by (exported_service) (rate(traefik_service_requests_total{job="traefik"}[30s]))'


def traefik_request_rates(stack: Any, *, promql: str = TRAEFIK_RATE_PROMQL, wait: float = 0.0) -> pd.DataFrame:
    """Requests per second per Traefik service, from the sandbox Prometheus (which scrapes Traefik with the job
    derived from its ServiceMonitor). Traefik's own ``service`` label is ``exported_service`` there: the
    ServiceMonitor's target label ``service`` takes the name, as on a cluster. With ``wait``, poll up to that many
    seconds until some rate is above zero (``rate()`` needs two scrapes after the requests).

    Used in: notebook 04.
    """
    import time

    import pandas as pd

    deadline = time.monotonic() + wait
    while True:
        rows = [(r["metric"].get("exported_service", ""), float(r["value"][1])) for r in stack.query(promql)]
        if any(v > 0 for _, v in rows) or time.monotonic() >= deadline:
            return pd.DataFrame(sorted(rows), columns=["backend", "requests per second"])
        time.sleep(0.5)


__all__ = [
    "CANARY",
    "EDGE_HOSTS",
    "EDGE_NAMESPACE",
    "Edge",
    "EdgeResponse",
    "ObservedSplit",
    "RateLimitRun",
    "Z99",
    "edge_objects",
    "edge_request",
    "expected_rejections",
    "gateway_objects",
    "measure_split",
    "rate_limit_burst",
    "self_signed_tls",
    "set_canary_weight",
    "start_edge",
    "traefik_servers",
    "wait_for_routes",
    "TRAEFIK_RATE_PROMQL",
    "traefik_request_rates",
    "weight_sweep",
    "ISTIO_VERSION",
    "STABLE",
    "TRAEFIK_CHART_VERSION",
    "CanaryPlan",
    "SplitSimulation",
    "binomial_band",
    "canary_objects",
    "canary_plan",
    "canary_weights",
    "istio_install_commands",
    "route_weights",
    "simulate_split",
    "traefik_install_commands",
    "traefik_values",
]
