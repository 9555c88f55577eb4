"""Part 4's measurements on the sandbox's real Traefik: the observed canary split, a rate-limit burst, moving the
canary's weight, the edge as one handle, a weight sweep and Traefik's own request rates from Prometheus. See
:mod:`course_lib.traffic`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..sim._canary import Z95, Z99, binomial_band, count_band
from ._edge import (
    EDGE_HOSTS,
    EDGE_NAMESPACE,
    EdgeResponse,
    edge_objects,
    edge_request,
    self_signed_tls,
    traefik_servers,
    wait_for_routes,
)
from ._plans import CANARY, canary_weights

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
        return count_band(self.canary_percent / 100, self.requests, z=self.z)

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

    from .. import manifests as m
    from ..errors import SandboxError

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
    from .. import sandbox
    from ..errors import SandboxError
    from ..sandbox._ondemand import workdir
    from ..sandbox._traefik import GROUP

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
