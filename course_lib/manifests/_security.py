"""Policy and secret-sync objects: a Kyverno ClusterPolicy and External Secrets SecretStore / ExternalSecret.

Kyverno 1.13 moved the enforce/audit switch from ``spec.validationFailureAction`` (the seed's spelling, now
deprecated) to each rule's ``validate.failureAction``; the builder writes the new field. External Secrets
Operator v0.16 promoted its API to ``external-secrets.io/v1``, and v0.17 stopped serving ``v1beta1``.

Example:
    >>> p = kyverno_disallow_root()
    >>> p["spec"]["rules"][0]["validate"]["failureAction"]
    'Enforce'

Used in: notebooks 05 (Kyverno, ESO) and 08 (ExternalSecret for backup credentials).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..errors import ConfigError
from ._meta import Manifest, check_name, object_meta, resource

KYVERNO_API_VERSION = "kyverno.io/v1"
ESO_API_VERSION = "external-secrets.io/v1"


def kyverno_disallow_root(
    name: str = "disallow-root-user",
    *,
    failure_action: Literal["Enforce", "Audit"] = "Enforce",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Kyverno ClusterPolicy that rejects Pods (and, through Kyverno's auto-generated rules, their
    controllers) unless ``spec.securityContext.runAsNonRoot`` is true.

    Args:
        failure_action: ``Enforce`` blocks the request; ``Audit`` allows it and records a policy report.

    Used in: notebook 05.
    """
    if failure_action not in ("Enforce", "Audit"):
        raise ConfigError(f"failure_action {failure_action!r} is not valid", hint="use 'Enforce' or 'Audit'")
    rule = {
        "name": "check-runasnonroot",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {
            "failureAction": failure_action,
            "message": "Running as root is not allowed. Set spec.securityContext.runAsNonRoot to true.",
            "pattern": {"spec": {"securityContext": {"runAsNonRoot": True}}},
        },
    }
    spec = {"background": True, "rules": [rule]}
    return resource(KYVERNO_API_VERSION, "ClusterPolicy", object_meta(name, labels=labels), spec=spec)


def eso_secret_store(
    name: str,
    *,
    namespace: str | None,
    vault_server: str = "https://vault.example.com",
    vault_path: str = "secret",
    token_secret: str = "vault-token",
    token_key: str = "token",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An External Secrets store backed by HashiCorp Vault (KV v2), authenticated by a token kept in a Secret.

    ``namespace=None`` gives a ClusterSecretStore that ExternalSecrets in every namespace may use.
    The token itself is never in this manifest: it is referenced by Secret name and key.

    Used in: notebooks 05, 08.
    """
    if not vault_server.startswith(("https://", "http://")):
        raise ConfigError(f"vault_server {vault_server!r} is not a URL", hint="e.g. https://vault.example.com")
    token_ref = {"name": check_name(token_secret, what="token_secret"), "key": token_key}
    kind = "SecretStore" if namespace else "ClusterSecretStore"
    if kind == "ClusterSecretStore":  # a cluster-wide store must say where its token Secret lives
        token_ref["namespace"] = "external-secrets"
    provider = {
        "vault": {"server": vault_server, "path": vault_path, "version": "v2", "auth": {"tokenSecretRef": token_ref}}
    }
    return resource(
        ESO_API_VERSION, kind, object_meta(name, namespace=namespace, labels=labels), spec={"provider": provider}
    )


def eso_external_secret(
    name: str,
    *,
    namespace: str,
    store: str,
    target: str,
    data: Mapping[str, tuple[str, str]],
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore",
    refresh_interval: str = "1h",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An ExternalSecret: fetch values from a store and write them into the Kubernetes Secret ``target``.

    Args:
        data: Secret key → (remote key, property), e.g. ``{"password": ("prod/db", "password")}``.

    Example:
        >>> es = eso_external_secret("database-credentials", namespace="shop", store="my-secret-store",
        ...                          target="db-secret", data={"password": ("prod/db", "password")})
        >>> es["spec"]["data"][0]["remoteRef"]
        {'key': 'prod/db', 'property': 'password'}

    Used in: notebooks 05, 08.
    """
    if not data:
        raise ConfigError("data is empty", hint='map at least one key, e.g. {"password": ("prod/db", "password")}')
    items: list[dict[str, Any]] = [
        {"secretKey": key, "remoteRef": {"key": remote, "property": prop}} for key, (remote, prop) in data.items()
    ]
    spec = {
        "refreshInterval": refresh_interval,
        "secretStoreRef": {"name": check_name(store, what="store"), "kind": store_kind},
        "target": {"name": check_name(target, what="target"), "creationPolicy": "Owner"},
        "data": items,
    }
    return resource(ESO_API_VERSION, "ExternalSecret", object_meta(name, namespace=namespace, labels=labels), spec=spec)
