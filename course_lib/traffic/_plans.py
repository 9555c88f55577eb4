"""Part 4's plans and models, with no proxy running: Traefik and Istio install plans, the canary's weights and
objects, a seeded split simulation next to its binomial band, and the 75/25 exercise. See :mod:`course_lib.traffic`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError
from ..exercises import CheckResult, exercise

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..manifests import ValidationReport

from ..pins import ISTIO_CHART_REPO, ISTIO_VERSION, TRAEFIK_CHART_REPO, TRAEFIK_CHART_VERSION
from ..sim._canary import binomial_band, count_band, weighted_draws

STABLE = "v1"
CANARY = "v2"
#: z-score of the two-sided 95 % band drawn around the expected share.


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
    from .. import manifests as m

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
        from ..manifests import to_yaml

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
    from ..manifests import validate

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
        return count_band(self.canary_percent / 100, self.requests)

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
    to_canary = weighted_draws(p, requests, seed=seed)
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
