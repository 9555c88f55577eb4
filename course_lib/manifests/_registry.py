"""The registry of every manifest the course renders: name → builder call with the course's defaults.

``course validate`` renders and validates all of them. Other packages add their own with :func:`register`.

Example:
    >>> "04/checkout-canary" in registered()
    True
    >>> [o["kind"] for o in render("08/production-db")]
    ['Cluster']

Used in: ``course validate`` and notebooks that show "everything this part deploys".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from ..errors import ConfigError
from . import _boutique, _core, _datadog, _gitops, _networking, _postgres, _security
from ._meta import DEFAULT_LABELS, Manifest

#: A registry entry: called with the labels to use, returns one manifest or a list of them.
Builder = Callable[[Mapping[str, str]], Manifest | list[Manifest]]

EXAMPLE_REPO = "https://github.com/argoproj/argocd-example-apps.git"
#: A stand-in for kubeseal output (real ciphertext can only come from a cluster's controller key).
EXAMPLE_CIPHERTEXT = "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq" + "A" * 32
_SPACES = _postgres.SpacesBucket()

_REGISTRY: dict[str, Builder] = {}


def register(name: str, builder: Builder, *, replace: bool = False) -> None:
    """Add a named entry (convention: ``"<part>/<what>"``, e.g. ``"03/observability"``).

    Raises:
        ConfigError: the name is taken (pass ``replace=True`` to overwrite on purpose).
    """
    if name in _REGISTRY and not replace:
        raise ConfigError(f"manifest {name!r} is already registered", hint="choose another name or pass replace=True")
    _REGISTRY[name] = builder


def registered() -> list[str]:
    """Names of all registered entries, sorted (so by part)."""
    _load_plugins()
    return sorted(_REGISTRY)


def render(name: str, *, labels: Mapping[str, str] | None = None) -> list[Manifest]:
    """Render one entry as a list of manifests, every one carrying ``labels`` (default course labels).

    Raises:
        ConfigError: no entry has that name (the message lists the valid names).
    """
    _load_plugins()
    if name not in _REGISTRY:
        raise ConfigError(f"no manifest named {name!r}", hint=f"choose one of: {', '.join(sorted(_REGISTRY))}")
    use = dict(DEFAULT_LABELS if labels is None else labels)
    out = _REGISTRY[name](use)
    objects = [out] if isinstance(out, dict) else list(out)
    for obj in objects:  # entries from other packages may not know the course labels: add the missing ones
        obj_labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        for key, value in use.items():
            obj_labels.setdefault(key, value)
    return objects


def render_all(*, labels: Mapping[str, str] | None = None) -> dict[str, list[Manifest]]:
    """Render every registered entry: ``{name: [manifest, ...]}``."""
    return {name: render(name, labels=labels) for name in registered()}


_PLUGINS_LOADED = False
#: Modules that register the manifests their notebooks show (imported once, on first use of the registry).
PLUGIN_MODULES: tuple[str, ...] = (
    "course_lib.gitops",
    "course_lib.policy",
    "course_lib.charts",
    "course_lib.postgres",
    "course_lib.regions",
    "course_lib.capstone",
)


def _load_plugins() -> None:
    """Register the Part 3 objects of ``_observability`` and import every module in :data:`PLUGIN_MODULES`."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True  # set first: plugin modules use the registry while they are imported
    for module in PLUGIN_MODULES:
        importlib.import_module(module)  # a part module that fails to import fails loudly, never silently
    from ._observability import observability_objects

    register("03/observability", lambda labels: observability_objects(labels=labels))


def _checkout_dashboard_configmap(labels: Mapping[str, str]) -> Manifest:
    """Part 3's Grafana dashboard, as the ConfigMap kube-prometheus-stack's sidecar loads (needs the Grafana SDK)."""
    from ..observe._dashboards import dashboard_configmap

    return dashboard_configmap(labels=labels)


def _defaults() -> None:
    c, g, n, s, p = _core, _gitops, _networking, _security, _postgres
    entries: dict[str, Builder] = {
        # Part 2 — GitOps
        "02/guestbook-app": lambda lb: g.argo_application(
            "guestbook", repo_url=EXAMPLE_REPO, path="guestbook", dest_namespace="guestbook", labels=lb
        ),
        "02/guestbook-app-manual": lambda lb: g.argo_application(
            "guestbook-manual",
            repo_url=EXAMPLE_REPO,
            path="guestbook",
            dest_namespace="guestbook-manual",
            automated=False,
            labels=lb,
        ),
        "02/private-repo-creds": lambda lb: g.argo_repository_secret(
            "private-repo-creds", url="git@github.com:your-username/your-private-repo.git", labels=lb
        ),
        "02/db-pass": lambda lb: [
            c.secret("db-pass", namespace="default", string_data={"password": "change-me"}, labels=lb),
            c.secret_env_pod(labels=lb),
        ],
        "02/db-pass-sealed": lambda lb: g.sealed_secret(
            "db-pass", namespace="default", encrypted_data={"password": EXAMPLE_CIPHERTEXT}, labels=lb
        ),
        # Part 3 — observability (the ServiceMonitors and rules are "03/observability", registered on first use)
        "03/checkout-dashboard": _checkout_dashboard_configmap,
        "03/datadog-demo": lambda lb: _datadog.express_app(labels=lb),
        # Part 4 — networking and service mesh
        "04/shop-namespace": lambda lb: c.namespace("shop", istio_injection=True, labels=lb),
        "04/checkout-app": lambda lb: [
            *c.checkout_app(namespace="shop", labels=lb),
            c.checkout_deployment("checkout-v2", namespace="shop", version="v2", replicas=1, labels=lb),
        ],
        "04/myapp-route": lambda lb: n.traefik_ingress_route(
            "myapp-route",
            namespace="shop",
            routes=[n.traefik_route(host="myapp.example.com", service="checkout")],
            labels=lb,
        ),
        "04/myapp-secure": lambda lb: n.traefik_ingress_route(
            "myapp-secure",
            namespace="shop",
            entry_points=["websecure"],
            cert_resolver="myresolver",
            routes=[n.traefik_route(host="secure.example.com", service="checkout")],
            labels=lb,
        ),
        "04/api-gateway": lambda lb: n.traefik_ingress_route(
            "api-gateway",
            namespace="shop",
            labels=lb,
            routes=[
                n.traefik_route(host="api.example.com", path_prefix="/users", service="user-service", port=8080),
                n.traefik_route(host="api.example.com", path_prefix="/orders", service="order-service", port=8080),
            ],
        ),
        "04/api-rate-limit": lambda lb: [
            n.traefik_rate_limit("api-rate-limit", namespace="shop", average=100, burst=50, labels=lb),
            n.traefik_ingress_route(
                "api-limited",
                namespace="shop",
                labels=lb,
                routes=[n.traefik_route(host="api.example.com", service="checkout", middlewares=["api-rate-limit"])],
            ),
        ],
        "04/checkout-canary": lambda lb: [
            c.checkout_service("checkout-v1", namespace="shop", version="v1", labels=lb),
            c.checkout_service("checkout-v2", namespace="shop", version="v2", labels=lb),
            n.traefik_weighted_service(
                "checkout-canary", namespace="shop", backends={"checkout-v1": 90, "checkout-v2": 10}, labels=lb
            ),
            n.traefik_ingress_route(
                "checkout-canary",
                namespace="shop",
                labels=lb,
                routes=[
                    n.traefik_route(host="shop.example.com", service="checkout-canary", service_kind="TraefikService")
                ],
            ),
        ],
        "04/checkout-mesh": lambda lb: [
            n.istio_destination_rule("checkout", namespace="shop", host="checkout", labels=lb),
            n.istio_virtual_service(
                "checkout", namespace="shop", host="checkout", weights={"v1": 90, "v2": 10}, labels=lb
            ),
            n.istio_peer_authentication(namespace="shop", labels=lb),
        ],
        # Part 5 — security and policy
        "05/disallow-root": lambda lb: s.kyverno_disallow_root(labels=lb),
        "05/network-policies": lambda lb: [
            c.network_policy_default_deny(namespace="shop", labels=lb),
            c.network_policy_allow_from(namespace="shop", labels=lb),
        ],
        "05/external-secrets": lambda lb: [
            s.eso_secret_store("my-secret-store", namespace="shop", labels=lb),
            s.eso_external_secret(
                "database-credentials",
                namespace="shop",
                store="my-secret-store",
                target="db-secret",
                labels=lb,
                data={"username": ("prod/db", "username"), "password": ("prod/db", "password")},
            ),
        ],
        # Part 8 — PostgreSQL with CloudNativePG
        "08/backup-credentials": lambda lb: [
            c.namespace("database", labels=lb),
            s.eso_secret_store("do-vault-backend", namespace=None, labels=lb),
            s.eso_external_secret(
                "backup-s3-creds",
                namespace="database",
                store="do-vault-backend",
                store_kind="ClusterSecretStore",
                target="backup-s3-creds",
                labels=lb,
                data={
                    "ACCESS_KEY_ID": ("production/postgres-backup", "access-key"),
                    "SECRET_ACCESS_KEY": ("production/postgres-backup", "secret-key"),
                },
            ),
        ],
        "08/production-db": lambda lb: p.cnpg_cluster("production-db", namespace="database", spaces=_SPACES, labels=lb),
        "08/nightly-backup": lambda lb: p.cnpg_scheduled_backup(
            "production-db-nightly", cluster="production-db", labels=lb
        ),
        "08/restored-db": lambda lb: p.cnpg_recovery_cluster(
            "restored-db", source_cluster="production-db", target_time="2026-11-26T14:00:00Z", spaces=_SPACES, labels=lb
        ),
        "08/pooler": lambda lb: p.cnpg_pooler("pooler-rw", cluster="production-db", labels=lb),
        "08/orders-db-plugin": lambda lb: [
            p.cnpg_object_store("spaces-store", spaces=_SPACES, labels=lb),
            p.cnpg_cluster("orders-db", spaces=_SPACES, backup="plugin", object_store="spaces-store", labels=lb),
            p.cnpg_scheduled_backup("orders-db-nightly", cluster="orders-db", backup="plugin", labels=lb),
        ],
        # Part 9 — multi-cluster GitOps
        "09/guestbook-global": lambda lb: g.argo_application_set(
            "guestbook-global",
            repo_url=EXAMPLE_REPO,
            path="guestbook",
            app_namespace="guestbook",
            cluster_labels={"env": "production"},
            labels=lb,
        ),
        # Capstone
        "10/root-app": lambda lb: g.argo_app_of_apps("root", repo_url=EXAMPLE_REPO, path="apps", labels=lb),
        "10/online-boutique": lambda lb: _boutique.online_boutique(labels=lb),
    }
    for name, builder in entries.items():
        register(name, builder)


_defaults()


__all__ = ["Builder", "register", "registered", "render", "render_all"]
