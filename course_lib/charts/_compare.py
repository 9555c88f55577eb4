"""Part 6 and 7's comparisons: two renderings field by field (:func:`diff_rows`, :func:`diff_frame`) or as a
unified YAML diff, and the Helm-vs-Kustomize table. See :mod:`course_lib.charts`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


# --- diffs ------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _keyed(objects: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    """Objects keyed by (kind, n-th of that kind): matches dev-x with prod-x whatever the prefix."""
    seen: dict[str, int] = {}
    out = {}
    for obj in objects:
        kind = str(obj.get("kind"))
        out[(kind, seen.get(kind, 0))] = obj
        seen[kind] = seen.get(kind, 0) + 1
    return out


def diff_rows(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], *, a_name: str = "dev", b_name: str = "prod"
) -> list[dict[str, Any]]:
    """Every field that differs between two renderings: kind, field path, the value on each side.

    Objects are matched by kind and order (so ``dev-checkout`` pairs with ``prod-checkout``); an object that
    exists on one side only is one row with ``(absent)`` on the other.

    Example:
        >>> a = [{"kind": "Deployment", "spec": {"replicas": 1}}]
        >>> b = [{"kind": "Deployment", "spec": {"replicas": 3}}]
        >>> diff_rows(a, b)
        [{'kind': 'Deployment', 'field': 'spec.replicas', 'dev': 1, 'prod': 3}]

    Used in: notebooks 06 and 07.
    """
    left, right = _keyed(a), _keyed(b)
    rows: list[dict[str, Any]] = []
    for key in [*left, *[k for k in right if k not in left]]:
        kind = key[0]
        if key not in right or key not in left:
            obj = left.get(key) or right[key]
            name = (obj.get("metadata") or {}).get("name", "")
            here, there = ("present", "(absent)") if key in left else ("(absent)", "present")
            rows.append({"kind": kind, "field": f"(whole object {name})", a_name: here, b_name: there})
            continue
        fa, fb = _flatten(left[key]), _flatten(right[key])
        for path in [*fa, *[p for p in fb if p not in fa]]:
            va, vb = fa.get(path, "(absent)"), fb.get(path, "(absent)")
            if va != vb:
                rows.append({"kind": kind, "field": path, a_name: va, b_name: vb})
    return rows


def diff_frame(
    a: Sequence[Mapping[str, Any]],
    b: Sequence[Mapping[str, Any]],
    *,
    a_name: str = "dev",
    b_name: str = "prod",
    width: int = 40,
) -> pd.DataFrame:
    """:func:`diff_rows` as a DataFrame (values shown as text, cut to ``width`` characters).

    Used in: notebooks 06 and 07.
    """
    import pandas as pd

    rows = diff_rows(a, b, a_name=a_name, b_name=b_name)
    frame = pd.DataFrame(rows, columns=["kind", "field", a_name, b_name])
    for col in (a_name, b_name):  # long values (hashes) are cut so the table stays readable
        frame[col] = frame[col].map(lambda v: s if len(s := str(v)) <= width else s[: width - 1] + "…")
    return frame


def unified_diff(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], *, a_name: str = "dev", b_name: str = "prod"
) -> str:
    """A unified diff of the two renderings as YAML (what ``diff -u dev.yaml prod.yaml`` would print).

    Used in: notebooks 06 and 07.
    """
    from ..manifests import to_yaml

    lines = difflib.unified_diff(
        to_yaml(list(a)).splitlines(), to_yaml(list(b)).splitlines(), a_name, b_name, lineterm="", n=1
    )
    return "\n".join(lines)


# --- Helm vs Kustomize --------------------------------------------------------------------------------


def helm_vs_kustomize() -> list[dict[str, str]]:
    """The comparison table of Part 7 (rows: aspect, Helm, Kustomize).

    Used in: notebook 07.
    """
    return [
        {
            "aspect": "Approach",
            "Helm": "Go templates filled from values",
            "Kustomize": "plain YAML + patches (overlays)",
        },
        {
            "aspect": "Learning curve",
            "Helm": "higher: template language, helpers",
            "Kustomize": "lower: it is all YAML",
        },
        {"aspect": "Packaging", "Helm": "versioned charts (tarballs, OCI)", "Kustomize": "folders in Git"},
        {
            "aspect": "Install state",
            "Helm": "releases with history and rollback",
            "Kustomize": "none: kubectl apply -k",
        },
        {
            "aspect": "Built into kubectl",
            "Helm": "no (separate binary)",
            "Kustomize": "yes (kubectl kustomize, apply -k)",
        },
        {
            "aspect": "Config changes roll pods",
            "Helm": "checksum annotation (by hand)",
            "Kustomize": "generator hash suffix",
        },
        {
            "aspect": "Best for",
            "Helm": "distributing apps to others",
            "Kustomize": "your own config across environments",
        },
    ]
