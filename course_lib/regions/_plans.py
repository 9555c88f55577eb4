"""Part 9's plans with no second cluster: the strategies, ExternalDNS and the regional Ingress, DNS failover time,
the Cluster Mesh CLI steps and the global Service, and what a second region costs. See :mod:`course_lib.regions`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..sim._clustermesh import MeshCluster, check_clustermesh

#: Where each DigitalOcean region is (for latency and data-residency reasoning).
REGION_GEOGRAPHY: dict[str, str] = {
    "nyc1": "North America (US East)",
    "nyc3": "North America (US East)",
    "atl1": "North America (US East)",
    "tor1": "North America (Canada)",
    "sfo2": "North America (US West)",
    "sfo3": "North America (US West)",
    "ams3": "Europe (EU: Netherlands)",
    "fra1": "Europe (EU: Germany)",
    "lon1": "Europe (UK)",
    "blr1": "Asia (India)",
    "sgp1": "Asia (Singapore)",
    "syd1": "Oceania (Australia)",
}
EXTERNAL_DNS_IMAGE = "registry.k8s.io/external-dns/external-dns:v0.19.0"


def strategies() -> Any:
    """Single region vs active-passive vs active-active: recovery objectives, cost and complexity.

    RTO (recovery time objective) is how long you are down; RPO (recovery point objective) how much recent data
    you may lose. The figures are typical orders of magnitude, not promises.

    Used in: notebook 09.
    """
    import pandas as pd

    rows = [
        (
            "single region",
            "hours (rebuild elsewhere from backups)",
            "since the last archived WAL/backup",
            "1×",
            "low",
            "none",
        ),
        (
            "active-passive",
            "minutes (detect, promote DB, switch DNS)",
            "seconds–minutes (async replication lag)",
            "≈1.3–2× (standby scaled down)",
            "medium",
            "async, one direction",
        ),
        (
            "active-active",
            "≈0 for stateless traffic (DNS drops a region)",
            "0–seconds, depends on the database",
            "≈2× or more",
            "high",
            "multi-writer DB (CockroachDB, Cassandra) or sharding",
        ),
    ]
    return pd.DataFrame(rows, columns=["pattern", "RTO", "RPO", "cost", "complexity", "data sync"])


# --- DNS-based global load balancing ---------------------------------------------------------------


def external_dns_objects(
    *,
    domain: str = "example.com",
    owner_id: str = "nyc1-cluster",
    namespace: str = "external-dns",
    token_secret: str = "digitalocean-dns",
    image: str = EXTERNAL_DNS_IMAGE,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """ExternalDNS for DigitalOcean DNS: namespace, ServiceAccount, read-only RBAC, and the Deployment.

    The API token is read from the Secret ``token_secret`` (key ``DO_TOKEN``); this function never sees it.
    ``--txt-owner-id`` must differ per cluster: each cluster only changes records it owns (TXT registry).

    Used in: notebook 09.
    """
    from ..manifests import namespace as ns
    from ..manifests import object_meta

    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", domain):
        raise ConfigError(f"domain {domain!r} is not a DNS name", hint="e.g. 'example.com' (a zone in DO DNS)")
    name = "external-dns"
    rules = [
        {"apiGroups": [""], "resources": ["services", "endpoints", "pods", "nodes"], "verbs": ["get", "watch", "list"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "watch", "list"]},
    ]
    args = [
        "--source=ingress",
        "--source=service",
        f"--domain-filter={domain}",
        "--provider=digitalocean",
        "--registry=txt",
        f"--txt-owner-id={owner_id}",
        "--policy=upsert-only",
    ]
    container = {
        "name": name,
        "image": image,
        "args": args,
        "env": [{"name": "DO_TOKEN", "valueFrom": {"secretKeyRef": {"name": token_secret, "key": "DO_TOKEN"}}}],
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(name, namespace=namespace, labels=labels),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": name,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                    "containers": [container],
                },
            },
        },
    }
    return [
        ns(namespace, labels=labels),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(name, namespace=namespace, labels=labels),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": object_meta(name, labels=labels),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": object_meta(f"{name}-viewer", labels=labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        deployment,
    ]


def regional_ingress(
    region: str,
    *,
    host: str = "myapp.example.com",
    service: str = "checkout",
    namespace: str = "shop",
    ttl: int = 60,
    route53_weight: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An Ingress that ExternalDNS publishes as ``host`` (from the rule; the ``hostname`` annotation says it too)
    with a short TTL.

    With ``route53_weight`` it also gets the seed's Route 53 weighted-routing annotations: a per-region
    ``set-identifier`` and ``aws-weight``. Only providers with routing policies (Route 53) use them; leave them out
    for DigitalOcean DNS.

    Used in: notebook 09.
    """
    from ..manifests import object_meta

    if region not in REGION_GEOGRAPHY:
        raise ConfigError(f"unknown region {region!r}", hint=f"choose one of: {', '.join(REGION_GEOGRAPHY)}")
    if not 1 <= ttl <= 86400:
        raise ConfigError(f"ttl {ttl} is out of range", hint="seconds, e.g. 60 for fast failover")
    annotations = {
        "external-dns.alpha.kubernetes.io/hostname": host,
        "external-dns.alpha.kubernetes.io/ttl": str(ttl),
    }
    if route53_weight is not None:
        if not isinstance(route53_weight, int) or not 0 <= route53_weight <= 255:
            raise ConfigError(f"route53_weight {route53_weight!r} is out of range", hint="Route 53 weights are 0-255")
        annotations["external-dns.alpha.kubernetes.io/set-identifier"] = f"{region}-cluster"
        annotations["external-dns.alpha.kubernetes.io/aws-weight"] = str(route53_weight)
    rule = {
        "host": host,
        "http": {
            "paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}
            ]
        },
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {**object_meta(service, namespace=namespace, labels=labels), "annotations": annotations},
        "spec": {"ingressClassName": "traefik", "rules": [rule]},
    }


@dataclass(frozen=True)
class FailoverTime:
    """Worst-case seconds until clients reach the surviving region after one fails."""

    detect: int
    update: int
    ttl: int

    @property
    def total(self) -> int:
        return self.detect + self.update + self.ttl

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                ("health checks notice the failure", self.detect),
                ("DNS record updated", self.update),
                ("cached answers expire (TTL)", self.ttl),
                ("total (worst case)", self.total),
            ],
            columns=["step", "seconds"],
        )


def dns_failover_time(*, ttl: int = 60, check_interval: int = 30, failures: int = 3, update: int = 10) -> FailoverTime:
    """How long DNS-based failover takes at worst: ``failures`` missed checks, the record change, then the TTL.

    Example:
        >>> dns_failover_time(ttl=60, check_interval=30, failures=3).total
        160

    Used in: notebook 09.
    """
    for key, value in {"ttl": ttl, "check_interval": check_interval, "failures": failures, "update": update}.items():
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{key}={value!r} must be a whole number of seconds >= 0", hint="e.g. ttl=60")
    return FailoverTime(detect=check_interval * failures, update=update, ttl=ttl)


# --- Cilium Cluster Mesh ---------------------------------------------------------------------------


def clustermesh_commands(clusters: Sequence[MeshCluster]) -> list[str]:
    """The ``cilium`` CLI steps for a full mesh: enable on each cluster, wait, then connect each pair once.

    Raises:
        ConfigError: fewer than two clusters, or :func:`check_clustermesh` finds a problem.

    Used in: notebook 09.
    """
    if len(clusters) < 2:
        raise ConfigError("a mesh needs at least two clusters", hint="pass two or more MeshCluster entries")
    problems = check_clustermesh(clusters)
    if problems:
        raise ConfigError(f"cluster mesh would fail: {problems[0]}", hint="give each cluster its own ID and pod CIDR")
    ctx = [c.context or c.name for c in clusters]
    cmds = [f"cilium clustermesh enable --context {c} --service-type LoadBalancer" for c in ctx]
    cmds += [f"cilium clustermesh status --context {c} --wait" for c in ctx]
    cmds += [
        f"cilium clustermesh connect --context {a} --destination-context {b}"
        for i, a in enumerate(ctx)
        for b in ctx[i + 1 :]
    ]
    return cmds


def global_service(
    name: str = "checkout", *, namespace: str = "shop", port: int = 80, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Service shared across the mesh: same name and namespace in every cluster plus ``service.cilium.io/global``.

    For ``checkout`` in ``shop`` it is Part 4's checkout Service (same labels, selector and ports), marked global:
    the parts share that object on purpose, and only the annotation is added.

    Used in: notebook 09.
    """
    from ..manifests import object_meta

    meta = object_meta(
        name,
        namespace=namespace,
        labels=labels,
        extra_labels={"app": name},
        annotations={"service.cilium.io/global": "true"},
    )
    spec = {
        "type": "ClusterIP",
        "selector": {"app": name},
        "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


# --- costs -----------------------------------------------------------------------------------------


def region_costs(spec: Any, *, regions: Sequence[str] | None = None, options: Any | None = None) -> Any:
    """What the same cluster (``spec``, a part-1 ``ClusterSpec``) costs as a second cluster in each region, with
    one load balancer and its volumes, from the price snapshot (or live prices with a token).

    Returns:
        A DataFrame: region, name, geography, usd_per_hour, usd_per_month.

    Used in: notebook 09.
    """
    import dataclasses

    import pandas as pd

    from ..provision import estimate_cost, get_options

    opts = options or get_options(live=False)
    chosen = list(regions) if regions is not None else list(opts.region_slugs)
    names = {r.slug: r.name for r in opts.regions}
    rows = []
    for slug in chosen:
        est = estimate_cost(dataclasses.replace(spec, region=slug), load_balancers=1, volumes_gb=30, options=opts)
        rows.append(
            {
                "region": slug,
                "name": names.get(slug, slug),
                "geography": REGION_GEOGRAPHY.get(slug, "?"),
                "usd_per_hour": round(est.hourly, 4),
                "usd_per_month": round(est.monthly, 2),
            }
        )
    return pd.DataFrame(rows)
