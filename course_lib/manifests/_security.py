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

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..errors import ConfigError
from ._meta import Manifest, check_name, object_meta, resource

KYVERNO_API_VERSION = "kyverno.io/v1"
ESO_API_VERSION = "external-secrets.io/v1"


def kyverno_disallow_root(
    name: str = "disallow-root-user",
    *,
    failure_action: Literal["Enforce", "Audit"] = "Enforce",
    namespaces: Sequence[str] | None = None,
    emit_warning: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Kyverno ClusterPolicy that rejects Pods (and, through Kyverno's auto-generated rules, their
    controllers) unless ``spec.securityContext.runAsNonRoot`` is true.

    Args:
        failure_action: ``Enforce`` blocks the request; ``Audit`` allows it and records a policy report.
        namespaces: only Pods in these namespaces (the rule's ``match.any[].resources.namespaces``); all when
            ``None``.
        emit_warning: ``spec.emitWarning``: an ``Audit`` violation comes back as a warning of the API server
            (kubectl prints it) instead of passing silently.

    Example:
        >>> kyverno_disallow_root(failure_action="Audit", emit_warning=True)["spec"]["emitWarning"]
        True

    Used in: notebook 05.
    """
    if failure_action not in ("Enforce", "Audit"):
        raise ConfigError(f"failure_action {failure_action!r} is not valid", hint="use 'Enforce' or 'Audit'")
    match: dict[str, Any] = {"kinds": ["Pod"]}
    if namespaces is not None:
        if not namespaces:
            raise ConfigError("namespaces is empty", hint="name at least one namespace, or pass None for all")
        match["namespaces"] = [check_name(n, what="namespace") for n in namespaces]
    rule = {
        "name": "check-runasnonroot",
        "match": {"any": [{"resources": match}]},
        "validate": {
            "failureAction": failure_action,
            "message": "Running as root is not allowed. Set spec.securityContext.runAsNonRoot to true.",
            "pattern": {"spec": {"securityContext": {"runAsNonRoot": True}}},
        },
    }
    spec: dict[str, Any] = {"background": True, "rules": [rule]}
    if emit_warning:
        spec["emitWarning"] = True
    return resource(KYVERNO_API_VERSION, "ClusterPolicy", object_meta(name, labels=labels), spec=spec)


KYVERNO_POLICIES_API_VERSION = "policies.kyverno.io/v1"

#: The CEL rule of :func:`kyverno_validating_policy`: the same check as the ClusterPolicy's pattern
#: (``spec.securityContext.runAsNonRoot: true`` at pod level), written in the Kubernetes expression language.
NON_ROOT_EXPRESSION = (
    "has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && "
    "object.spec.securityContext.runAsNonRoot == true"
)


def kyverno_validating_policy(
    name: str = "disallow-root-user",
    *,
    action: Literal["Deny", "Audit", "Warn"] = "Deny",
    failure_policy: Literal["Fail", "Ignore"] = "Fail",
    namespaces: Sequence[str] | None = None,
    background: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """The disallow-root rule as Kyverno's ``ValidatingPolicy`` (``policies.kyverno.io/v1``, GA since Kyverno 1.17):
    a CEL expression over Pods (Kyverno's autogen extends it to their controllers), the successor of
    :func:`kyverno_disallow_root`'s ClusterPolicy.

    Args:
        action: ``Deny`` rejects at admission, ``Audit`` admits and reports, ``Warn`` admits with a warning.
        failure_policy: what the API server does when Kyverno's webhook does not answer: ``Fail`` refuses the
            request (fail closed), ``Ignore`` admits it unchecked (fail open).
        namespaces: only Pods in these namespaces (``matchConstraints.namespaceSelector``); all when ``None``.
        background: also let Kyverno's reports controller rescan existing Pods into PolicyReports (Kyverno then
            reports the policy ready only once that controller's ServiceAccount may read Pods). Off: admission only,
            which is all the sandbox runs.

    Example:
        >>> kyverno_validating_policy()["spec"]["validationActions"]
        ['Deny']

    Used in: notebook 05.
    """
    if action not in ("Deny", "Audit", "Warn"):
        raise ConfigError(f"action {action!r} is not valid", hint="use 'Deny', 'Audit' or 'Warn'")
    if failure_policy not in ("Fail", "Ignore"):
        raise ConfigError(f"failure_policy {failure_policy!r} is not valid", hint="use 'Fail' or 'Ignore'")
    constraints: dict[str, Any] = {
        "resourceRules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}
        ]
    }
    if namespaces is not None:
        if not namespaces:
            raise ConfigError("namespaces is empty", hint="name at least one namespace, or pass None for all")
        names = [check_name(n, what="namespace") for n in namespaces]
        constraints["namespaceSelector"] = {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": names}]
        }
    spec = {
        "validationActions": [action],
        "failurePolicy": failure_policy,
        "evaluation": {"admission": {"enabled": True}, "background": {"enabled": background}},
        "matchConstraints": constraints,
        "validations": [
            {
                "expression": NON_ROOT_EXPRESSION,
                "message": "Running as root is not allowed. Set spec.securityContext.runAsNonRoot to true.",
            }
        ],
    }
    return resource(KYVERNO_POLICIES_API_VERSION, "ValidatingPolicy", object_meta(name, labels=labels), spec=spec)


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


# --- admission built into the API server: Pod Security Admission and ValidatingAdmissionPolicy ---------------------

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
_PSA_LEVELS = ("privileged", "baseline", "restricted")


def pod_security_namespace(
    name: str,
    *,
    enforce: PodSecurityLevel | None = "restricted",
    warn: PodSecurityLevel | None = None,
    audit: PodSecurityLevel | None = None,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Namespace whose Pods Pod Security Admission (built into kube-apiserver since 1.25) checks.

    Each mode label (``pod-security.kubernetes.io/<mode>: <level>``) is independent: ``enforce`` rejects a
    violating Pod, ``warn`` admits it and sends the client a warning, ``audit`` admits it and annotates the audit
    log. ``-version`` labels are left out, so the policy is that of the API server's own release (``latest``).

    >>> ns = pod_security_namespace("psa-demo", enforce=None, warn="restricted")
    >>> sorted(k for k in ns["metadata"]["labels"] if k.startswith("pod-security"))
    ['pod-security.kubernetes.io/warn']

    Used in: notebook 05.
    """
    modes = {"enforce": enforce, "warn": warn, "audit": audit}
    for mode, level in modes.items():
        if level is not None and level not in _PSA_LEVELS:
            raise ConfigError(f"{mode}={level!r} is not a Pod Security level", hint=f"use one of {_PSA_LEVELS}")
    if not any(modes.values()):
        raise ConfigError("give at least one of enforce, warn or audit", hint='e.g. enforce="restricted"')
    psa = {f"pod-security.kubernetes.io/{mode}": level for mode, level in modes.items() if level}
    meta = object_meta(check_name(name, what="namespace name"), labels={**(labels or {}), **psa})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def restricted_pod(name: str, *, namespace: str, image: str = "busybox:1.37") -> Manifest:
    """A Pod that meets the ``restricted`` Pod Security Standard: non-root, no privilege escalation, every
    capability dropped, the runtime's default seccomp profile.

    Used in: notebook 05.
    """
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta(name, namespace=namespace),
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "command": ["sleep", "3600"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }


ADMISSION_API_VERSION = "admissionregistration.k8s.io/v1"
#: The CEL rule of :func:`pinned_image_policy`: every container image names a tag other than ``latest``.
PINNED_IMAGE_CEL = (
    "object.spec.containers.all(c, c.image.split('/')[c.image.split('/').size() - 1].contains(':') "
    "&& !c.image.endsWith(':latest'))"
)


def pinned_image_policy(
    *, name: str = "pinned-image-tags", namespace: str, expression: str = PINNED_IMAGE_CEL, message: str | None = None
) -> list[Manifest]:
    """A ``ValidatingAdmissionPolicy`` (GA since Kubernetes 1.30) and its binding: Pods in ``namespace`` must not
    run an image without a tag or tagged ``:latest``.

    The API server evaluates the CEL ``expression`` itself — no webhook, no add-on. The binding's
    ``validationActions: [Deny]`` rejects; ``[Warn]`` or ``[Audit]`` would only report.

    Used in: notebook 05.
    """
    check_name(name, what="policy name")
    policy = {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": object_meta(name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": expression,
                    "message": message or "every container image needs a pinned tag (not :latest, not untagged)",
                    "reason": "Invalid",
                }
            ],
        },
    }
    binding = {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": object_meta(f"{name}-binding"),
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    }
    return [policy, binding]
