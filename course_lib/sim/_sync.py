"""What a GitOps sync would do, object by object: compare the objects at one Git revision with another set (an
older revision, or the live objects) by kind, namespace and name, the way Argo CD's diff decides what to create,
change or prune (no pandas, no plotly, no I/O). Part 2's :class:`course_lib.gitops.SyncPlan` wraps the result.

Example:
    >>> old = [{"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns", "uid": "1"}, "data": {"k": "1"}},
    ...        {"kind": "ConfigMap", "metadata": {"name": "b", "namespace": "ns"}}]
    >>> new = [{"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}, "data": {"k": "2"}}]
    >>> [(c.label, c.action, c.fields) for c in object_changes(old, new)]
    [('a (ConfigMap)', 'change', ("data.k: '1' → '2'",)), ('b (ConfigMap)', 'prune', ())]
    >>> [c.action for c in object_changes(old, new, prune=False)]
    ['change', 'orphan']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

SyncAction = Literal["create", "change", "prune", "unchanged", "orphan"]

#: Fields the API server or controllers add; never part of a GitOps diff.
_VOLATILE_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_META}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    clean["metadata"] = meta
    return clean


def _field_changes(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(f"{sub}: (none) → {after[key]!r}")
            elif key not in after:
                out.append(f"{sub}: {before[key]!r} → (none)")
            else:
                out.extend(_field_changes(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            c for i, (b, a) in enumerate(zip(before, after, strict=True)) for c in _field_changes(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} → {after!r}"]


@dataclass(frozen=True)
class ObjectChange:
    """What a sync would do to one object.

    Attributes:
        kind, namespace, name: which object.
        action: ``create`` (new in Git), ``change`` (fields differ), ``prune`` (gone from Git, deleted because
            prune is on), ``orphan`` (gone from Git, left running because prune is off), ``unchanged``.
        fields: the changed fields as ``path: old → new`` lines (for ``change``).
    """

    kind: str
    namespace: str
    name: str
    action: SyncAction
    fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"


def object_changes(
    current: Iterable[Mapping[str, Any]], desired: Iterable[Mapping[str, Any]], *, prune: bool = True
) -> tuple[ObjectChange, ...]:
    """The :class:`ObjectChange` of every object in ``current`` or ``desired``, sorted by kind, namespace and name:
    ``create`` (only desired), ``prune``/``orphan`` (only current, by ``prune``), ``change`` or ``unchanged``.

    Server-added metadata (uid, resourceVersion, managedFields …), the last-applied annotation and ``status`` are
    ignored, so live objects compare cleanly with files from Git.

    Used in: notebook 02 (through :func:`course_lib.gitops.diff_objects`).
    """
    before = {_key(o): _comparable(o) for o in current}
    after = {_key(o): _comparable(o) for o in desired}
    changes: list[ObjectChange] = []
    for key in sorted(set(before) | set(after)):
        kind, ns, name = key
        if key not in before:
            changes.append(ObjectChange(kind, ns, name, "create"))
        elif key not in after:
            changes.append(ObjectChange(kind, ns, name, "prune" if prune else "orphan"))
        else:
            fields = _field_changes(before[key], after[key])
            changes.append(ObjectChange(kind, ns, name, "change" if fields else "unchanged", tuple(fields)))
    return tuple(changes)


__all__ = ["ObjectChange", "SyncAction", "object_changes"]
