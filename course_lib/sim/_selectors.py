"""Label selectors (``matchLabels`` + ``matchExpressions``), evaluated as Kubernetes' API machinery does.

Used in: notebooks 05 (NetworkPolicy reachability) and 09 (ApplicationSet cluster generators).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


def check_selector(selector: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming what is wrong with a malformed selector.

    >>> check_selector({"matchExpressions": [{"key": "env", "operator": "Exists"}]})
    """
    if not isinstance(selector, Mapping):
        raise ConfigError(
            f"a selector is a dict, got {type(selector).__name__}", hint='e.g. {"matchLabels": {"env": "production"}}'
        )
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise ConfigError(
            f"unknown selector field(s): {', '.join(sorted(unknown))}", hint="use matchLabels and/or matchExpressions"
        )
    for key, value in (selector.get("matchLabels") or {}).items():
        if not isinstance(value, str):
            raise ConfigError(f"matchLabels {key}: {value!r} is not a string", hint="label values are strings")
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator") if isinstance(expr, Mapping) else None
        if op not in OPERATORS:
            raise ConfigError(f"operator {op!r} is not valid", hint=f"use one of {', '.join(sorted(OPERATORS))}")
        if "key" not in expr:
            raise ConfigError("a matchExpressions entry has no key", hint='e.g. {"key": "region", ...}')
        values = expr.get("values")
        if op in ("In", "NotIn") and (not isinstance(values, list) or not values):
            raise ConfigError(f"{op} needs a non-empty list of values", hint='e.g. "values": ["nyc1", "fra1"]')
        if op in ("Exists", "DoesNotExist") and values:
            raise ConfigError(f"{op} takes no values", hint="remove 'values' or use In / NotIn")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """True when ``labels`` satisfy every ``matchLabels`` pair and every expression; an empty (or ``None``)
    selector matches everything.

    >>> selector_matches({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "1"})
    True
    >>> selector_matches({"matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1"]}]},
    ...                  {"region": "fra1"})
    False
    """
    selector = selector or {}
    check_selector(selector)
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True
