"""Google's Online Boutique (Apache-2.0), the seed's capstone application: eleven microservices and a Redis cart,
rendered by the course from its published facts (service names, ports, images, the ``*_ADDR`` variables that wire
the services together, requests and limits of ``release/kubernetes-manifests.yaml`` at v0.10.6).

On a cluster it is one more child Application (its pods pull the images below); on the sandbox the same objects are
stored by the real API server, scheduled onto kwok's nodes and reported Running, and no container runs. Its service
graph (:func:`service_graph`) is read from the rendered manifests: it is the graph Kiali draws once traffic flows
through the sidecars (Kiali builds it from the proxies' ``istio_requests_total`` in Prometheus, so with no traffic
it shows nothing).

Example:
    >>> objs = online_boutique()
    >>> sorted({o["kind"] for o in objs})
    ['Deployment', 'Namespace', 'Service', 'ServiceAccount']
    >>> len([o for o in objs if o["kind"] == "Deployment"])
    12

Used in: notebook 10.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..pins import BOUTIQUE_VERSION
from ._core import namespace as namespace_manifest
from ._meta import Manifest, check_name, object_meta, resource

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

BOUTIQUE_REGISTRY = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo"
#: where the upstream manifests are (a child Application on a cluster points here)
BOUTIQUE_REPO = "https://github.com/GoogleCloudPlatform/microservices-demo.git"
BOUTIQUE_PATH = "kubernetes-manifests"


@dataclass(frozen=True)
class BoutiqueService:
    """One Online Boutique component.

    Attributes:
        name: Deployment, Service and ServiceAccount name.
        port: the container's port (``None``: it serves nothing, the load generator).
        service_port: the Service's port (``None``: no Service).
        calls: ``(environment variable, service)`` pairs: whom it calls, and the variable that says where.
        requests: cpu and memory requested; limits: the caps.
        image: the image, when it is not the Boutique's own ``<registry>/<name>:<version>``.
    """

    name: str
    port: int | None
    service_port: int | None
    calls: tuple[tuple[str, str], ...] = ()
    requests: tuple[str, str] = ("100m", "64Mi")
    limits: tuple[str, str] = ("200m", "128Mi")
    image: str = ""


_CATALOG = ("PRODUCT_CATALOG_SERVICE_ADDR", "productcatalogservice")
_CURRENCY = ("CURRENCY_SERVICE_ADDR", "currencyservice")
_CART = ("CART_SERVICE_ADDR", "cartservice")
_SHIPPING = ("SHIPPING_SERVICE_ADDR", "shippingservice")

#: The components of v0.10.6's release manifests (its optional shopping assistant left out, as the release does).
SERVICES: tuple[BoutiqueService, ...] = (
    BoutiqueService(
        "frontend",
        8080,
        80,
        (
            _CATALOG,
            _CURRENCY,
            _CART,
            ("RECOMMENDATION_SERVICE_ADDR", "recommendationservice"),
            _SHIPPING,
            ("CHECKOUT_SERVICE_ADDR", "checkoutservice"),
            ("AD_SERVICE_ADDR", "adservice"),
        ),
    ),
    BoutiqueService("adservice", 9555, 9555, requests=("200m", "180Mi"), limits=("300m", "300Mi")),
    BoutiqueService("currencyservice", 7000, 7000),
    BoutiqueService("cartservice", 7070, 7070, (("REDIS_ADDR", "redis-cart"),), ("200m", "64Mi"), ("300m", "128Mi")),
    BoutiqueService(
        "redis-cart", 6379, 6379, requests=("70m", "200Mi"), limits=("125m", "256Mi"), image="redis:alpine"
    ),
    BoutiqueService(
        "loadgenerator", None, None, (("FRONTEND_ADDR", "frontend"),), ("300m", "256Mi"), ("500m", "512Mi")
    ),
    BoutiqueService("recommendationservice", 8080, 8080, (_CATALOG,), ("100m", "220Mi"), ("200m", "450Mi")),
    BoutiqueService(
        "checkoutservice",
        5050,
        5050,
        (
            _CATALOG,
            _SHIPPING,
            ("PAYMENT_SERVICE_ADDR", "paymentservice"),
            ("EMAIL_SERVICE_ADDR", "emailservice"),
            _CURRENCY,
            _CART,
        ),
    ),
    BoutiqueService("emailservice", 8080, 5000),
    BoutiqueService("paymentservice", 50051, 50051),
    BoutiqueService("shippingservice", 50051, 50051),
    BoutiqueService("productcatalogservice", 3550, 3550),
)


def _by_name() -> dict[str, BoutiqueService]:
    return {s.name: s for s in SERVICES}


def _deployment(svc: BoutiqueService, namespace: str, labels: Mapping[str, str] | None) -> Manifest:
    services = _by_name()
    env = [{"name": var, "value": f"{target}:{services[target].service_port}"} for var, target in svc.calls]
    container: dict[str, Any] = {
        "name": "redis" if svc.image else "server" if svc.port else "main",
        "image": svc.image or f"{BOUTIQUE_REGISTRY}/{svc.name}:{BOUTIQUE_VERSION}",
        "resources": {
            "requests": {"cpu": svc.requests[0], "memory": svc.requests[1]},
            "limits": {"cpu": svc.limits[0], "memory": svc.limits[1]},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
        },
    }
    if svc.port:
        container["ports"] = [{"containerPort": svc.port}]
    if env:
        container["env"] = env
    volumes = []
    if svc.image:  # redis writes its data to /data, the root filesystem being read-only
        container["volumeMounts"] = [{"name": "redis-data", "mountPath": "/data"}]
        volumes = [{"name": "redis-data", "emptyDir": {}}]
    app = {"app": svc.name}
    pod_spec: dict[str, Any] = {
        "securityContext": {"fsGroup": 1000, "runAsGroup": 1000, "runAsNonRoot": True, "runAsUser": 1000},
        "containers": [container],
    }
    if volumes:
        pod_spec["volumes"] = volumes
    if not svc.image:  # the Boutique's own services run as their own ServiceAccount; redis-cart as the default one
        pod_spec = {"serviceAccountName": svc.name, **pod_spec}
    return resource(
        "apps/v1",
        "Deployment",
        object_meta(svc.name, namespace=namespace, labels=labels),
        spec={
            "replicas": 1,
            "selector": {"matchLabels": app},
            # `version`: the label Kiali and Istio's subsets read (the course's addition to upstream's `app`)
            "template": {"metadata": {"labels": {**app, "version": BOUTIQUE_VERSION}}, "spec": pod_spec},
        },
    )


def _service(
    name: str, svc: BoutiqueService, namespace: str, labels: Mapping[str, str] | None, kind: str = "ClusterIP"
) -> Manifest:
    return resource(
        "v1",
        "Service",
        object_meta(name, namespace=namespace, labels=labels),
        spec={
            "type": kind,
            "selector": {"app": svc.name},
            "ports": [{"name": "http" if svc.name == "frontend" else "grpc", "port": svc.service_port,
                       "targetPort": svc.port}],
        },
    )  # fmt: skip


def online_boutique(
    namespace: str = "boutique",
    *,
    external: bool = True,
    mesh: bool = True,
    labels: Mapping[str, str] | None = None,
) -> list[Manifest]:
    """Online Boutique's objects: its namespace, and per component a ServiceAccount, a Deployment and (except the
    load generator) a Service.

    Args:
        external: add ``frontend-external``, a ``LoadBalancer`` Service (on DOKS: one DigitalOcean load balancer,
            billed; the sandbox stores it and nothing answers on its address).
        mesh: label the namespace for Istio's sidecar injection (Kiali's graph needs the sidecars' metrics).
    """
    ns = check_name(namespace, what="namespace")
    objects: list[Manifest] = [namespace_manifest(ns, istio_injection=mesh, labels=labels)]
    for svc in SERVICES:
        if not svc.image:  # its Deployment runs as this ServiceAccount (see _deployment)
            objects.append(resource("v1", "ServiceAccount", object_meta(svc.name, namespace=ns, labels=labels)))
        objects.append(_deployment(svc, ns, labels))
        if svc.service_port:
            objects.append(_service(svc.name, svc, ns, labels))
    if external:
        objects.append(_service("frontend-external", _by_name()["frontend"], ns, labels, kind="LoadBalancer"))
    return objects


def service_graph(objects: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Who calls whom, read from manifests: one row per ``*_ADDR`` variable of a Deployment whose ``host:port``
    names a Service among ``objects`` (source, destination, port, variable), sorted. Works on any manifests wired
    the same way, the live ones included (``cluster.list("Deployment", …)`` + ``cluster.list("Service", …)``).

    Example:
        >>> graph = service_graph(online_boutique())
        >>> len(graph), sorted(set(graph["source"]))[:3]
        (16, ['cartservice', 'checkoutservice', 'frontend'])
    """
    import pandas as pd

    services = {
        (o["metadata"]["name"], int(p["port"]))
        for o in objects
        if o.get("kind") == "Service"
        for p in (o.get("spec") or {}).get("ports") or []
    }
    rows = []
    for o in objects:
        if o.get("kind") != "Deployment":
            continue
        for container in o["spec"]["template"]["spec"].get("containers") or []:
            for env in container.get("env") or []:
                host, _, port = str(env.get("value") or "").partition(":")
                if env.get("name", "").endswith("_ADDR") and port.isdigit() and (host, int(port)) in services:
                    rows.append((o["metadata"]["name"], host, int(port), env["name"]))
    return pd.DataFrame(sorted(rows), columns=["source", "destination", "port", "variable"])


def edge_queries(graph: pd.DataFrame, *, namespace: str = "boutique", window: str = "1m") -> pd.DataFrame:
    """The PromQL behind each edge of Kiali's graph: the request rate the client-side sidecars report
    (``istio_requests_total`` with ``reporter="source"``) from one workload to one Service.

    Example:
        >>> import pandas as pd
        >>> q = edge_queries(pd.DataFrame({"source": ["frontend"], "destination": ["cartservice"]}))
        >>> print(q["promql"][0])
        sum(rate(istio_requests_total{reporter="source", source_workload="frontend", source_workload_namespace="boutique", destination_service_name="cartservice"}[1m]))
    """
    import pandas as pd

    rows = [
        (
            src,
            dst,
            f'sum(rate(istio_requests_total{{reporter="source", source_workload="{src}", '
            f'source_workload_namespace="{namespace}", destination_service_name="{dst}"}}[{window}]))',
        )
        for src, dst in zip(graph["source"], graph["destination"], strict=True)
    ]
    return pd.DataFrame(rows, columns=["source", "destination", "promql"])


__all__ = [
    "BOUTIQUE_PATH",
    "BOUTIQUE_REPO",
    "BOUTIQUE_VERSION",
    "SERVICES",
    "BoutiqueService",
    "edge_queries",
    "online_boutique",
    "service_graph",
]
