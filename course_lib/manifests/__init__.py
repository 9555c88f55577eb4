"""Manifests: typed builders for every Kubernetes object the course uses, YAML in/out, and offline validation.

Builders return plain ``dict`` objects with the course labels on ``metadata`` and current API versions;
:func:`validate` checks them (built-in kinds with kubernetes-validate in strict mode, custom resources
against the CRD schemas in ``data/crds``) and :func:`to_yaml` prints them.

Example:
    >>> from course_lib import manifests as m
    >>> objs = m.checkout_app(namespace="shop")
    >>> m.validate(objs).ok
    True

Used in: notebooks 02, 03, 04, 05, 08, 09, 10 and ``course validate``.
"""

from __future__ import annotations

from ._boutique import BOUTIQUE_PATH, BOUTIQUE_REPO, BOUTIQUE_VERSION, edge_queries, online_boutique, service_graph
from ._core import (
    CHECKOUT_IMAGE,
    checkout_app,
    checkout_config_map,
    checkout_deployment,
    checkout_service,
    config_map,
    local_endpoint_slice,
    namespace,
    network_policy_allow_from,
    network_policy_default_deny,
    secret,
    secret_env_pod,
)
from ._datadog import DOGSTATSD_PORT, datadog_agent_values, express_app, express_app_files
from ._gitops import (
    argo_app_of_apps,
    argo_application,
    argo_application_set,
    argo_repository_secret,
    sealed_secret,
)
from ._meta import DEFAULT_LABELS, Manifest, object_meta
from ._networking import (
    TRAEFIK_LEGACY_API_VERSION,
    gateway,
    gateway_class,
    http_route,
    istio_destination_rule,
    istio_peer_authentication,
    istio_virtual_service,
    traefik_ingress_route,
    traefik_rate_limit,
    traefik_route,
    traefik_weighted_service,
)
from ._observability import (
    alertmanager_values,
    checkout_latency_rule,
    checkout_service_monitor,
    high_node_cpu_rule,
    observability_objects,
    platform_service_monitors,
    prometheus_rule,
    service_monitor,
)
from ._postgres import (
    SpacesBucket,
    cnpg_cluster,
    cnpg_object_store,
    cnpg_pooler,
    cnpg_recovery_cluster,
    cnpg_scheduled_backup,
)
from ._registry import register, registered, render, render_all
from ._security import (
    eso_external_secret,
    eso_secret_store,
    kyverno_disallow_root,
    kyverno_validating_policy,
    pinned_image_policy,
    pod_security_namespace,
    restricted_pod,
)
from ._validate import DEFAULT_KUBE_VERSION, ObjectResult, ValidationReport, crd_schemas, validate
from ._versions import OUTDATED, Outdated, outdated_rows
from ._yaml import from_yaml, read_yaml_file, to_yaml

__all__ = [
    "BOUTIQUE_PATH",
    "DOGSTATSD_PORT",
    "datadog_agent_values",
    "express_app",
    "express_app_files",
    "BOUTIQUE_REPO",
    "BOUTIQUE_VERSION",
    "edge_queries",
    "online_boutique",
    "service_graph",
    "alertmanager_values",
    "checkout_latency_rule",
    "checkout_service_monitor",
    "high_node_cpu_rule",
    "observability_objects",
    "platform_service_monitors",
    "prometheus_rule",
    "service_monitor",
    "CHECKOUT_IMAGE",
    "DEFAULT_KUBE_VERSION",
    "DEFAULT_LABELS",
    "OUTDATED",
    "TRAEFIK_LEGACY_API_VERSION",
    "Manifest",
    "ObjectResult",
    "Outdated",
    "SpacesBucket",
    "ValidationReport",
    "argo_app_of_apps",
    "argo_application",
    "argo_application_set",
    "argo_repository_secret",
    "checkout_app",
    "checkout_config_map",
    "checkout_deployment",
    "checkout_service",
    "cnpg_cluster",
    "cnpg_object_store",
    "cnpg_pooler",
    "cnpg_recovery_cluster",
    "cnpg_scheduled_backup",
    "config_map",
    "local_endpoint_slice",
    "gateway",
    "gateway_class",
    "http_route",
    "crd_schemas",
    "eso_external_secret",
    "eso_secret_store",
    "from_yaml",
    "istio_destination_rule",
    "istio_peer_authentication",
    "istio_virtual_service",
    "kyverno_disallow_root",
    "kyverno_validating_policy",
    "pinned_image_policy",
    "pod_security_namespace",
    "restricted_pod",
    "namespace",
    "network_policy_allow_from",
    "network_policy_default_deny",
    "object_meta",
    "outdated_rows",
    "read_yaml_file",
    "register",
    "registered",
    "render",
    "render_all",
    "sealed_secret",
    "secret",
    "secret_env_pod",
    "to_yaml",
    "traefik_ingress_route",
    "traefik_rate_limit",
    "traefik_route",
    "traefik_weighted_service",
    "validate",
]
