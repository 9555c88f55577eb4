"""The course's own evaluator of Kyverno ``validate.pattern`` rules: the part of Kyverno the disallow-root policy
needs, used as a test oracle and an explanation next to the real Kyverno CLI (no pandas, no plotly, no I/O).

Example:
    >>> policy = {"kind": "ClusterPolicy", "spec": {"rules": [{"name": "r", "match": {"any": [{"resources":
    ...     {"kinds": ["Pod"]}}]}, "validate": {"failureAction": "Enforce", "pattern": {"spec": {"x": "y"}}}}]}}
    >>> evaluate_policy(policy, {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}).reason
    'rule r failed at /spec/x: field is missing'
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

_POD_CONTROLLERS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
}
_ANCHOR_PREFIXES = ("(", "=(", "^(", "X(", "<(", "+(")


@dataclass(frozen=True)
class Admission:
    """The verdict of a policy on one object.

    Attributes:
        name: the object's name.
        kind: its kind.
        admitted: whether the API server would accept it (always ``True`` under ``Audit``).
        passed: whether every matching rule's pattern matched.
        reason: why (the failing rule and path, or that the pattern matched / no rule applies).
        action: ``Enforce`` or ``Audit`` of the failing rule ('' when it passed).
    """

    name: str
    kind: str
    admitted: bool
    passed: bool
    reason: str
    action: str = ""


def _rule_kinds(rule: Mapping[str, Any]) -> set[str]:
    match = rule.get("match") or {}
    blocks = [*(match.get("any") or []), *(match.get("all") or [])]
    if "resources" in match:
        blocks.append(match)
    return {k for b in blocks for k in ((b.get("resources") or {}).get("kinds") or [])}


def _match_pattern(pattern: Any, value: Any, path: str) -> str | None:
    """``None`` when ``value`` matches ``pattern``, else a Kyverno-like reason naming the path."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return f"{path or '/'}: expected an object"
        for key, sub in pattern.items():
            if isinstance(key, str) and key.startswith(_ANCHOR_PREFIXES):
                raise ConfigError(
                    f"pattern key {key!r} uses a Kyverno anchor, which the course's evaluator does not implement",
                    hint="check such policies with Kyverno itself (on a cluster, or with the kyverno CLI)",
                )
            here = f"{path}/{key}"
            if key not in value:
                return f"{here}: field is missing"
            reason = _match_pattern(sub, value[key], here)
            if reason:
                return reason
        return None
    if isinstance(pattern, list):
        if len(pattern) != 1:
            raise ConfigError(
                "list patterns with more than one element are not implemented by the course's evaluator",
                hint="check such policies with Kyverno itself",
            )
        if not isinstance(value, list):
            return f"{path or '/'}: expected a list"
        for i, item in enumerate(value):  # every element must match the one pattern element
            reason = _match_pattern(pattern[0], item, f"{path}/{i}")
            if reason:
                return reason
        return None
    if isinstance(pattern, str) and isinstance(value, str) and any(c in pattern for c in "*?"):
        return (
            None
            if fnmatch.fnmatchcase(value, pattern)
            else f"{path}: {json.dumps(value)} does not match {json.dumps(pattern)}"
        )
    if isinstance(pattern, bool) or isinstance(value, bool):
        ok = isinstance(pattern, bool) and isinstance(value, bool) and pattern == value
    else:
        ok = pattern == value
    return None if ok else f"{path}: expected {json.dumps(pattern)}, found {json.dumps(value)}"


def pod_target(obj: Mapping[str, Any], kinds: set[str]) -> Mapping[str, Any] | None:
    """The object a rule for ``kinds`` judges: the object itself, or the Pod template of a pod controller."""
    kind = str(obj.get("kind", ""))
    if kind in kinds:
        return obj
    if "Pod" in kinds and kind in _POD_CONTROLLERS:  # Kyverno's auto-generated rules for pod controllers
        template = (obj.get("spec") or {}).get("template") or {}
        return {"kind": "Pod", "metadata": template.get("metadata") or {}, "spec": template.get("spec") or {}}
    if "Pod" in kinds and kind == "CronJob":
        job = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
        template = job.get("template") or {}
        return {"kind": "Pod", "metadata": template.get("metadata") or {}, "spec": template.get("spec") or {}}
    return None


def evaluate_policy(policy: Mapping[str, Any], obj: Mapping[str, Any]) -> Admission:
    """Evaluate a Kyverno ``ClusterPolicy`` with ``validate.pattern`` rules against one object.

    This is the course's own implementation of the part of Kyverno that the disallow-root policy needs:
    rules matched by kind (``match.any[].resources.kinds`` or the legacy ``match.resources.kinds``), Kyverno's
    auto-generated rules for Deployments and other pod controllers, and patterns of nested fields with equal
    values or ``*``/``?`` wildcards. A missing field fails the pattern, as in Kyverno. The enforce/audit switch
    is read per rule (``validate.failureAction``) or, for older policies, from ``spec.validationFailureAction``.

    Raises:
        ConfigError: the policy uses anchors or list patterns (check it with Kyverno itself).

    Used in: notebook 05.
    """
    if policy.get("kind") not in ("ClusterPolicy", "Policy"):
        raise ConfigError(
            f"expected a Kyverno ClusterPolicy, got kind {policy.get('kind')!r}", hint="pass m.kyverno_disallow_root()"
        )
    name = str((obj.get("metadata") or {}).get("name", "?"))
    kind = str(obj.get("kind", "?"))
    spec = policy.get("spec") or {}
    default_action = str(spec.get("validationFailureAction", "Audit"))
    matched = False
    for rule in spec.get("rules") or []:
        validate = rule.get("validate") or {}
        if "pattern" not in validate:
            continue
        target = pod_target(obj, _rule_kinds(rule))
        if target is None:
            continue
        matched = True
        prefix = (
            "/spec/template"
            if target is not obj and kind != "CronJob"
            else ("/spec/jobTemplate/spec/template" if target is not obj else "")
        )
        failure = _match_pattern(validate["pattern"], target, "")
        if failure:
            action = str(validate.get("failureAction", default_action))
            reason = f"rule {rule.get('name')} failed at {prefix}{failure}"
            return Admission(name, kind, action == "Audit", False, reason, action)
    if not matched:
        return Admission(name, kind, True, True, "no rule of the policy matches this kind")
    return Admission(name, kind, True, True, "pattern matched")


__all__ = ["Admission", "evaluate_policy", "pod_target"]
