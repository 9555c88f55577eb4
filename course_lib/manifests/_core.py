"""Built-in Kubernetes kinds the course uses: Namespace, ConfigMap, Secret, the checkout demo app, NetworkPolicy.

Example:
    >>> objs = checkout_app(namespace="shop")
    >>> [o["kind"] for o in objs]
    ['ConfigMap', 'Deployment', 'Service']

Used in: notebooks 02 (Secret, Pod), 04 (Namespace with sidecar injection, app v1/v2), 05 (NetworkPolicy), 09.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ._meta import Manifest, object_meta, resource

#: Image of the checkout demo service: the same program the sandbox runs as a local process
#: (``python -m course_lib.sandbox._checkout``) packaged with ``course_lib``. The course does not publish it;
#: on a real cluster build and push your own and pass ``image=``.
CHECKOUT_IMAGE = "ghcr.io/k8s-course/checkout:0.1.0"


def namespace(name: str, *, istio_injection: bool = False, labels: Mapping[str, str] | None = None) -> Manifest:
    """A Namespace; ``istio_injection=True`` adds ``istio-injection: enabled`` so Istio injects its sidecar.

    Example:
        >>> namespace("shop", istio_injection=True)["metadata"]["labels"]["istio-injection"]
        'enabled'

    Used in: notebook 04.
    """
    extra = {"istio-injection": "enabled"} if istio_injection else None
    return resource("v1", "Namespace", object_meta(name, labels=labels, extra_labels=extra))


def config_map(
    name: str, *, namespace: str, data: Mapping[str, str], labels: Mapping[str, str] | None = None
) -> Manifest:
    """A ConfigMap whose values are all strings (numbers must be quoted, as the API demands).

    Used in: notebooks 04, 07.
    """
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"ConfigMap {name!r}: value of {key!r} is {type(value).__name__}, not a string",
                hint=f'quote it, e.g. {key}: "{value}"',
            )
    return resource("v1", "ConfigMap", object_meta(name, namespace=namespace, labels=labels), data=dict(data))


def secret(
    name: str,
    *,
    namespace: str,
    string_data: Mapping[str, str],
    secret_type: str = "Opaque",
    labels: Mapping[str, str] | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A plain Secret with ``stringData`` — what ``kubectl create secret generic --dry-run=client`` writes.

    This is the object you seal with ``kubeseal``; never commit it. The values are shown by
    ``to_yaml``, so only pass demo values here.

    Example:
        >>> secret("db-pass", namespace="default", string_data={"password": "demo"})["type"]
        'Opaque'

    Used in: notebook 02.
    """
    return resource(
        "v1",
        "Secret",
        object_meta(name, namespace=namespace, labels=labels, extra_labels=extra_labels),
        type=secret_type,
        stringData=dict(string_data),
    )


def secret_env_pod(
    name: str = "secret-test-app",
    *,
    namespace: str = "default",
    secret_name: str = "db-pass",
    key: str = "password",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A small Pod that reads one key of a Secret into an environment variable (proves the unsealed Secret).

    Used in: notebook 02.
    """
    container = {
        "name": "test-container",
        "image": "busybox:1.37",
        "command": ["sh", "-c", 'echo "secret has ${#DB_PASSWORD} characters"; sleep 3600'],
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "allowPrivilegeEscalation": False},
    }
    spec = {"securityContext": {"runAsNonRoot": True}, "containers": [container]}
    return resource("v1", "Pod", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def checkout_config_map(
    name: str = "checkout-config", *, namespace: str = "shop", labels: Mapping[str, str] | None = None
) -> Manifest:
    """Connection settings of the checkout service: it reaches PostgreSQL through the PgBouncer Pooler.

    Used in: notebooks 04, 08.
    """
    data = {"DB_HOST": "pooler-rw.database", "DB_PORT": "5432"}
    return config_map(name, namespace=namespace, data=data, labels=labels)


def checkout_deployment(
    name: str = "checkout",
    *,
    namespace: str = "shop",
    version: str = "v1",
    replicas: int = 2,
    image: str = CHECKOUT_IMAGE,
    port: int = 8080,
    config_map_name: str = "checkout-config",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """Deployment of the checkout demo service, non-root, with probes, resources and a ``version`` label.

    Two of these (``version="v1"`` and ``"v2"``, different ``name``) are the canary pair that the Istio
    DestinationRule subsets and the Traefik weighted service split traffic between.

    Example:
        >>> checkout_deployment(replicas=3)["spec"]["replicas"]
        3

    Used in: notebooks 03, 04, 05.
    """
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ConfigError(f"replicas must be a whole number >= 0, got {replicas!r}", hint="e.g. replicas=2")
    if not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range", hint="use a TCP port between 1 and 65535, e.g. 8080")
    pod_labels = {"app": "checkout", "version": version}
    probe: dict[str, Any] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": "checkout",
        "image": image,
        "command": ["python", "-m", "course_lib.sandbox._checkout", "--host", "0.0.0.0", "--port", str(port)],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": config_map_name}}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 5},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    template = {
        "metadata": {"labels": pod_labels, "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [container]},
    }
    spec = {"replicas": replicas, "selector": {"matchLabels": pod_labels}, "template": template}
    meta = object_meta(name, namespace=namespace, labels=labels, extra_labels=pod_labels)
    return resource("apps/v1", "Deployment", meta, spec=spec)


def checkout_service(
    name: str = "checkout",
    *,
    namespace: str = "shop",
    port: int = 80,
    target_port: str | int = "http",
    version: str | None = None,
    select_pods: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """ClusterIP Service in front of the checkout pods (all versions, or one ``version`` for Traefik canaries).

    ``select_pods=False`` leaves out the selector: the Service then has only the endpoints someone writes for it
    (an EndpointSlice, see :func:`local_endpoint_slice`) — how the sandbox puts a local process behind it.

    Used in: notebooks 03, 04.
    """
    selector = {"app": "checkout"} | ({"version": version} if version else {})
    spec: dict[str, Any] = {
        "type": "ClusterIP",
        "ports": [{"name": "http", "port": port, "targetPort": target_port, "protocol": "TCP"}],
    }
    if select_pods:
        spec = {"type": "ClusterIP", "selector": selector, "ports": spec["ports"]}
    meta = object_meta(name, namespace=namespace, labels=labels, extra_labels={"app": "checkout"})
    return resource("v1", "Service", meta, spec=spec)


def local_endpoint_slice(
    service: str,
    *,
    namespace: str,
    port: int,
    address: str = "127.0.0.1",
    port_name: str = "http",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An EndpointSlice that makes ``address:port`` the endpoint of a selector-less Service ``service``.

    The API server refuses loopback addresses in ``Endpoints`` and in ``IPv4``/``IPv6`` EndpointSlices
    (``may not be in the loopback range``), but an ``FQDN`` EndpointSlice (deprecated, accepted with a warning)
    holds ``127.0.0.1`` as a name. A proxy that reads EndpointSlices (Traefik's CRD and Gateway API providers do)
    joins that address and the port into ``http://127.0.0.1:PORT``: the Service's traffic goes to a process on this
    machine. ``port_name`` must be the Service port's name. The slice is marked as written by hand
    (``endpointslice.kubernetes.io/managed-by``), so the EndpointSlice controller leaves it alone.

    Example:
        >>> s = local_endpoint_slice("checkout-v1", namespace="edge", port=41234)
        >>> s["addressType"], s["endpoints"][0]["addresses"], s["ports"][0]["port"]
        ('FQDN', ['127.0.0.1'], 41234)

    Used in: notebook 04 (Traefik's backends on the sandbox).
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ConfigError(f"port {port!r} is not a TCP port", hint="use a whole number between 1 and 65535")
    meta = object_meta(
        f"{service}-local",
        namespace=namespace,
        labels=labels,
        extra_labels={
            "kubernetes.io/service-name": service,
            "endpointslice.kubernetes.io/managed-by": "course-lib",
        },
    )
    return resource(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        meta,
        addressType="FQDN",
        endpoints=[{"addresses": [address], "conditions": {"ready": True}}],
        ports=[{"name": port_name, "port": port, "protocol": "TCP"}],
    )


def checkout_app(*, namespace: str = "shop", labels: Mapping[str, str] | None = None) -> list[Manifest]:
    """The checkout demo app as three objects: ConfigMap, Deployment (v1) and Service.

    Used in: notebooks 03, 04, 09.
    """
    return [
        checkout_config_map(namespace=namespace, labels=labels),
        checkout_deployment(namespace=namespace, labels=labels),
        checkout_service(namespace=namespace, labels=labels),
    ]


def network_policy_default_deny(
    name: str = "default-deny-all", *, namespace: str = "default", labels: Mapping[str, str] | None = None
) -> Manifest:
    """Deny all ingress and egress for every pod in ``namespace`` (empty podSelector selects all).

    Used in: notebook 05.
    """
    spec = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    return resource(
        "networking.k8s.io/v1", "NetworkPolicy", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def network_policy_allow_from(
    name: str = "allow-frontend",
    *,
    namespace: str = "default",
    app: str = "frontend",
    from_app: str = "ingress-gateway",
    port: int = 80,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """Allow TCP ``port`` into pods labelled ``app=<app>`` only from pods labelled ``app=<from_app>``.

    Example:
        >>> network_policy_allow_from()["spec"]["ingress"][0]["ports"][0]["port"]
        80

    Used in: notebook 05.
    """
    spec = {
        "podSelector": {"matchLabels": {"app": app}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"app": from_app}}}],
                "ports": [{"protocol": "TCP", "port": port}],
            }
        ],
    }
    return resource(
        "networking.k8s.io/v1", "NetworkPolicy", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )
