"""Traffic management for Part 4: Traefik and Istio install plans, canary weights, a canary simulator, and real
requests through the sandbox's Traefik.

Three modules: ``_plans`` needs no running proxy; ``_edge`` and ``_measure`` send requests to the sandbox's Traefik
on 127.0.0.1 only. The canary helpers build the objects that split traffic between the
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

from ..sim._canary import Z99
from ._edge import (
    EDGE_HOSTS,
    EDGE_NAMESPACE,
    EdgeResponse,
    edge_objects,
    edge_request,
    gateway_objects,
    self_signed_tls,
    traefik_servers,
    wait_for_routes,
)
from ._measure import (
    TRAEFIK_RATE_PROMQL,
    Edge,
    ObservedSplit,
    RateLimitRun,
    expected_rejections,
    measure_split,
    rate_limit_burst,
    set_canary_weight,
    start_edge,
    traefik_request_rates,
    weight_sweep,
)
from ._plans import (
    CANARY,
    ISTIO_VERSION,
    STABLE,
    TRAEFIK_CHART_VERSION,
    CanaryPlan,
    SplitSimulation,
    binomial_band,
    canary_objects,
    canary_plan,
    canary_weights,
    istio_install_commands,
    route_weights,
    simulate_split,
    traefik_install_commands,
    traefik_values,
)

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
