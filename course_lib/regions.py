"""Multi-region and multi-cluster: strategies, DNS-based failover with ExternalDNS, Cilium Cluster Mesh
checks, Argo CD ApplicationSets over labelled clusters, and what a second region costs.

Nothing here needs a second cluster: the ApplicationSet cluster generator is evaluated over a list of Argo CD
cluster Secrets exactly as Argo CD matches them (a Kubernetes label selector on the Secret's labels), and the
region table prices a second cluster from the same snapshot as part 1. Latency to real users cannot be
measured offline.

Example:
    >>> from course_lib import regions as rg
    >>> rg.match_clusters({"matchLabels": {"env": "production"}}, rg.example_clusters())
    ['prod-fra1', 'prod-nyc1', 'prod-sgp1']

Used in: notebook 09.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .exercises import CheckResult, exercise
from .sim import check_selector as _check_selector
from .sim import selector_matches

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

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
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"


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
    from .manifests import namespace as ns
    from .manifests import object_meta

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
    from .manifests import object_meta

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


@dataclass(frozen=True)
class MeshCluster:
    """One cluster as Cluster Mesh sees it: a unique name and ID (1-255) and a pod CIDR that overlaps no other."""

    name: str
    cluster_id: int
    pod_cidr: str
    context: str = ""


def check_clustermesh(clusters: Sequence[MeshCluster]) -> list[str]:
    """The problems that would stop ``cilium clustermesh connect`` (an empty list means none found).

    Example:
        >>> check_clustermesh([MeshCluster("a", 1, "10.1.0.0/16"), MeshCluster("b", 1, "10.1.128.0/17")])[0]
        'cluster ID 1 is used by a and b'

    Used in: notebook 09.
    """
    problems: list[str] = []
    seen_ids: dict[int, str] = {}
    seen_names: set[str] = set()
    nets: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for c in clusters:
        if c.name in seen_names:
            problems.append(f"cluster name {c.name!r} is used twice")
        seen_names.add(c.name)
        if not 1 <= c.cluster_id <= 255:
            problems.append(f"{c.name}: cluster ID {c.cluster_id} is outside 1-255")
        elif c.cluster_id in seen_ids:
            problems.append(f"cluster ID {c.cluster_id} is used by {seen_ids[c.cluster_id]} and {c.name}")
        seen_ids.setdefault(c.cluster_id, c.name)
        try:
            net = ipaddress.ip_network(c.pod_cidr)
        except ValueError:
            problems.append(f"{c.name}: pod CIDR {c.pod_cidr!r} is not a network")
            continue
        for other, onet in nets:
            if net.version == onet.version and net.overlaps(onet):  # type: ignore[arg-type]
                problems.append(f"pod CIDRs of {other} ({onet}) and {c.name} ({net}) overlap")
        nets.append((c.name, net))
    return problems


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
    from .manifests import object_meta

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


# --- Argo CD: cluster secrets and the cluster generator ---------------------------------------------


def cluster_secret(name: str, *, server: str, labels: Mapping[str, str], namespace: str = "argocd") -> dict[str, Any]:
    """An Argo CD cluster Secret (what ``argocd cluster add`` writes), with your own labels for generators.

    The credentials (``config``: bearer token or TLS client cert) are left out on purpose: ``argocd cluster add``
    fills them in on a real cluster; only the name, server and labels matter to a generator.

    Used in: notebook 09.
    """
    from .manifests import object_meta

    if not server.startswith("https://"):
        raise ConfigError(f"server {server!r} is not an https URL", hint="the cluster's API endpoint, https://...")
    meta = object_meta(name, namespace=namespace, labels={CLUSTER_SECRET_LABEL: "cluster", **labels})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "stringData": {"name": name, "server": server},
    }


def example_clusters() -> list[dict[str, Any]]:
    """Five registered clusters across environments and regions (the fixture of the notebook and its exercise).

    Used in: notebook 09.
    """
    fleet = [
        ("prod-nyc1", "production", "nyc1"),
        ("prod-fra1", "production", "fra1"),
        ("prod-sgp1", "production", "sgp1"),
        ("staging-nyc1", "staging", "nyc1"),
        ("dev-fra1", "dev", "fra1"),
    ]
    return [
        cluster_secret(n, server=f"https://{n}.k8s.ondigitalocean.com", labels={"env": env, "region": region})
        for n, env, region in fleet
    ]


def _labels(secret: Mapping[str, Any]) -> dict[str, str]:
    return dict((secret.get("metadata") or {}).get("labels") or {})


def match_clusters(selector: Mapping[str, Any], clusters: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the cluster Secrets a clusters-generator ``selector`` picks (sorted).

    Only Secrets labelled ``argocd.argoproj.io/secret-type: cluster`` take part, as in Argo CD.

    Used in: notebook 09.
    """
    return sorted(
        c["stringData"]["name"]
        for c in clusters
        if _labels(c).get(CLUSTER_SECRET_LABEL) == "cluster" and selector_matches(selector, _labels(c))
    )


def selector_table(selectors: Mapping[str, Mapping[str, Any]], clusters: Sequence[Mapping[str, Any]]) -> Any:
    """A DataFrame: one row per cluster (with its env and region), one ✓ column per named selector.

    Used in: notebook 09.
    """
    import pandas as pd

    rows = []
    for c in clusters:
        labels = _labels(c)
        row = {"cluster": c["stringData"]["name"], "env": labels.get("env", ""), "region": labels.get("region", "")}
        for title, sel in selectors.items():
            row[title] = "✓" if c["stringData"]["name"] in match_clusters(sel, [c]) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def application_set(
    name: str = "guestbook-global",
    *,
    selector: Mapping[str, Any],
    repo_url: str = "https://github.com/argoproj/argocd-example-apps.git",
    path: str = "guestbook",
    app_namespace: str = "guestbook",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An ApplicationSet with a clusters generator and a full label ``selector`` (matchLabels and/or
    matchExpressions). Built on :func:`course_lib.manifests.argo_application_set`, which takes matchLabels only.

    Used in: notebook 09.
    """
    from .manifests import argo_application_set

    _check_selector(selector)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        raise ConfigError("the selector is empty and would pick every cluster", hint="add matchLabels or expressions")
    first = dict(selector.get("matchLabels") or {}) or {"placeholder": "x"}
    appset = argo_application_set(
        name, repo_url=repo_url, path=path, app_namespace=app_namespace, cluster_labels=first, labels=labels
    )
    clean = {k: v for k, v in selector.items() if v}
    appset["spec"]["generators"][0]["clusters"]["selector"] = {k: clean[k] for k in sorted(clean)}
    return appset


_GO_VAR = re.compile(r"\{\{\s*\.(name|server)\s*\}\}")


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _GO_VAR.sub(lambda m: values[m.group(1)], text)


def generated_applications(appset: Mapping[str, Any], clusters: Sequence[Mapping[str, Any]]) -> Any:
    """The Applications the ApplicationSet's clusters generator would create (name, destination server, namespace).

    Raises:
        ConfigError: the ApplicationSet has no clusters generator.

    Used in: notebook 09.
    """
    import pandas as pd

    try:
        selector = appset["spec"]["generators"][0]["clusters"].get("selector") or {}
        template = appset["spec"]["template"]
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ConfigError("no clusters generator in this ApplicationSet", hint="spec.generators[0].clusters") from None
    rows = []
    for c in clusters:
        values = {"name": c["stringData"]["name"], "server": c["stringData"]["server"]}
        if values["name"] not in match_clusters(selector, [c]):
            continue
        rows.append(
            {
                "application": _fill(template["metadata"]["name"], values),
                "server": _fill(template["spec"]["destination"]["server"], values),
                "namespace": template["spec"]["destination"]["namespace"],
            }
        )
    return pd.DataFrame(rows, columns=["application", "server", "namespace"])


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

    from .provision import estimate_cost, get_options

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


# --- exercise --------------------------------------------------------------------------------------

_WANTED = ["prod-fra1", "prod-nyc1"]


@exercise("09-appset-selector")
def _check_appset_selector(answer: Any) -> CheckResult:
    """Part 9: a selector (or an ApplicationSet) that picks exactly the production clusters in nyc1 and fra1."""
    name = "09-appset-selector"
    selector = answer
    if isinstance(answer, Mapping) and answer.get("kind") == "ApplicationSet":
        try:
            selector = answer["spec"]["generators"][0]["clusters"]["selector"]
        except (KeyError, IndexError, TypeError):
            return CheckResult(
                name,
                False,
                "that ApplicationSet has no clusters generator with a selector.",
                "spec.generators[0].clusters.selector",
            )
    try:
        _check_selector(selector)
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return CheckResult(name, False, "an empty selector picks every registered cluster.", "add conditions")
    clusters = example_clusters()
    got = match_clusters(selector, clusters)
    extra = [c for c in got if c not in _WANTED]
    missing = [c for c in _WANTED if c not in got]
    if extra:
        hint = (
            "also require env=production"
            if any(not c.startswith("prod-") for c in extra)
            else "limit the region label to the two regions"
        )
        return CheckResult(name, False, f"it also picks {', '.join(extra)}.", hint)
    if missing:
        return CheckResult(
            name,
            False,
            f"it misses {', '.join(missing)}.",
            "a matchExpressions entry with operator In takes a list of values",
        )
    return CheckResult(name, True, f"picks exactly {', '.join(got)}.")


def _register_manifests() -> None:
    from .manifests import register
    from .manifests._registry import Builder

    entries: dict[str, Builder] = {
        "09/external-dns": lambda lb: external_dns_objects(labels=lb),
        "09/regional-ingress": lambda lb: regional_ingress("nyc1", labels=lb),
        "09/global-service": lambda lb: global_service(labels=lb),
        "09/cluster-secrets": lambda lb: example_clusters(),
        "09/guestbook-two-regions": lambda lb: application_set(
            "guestbook-two-regions",
            selector={
                "matchLabels": {"env": "production"},
                "matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1", "fra1"]}],
            },
            labels=lb,
        ),
    }
    for key, builder in entries.items():
        register(key, builder, replace=True)


_register_manifests()

# ----------------------------------------------------------------------------------------------- the sandbox's fleet


@dataclass(frozen=True)
class LocalFleet:
    """Two clusters on this machine registered in the sandbox's Argo CD: the sandbox itself and a second local
    control plane, each a cluster Secret with ``env`` and ``region`` labels.

    Attributes:
        kubeconfigs: region -> kubeconfig file (the sandbox's own for the first region).
        secrets: the cluster Secrets as registered (what ``argocd cluster add --label`` writes).
    """

    kubeconfigs: Mapping[str, str]
    secrets: tuple[dict[str, Any], ...]

    def labels(self) -> dict[str, dict[str, str]]:
        """region -> its labels as registered."""
        return {
            s["stringData"]["name"]: {k: v for k, v in s["metadata"]["labels"].items() if "argoproj" not in k}
            for s in self.secrets
        }


def local_fleet(
    argocd: Any, *, kubeconfig: str, primary: str = "nyc1", secondary: str = "fra1", env: str = "production"
) -> LocalFleet:
    """Start (or reuse) a second local control plane named after ``secondary`` and register both clusters in the
    sandbox's Argo CD with ``env``/``region`` labels. Every server is on 127.0.0.1.

    Used in: notebook 09 (sandbox), the ApplicationSet test.
    """
    from .sandbox import _controlplane

    second = _controlplane.extra_cluster_up(secondary, nodes=1)
    secrets = (
        argocd.register_cluster(primary, labels={"env": env, "region": primary}),
        argocd.register_cluster(secondary, labels={"env": env, "region": secondary}, kubeconfig=second.kubeconfig),
    )
    return LocalFleet({primary: kubeconfig, secondary: second.kubeconfig}, secrets)


def relabel(
    argocd: Any, fleet: LocalFleet, region: str, *, appset: Mapping[str, Any], timeout: float = 60.0, **labels: str
) -> tuple[LocalFleet, float]:
    """Change a registered cluster's labels (``kubectl label secret cluster-<region> -n argocd env=staging
    --overwrite``) and wait until the ApplicationSet controller has added or removed that cluster's Application;
    returns the new fleet and the seconds that took.

    Used in: notebook 09 (sandbox).
    """
    import time

    current = fleet.labels()[region]
    kubeconfig = None if region == next(iter(fleet.kubeconfigs)) else fleet.kubeconfigs[region]
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"]
    wanted = all({**current, **labels}.get(k) == v for k, v in selector.items())
    app = f"applicationset.argoproj.io/{appset['metadata']['name']}-{region}"
    start = time.monotonic()
    secret = argocd.register_cluster(region, labels={**current, **labels}, kubeconfig=kubeconfig)
    names = "-n", "argocd", "get", "applications.argoproj.io", "-o", "name"
    while (f"application.argoproj.io/{app.split('/', 1)[1]}" in argocd.kubectl(*names).split()) != wanted:
        if time.monotonic() - start > timeout:
            raise ConfigError(f"the Application of {region} did not {'appear' if wanted else 'go'} in {timeout:.0f} s",
                              hint="is the ApplicationSet controller running? `course sandbox status`")  # fmt: skip
        time.sleep(0.2)
    others = tuple(s for s in fleet.secrets if s["stringData"]["name"] != region)
    return LocalFleet(fleet.kubeconfigs, (*others, secret)), time.monotonic() - start


def fan_out(argocd: Any, appset: Mapping[str, Any], fleet: LocalFleet, *, timeout: float = 90.0) -> pd.DataFrame:
    """Wait until the ApplicationSet's Application for each ``env: production`` cluster of ``fleet`` is Synced and
    Healthy; one row per Application: its cluster, status, seconds since the call, and the Deployment's replicas as
    that cluster's own API server reports them.

    Used in: notebook 09 (sandbox).
    """
    import time

    import pandas as pd

    from .cluster import connect

    name = appset["metadata"]["name"]
    namespace = appset["spec"]["template"]["spec"]["destination"]["namespace"]
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"]
    start = time.monotonic()
    rows = []
    for region, labels in fleet.labels().items():
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        seconds, state = argocd.wait(f"{name}-{region}", sync="Synced", health="Healthy", timeout=timeout)
        remote = connect("sandbox", kubeconfig=fleet.kubeconfigs[region])
        try:
            deploy = remote.get("Deployment", "guestbook-ui", namespace=namespace)
        finally:
            remote.close()
        rows.append({
            "application": f"{name}-{region}", "cluster": region, "sync": state.sync, "health": state.health,
            "seconds": round(time.monotonic() - start, 1),
            "ready replicas there": int((deploy.get("status") or {}).get("readyReplicas") or 0),
        })  # fmt: skip
    return pd.DataFrame(rows)


__all__ = [
    "LocalFleet",
    "fan_out",
    "local_fleet",
    "relabel",
    "EXTERNAL_DNS_IMAGE",
    "REGION_GEOGRAPHY",
    "FailoverTime",
    "MeshCluster",
    "application_set",
    "check_clustermesh",
    "cluster_secret",
    "clustermesh_commands",
    "dns_failover_time",
    "example_clusters",
    "external_dns_objects",
    "generated_applications",
    "global_service",
    "match_clusters",
    "region_costs",
    "regional_ingress",
    "selector_matches",
    "selector_table",
    "strategies",
]
