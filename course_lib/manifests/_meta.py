"""Shared pieces of every builder: object metadata, course labels and name checks.

Example:
    >>> object_meta("checkout", namespace="shop")["labels"]
    {'app.kubernetes.io/managed-by': 'course-lib'}

Used in: notebooks 02, 04, 05, 08, 09 (through the builders).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import COURSE_LABEL, COURSE_LABEL_VALUE, validate_name
from ..errors import ConfigError

#: Labels a builder puts on metadata when the caller passes none (``Settings.labels`` adds a run id).
DEFAULT_LABELS: dict[str, str] = {COURSE_LABEL: COURSE_LABEL_VALUE}

Manifest = dict[str, Any]


def check_name(value: str, *, what: str = "name") -> str:
    """Return ``value`` if it is a DNS-1123 label (what Kubernetes wants for most names), else raise."""
    return validate_name(value, what=what, max_len=63)


def check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Copy the label dict, defaulting to :data:`DEFAULT_LABELS`; every value must be a string."""
    result = dict(DEFAULT_LABELS if labels is None else labels)
    for key, value in result.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                f"label {key!r}: {value!r} is not a string pair",
                hint="Kubernetes label keys and values are strings; quote numbers and booleans, e.g. 'true'",
            )
    return result


def object_meta(
    name: str,
    *,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    extra_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build ``metadata`` with the course labels (plus ``extra_labels``) and checked names.

    Args:
        name: object name (DNS-1123 label).
        namespace: namespace for namespaced kinds; ``None`` for cluster-scoped kinds.
        labels: course labels, e.g. ``settings.labels``; defaults to :data:`DEFAULT_LABELS`.
        extra_labels: labels specific to this object (``app``, ``version`` ...), merged after ``labels``.
        annotations: optional annotations.
    """
    meta: dict[str, Any] = {"name": check_name(name)}
    if namespace is not None:
        meta["namespace"] = check_name(namespace, what="namespace")
    merged = check_labels(labels)
    merged.update(check_labels(extra_labels or {}))
    meta["labels"] = merged
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def resource(api_version: str, kind: str, metadata: dict[str, Any], **body: Any) -> Manifest:
    """Assemble a manifest dict in the usual key order (apiVersion, kind, metadata, then the body)."""
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}
