"""Kubernetes objects as plain dicts: loading, identifying, ordering, labelling and diffing.

Apply order matters: a Deployment in a Namespace that does not exist yet fails, and a custom resource fails
until its CustomResourceDefinition is installed. :func:`sort_objects` puts CRDs first, then Namespaces, then
identity/RBAC/configuration, Services, workloads and finally everything else; deleting uses the reverse.

Example:
    >>> objs = load_objects('''
    ... apiVersion: apps/v1
    ... kind: Deployment
    ... metadata: {name: web, namespace: shop}
    ... ---
    ... apiVersion: v1
    ... kind: Namespace
    ... metadata: {name: shop}
    ... ''')
    >>> [o["kind"] for o in sort_objects(objs)]
    ['Namespace', 'Deployment']

Used in: notebooks 02, 06, 07 (through ``Cluster.apply``).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ValidationError

Manifest = dict[str, Any]

#: Apply order: lower rank first. Kinds not listed rank after all of these, keeping their input order.
_RANK: dict[str, int] = {
    "CustomResourceDefinition": 0,
    "Namespace": 1,
    # identity, policy and configuration that workloads refer to
    "PriorityClass": 2,
    "StorageClass": 2,
    "IngressClass": 2,
    "RuntimeClass": 2,
    "ResourceQuota": 2,
    "LimitRange": 2,
    "ServiceAccount": 2,
    "ClusterRole": 2,
    "ClusterRoleBinding": 2,
    "Role": 2,
    "RoleBinding": 2,
    "Secret": 2,
    "ConfigMap": 2,
    "PersistentVolume": 2,
    "PersistentVolumeClaim": 2,
    "NetworkPolicy": 2,
    "Service": 3,
    # workloads
    "Pod": 4,
    "ReplicationController": 4,
    "ReplicaSet": 4,
    "Deployment": 4,
    "StatefulSet": 4,
    "DaemonSet": 4,
    "Job": 4,
    "CronJob": 4,
}
_OTHER_RANK = 5
#: Admission webhooks go last on apply (and first on delete) so they never block the objects around them.
_LAST_KINDS = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy"}

#: Built-in kinds without a namespace (used in dry-run mode, where there is no API discovery).
CLUSTER_SCOPED_KINDS: frozenset[str] = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "CertificateSigningRequest",
        "FlowSchema",
        "PriorityLevelConfiguration",
        # common add-ons the course installs
        "ClusterIssuer",
        "ClusterPolicy",
        "ClusterSecretStore",
    }
)

#: Metadata the server owns; ignored when comparing objects.
_VOLATILE_META = ("resourceVersion", "generation", "uid", "creationTimestamp", "managedFields", "selfLink")


def _kind_rank(kind: str) -> int:
    if kind in _LAST_KINDS:
        return _OTHER_RANK + 1
    return _RANK.get(kind, _OTHER_RANK)


def sort_objects(objects: Iterable[Mapping[str, Any]], *, reverse: bool = False) -> list[Manifest]:
    """Order objects so that each one's dependencies come first (or last, with ``reverse=True`` for delete).

    The sort is stable: objects of the same rank keep the order they were given in.

    Args:
        objects: manifests as dicts.
        reverse: deletion order (everything else first, CRDs last).
    """
    items = [dict(o) for o in objects]
    ordered = sorted(enumerate(items), key=lambda pair: (_kind_rank(str(pair[1].get("kind", ""))), pair[0]))
    result = [obj for _, obj in ordered]
    return result[::-1] if reverse else result


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which object: ``apiVersion``, ``kind``, ``namespace`` (``None`` when cluster-scoped) and ``name``."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group)."""
        return self.api_version.rpartition("/")[0]

    def key(self) -> tuple[str, str, str, str]:
        """Identity across versions of the same group (apps/v1 and apps/v1beta1 name the same object)."""
        return (self.group, self.kind, self.namespace or "", self.name)

    def __str__(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{self.kind}/{self.name}{where}"

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            str(obj.get("apiVersion", "")), str(obj.get("kind", "")), meta.get("namespace"), meta.get("name", "")
        )


def _to_dict(item: Any) -> Any:
    if isinstance(item, Mapping):
        return dict(item)
    if callable(getattr(item, "to_dict", None)):  # kubernetes client models, ResourceInstance
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(item)
    return item


def _parse_yaml(text: str, source: str) -> list[Any]:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"{source} is not valid YAML: {exc}",
            hint="check the indentation and that documents are separated by lines with ---",
        ) from None


def load_objects(objects_or_yaml: Any) -> list[Manifest]:
    """Turn what a notebook passes into a list of manifest dicts, checking each has apiVersion, kind and name.

    Accepts YAML text (one or many documents), a path to a YAML file, one dict, a kubernetes client model, or a
    list of any of these. ``kind: List`` documents are expanded. Nothing is changed in the input.

    Raises:
        ValidationError: not YAML, or an object without ``apiVersion``, ``kind`` or ``metadata.name``.
    """
    pending: list[tuple[Any, str]] = []

    def add(item: Any, source: str) -> None:
        if isinstance(item, Path):
            try:
                text = item.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValidationError(f"cannot read {item}: {exc.strerror}", hint="check the path") from None
            for i, doc in enumerate(_parse_yaml(text, str(item))):
                pending.append((doc, f"{item} document {i}"))
        elif isinstance(item, str):
            for i, doc in enumerate(_parse_yaml(item, "the YAML text")):
                pending.append((doc, f"YAML document {i}"))
        elif isinstance(item, Mapping) or callable(getattr(item, "to_dict", None)):
            pending.append((_to_dict(item), source))
        elif isinstance(item, Iterable):
            for i, sub in enumerate(item):
                add(sub, f"item {i}")
        else:
            raise ValidationError(
                f"cannot apply a {type(item).__name__}",
                hint="pass YAML text, a dict, a list of dicts, or a pathlib.Path to a YAML file",
            )

    add(objects_or_yaml, "object")
    result: list[Manifest] = []
    while pending:
        doc, source = pending.pop(0)
        if not isinstance(doc, Mapping):
            raise ValidationError(
                f"{source} is a {type(doc).__name__}, not a Kubernetes object",
                hint="every document needs apiVersion, kind and metadata",
            )
        doc = copy.deepcopy(dict(doc))
        if doc.get("kind") == "List" or (str(doc.get("kind", "")).endswith("List") and "items" in doc):
            pending[0:0] = [(sub, f"{source} item {i}") for i, sub in enumerate(doc.get("items") or [])]
            continue
        missing = [f for f in ("apiVersion", "kind") if not doc.get(f)]
        if not (doc.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            raise ValidationError(
                f"{source} ({doc.get('kind', 'no kind')}) has no {', '.join(missing)}",
                hint="every Kubernetes object needs apiVersion, kind and metadata.name",
            )
        result.append(doc)
    return result


def with_labels(obj: Mapping[str, Any], labels: Mapping[str, str]) -> Manifest:
    """A copy of ``obj`` whose ``metadata.labels`` include ``labels`` (course labels win)."""
    out = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    return out


def comparable(obj: Mapping[str, Any] | None) -> Manifest:
    """The parts of an object a person changes: no status, no server-owned metadata."""
    if obj is None:
        return {}
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _VOLATILE_META:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    annotations.pop("deployment.kubernetes.io/revision", None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return out


def unified_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, name: str = "") -> str:
    """A ``diff -u`` of two objects rendered as YAML (empty when they are equal)."""
    import yaml

    def lines(obj: Mapping[str, Any] | None) -> list[str]:
        if not obj:
            return []
        return yaml.safe_dump(comparable(obj), sort_keys=True, default_flow_style=False).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(before), lines(after), f"{name} (before)", f"{name} (after)"))


__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "Manifest",
    "ObjectRef",
    "comparable",
    "load_objects",
    "sort_objects",
    "unified_diff",
    "with_labels",
]
