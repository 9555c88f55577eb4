"""Notebook parameters checked before anything starts: ``course run`` refuses a bad value up front, with the same
message the notebook itself would give (the checks call the same validators the notebooks do), instead of failing
in cell 5 after a kernel and a sandbox have started.

Only parameters ``course_lib`` knows how to judge are checked (regions, sizes, counts, names, rates, costs);
anything else goes to the notebook unchanged.

Example:
    >>> check_parameters({"node_count": 2, "region": "nyc1"})
    >>> try:
    ...     check_parameters({"node_count": -3})
    ... except ConfigError as exc:
    ...     print(exc.message)
    parameter node_count=-3: node pool 'worker-pool' count is -3; it must be between 1 and 50

Used by: ``course run`` (every job, every learner's row of a matrix) before the first kernel starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .config import is_http_url
from .errors import ConfigError


def _cluster_spec(**kwargs: Any) -> None:
    """The notebooks build a one-pool ClusterSpec from these parameters: build one the same way."""
    from .provision import ClusterSpec

    ClusterSpec.single_pool("course-check", **kwargs)


def _region(value: Any) -> None:
    _cluster_spec(region=value)


def _name(what: str, max_len: int = 63) -> Callable[[Any], None]:
    from .config import validate_name

    def check(value: Any) -> None:
        if not isinstance(value, str):
            raise ConfigError(f"{what} must be text, got {value!r}", hint="quote it: -p name=value is text already")
        validate_name(value, what=what, max_len=max_len)

    return check


def _number(what: str, low: float, high: float | None = None, *, whole: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ConfigError(
                f"{what} must be a {'whole ' if whole else ''}number, got {value!r}", hint=f"e.g. {what}={low}"
            )
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{what} is {value}; it must be {bounds}", hint=f"pick a value {bounds}")

    return check


def _target(value: Any) -> None:
    from .config import validate_target

    validate_target(value)


def _url_or_none(what: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is None or value == "":
            return
        if not is_http_url(value):
            raise ConfigError(
                f"{what} must be an http:// or https:// URL, got {value!r}",
                hint=f"e.g. {what}=http://127.0.0.1:9090 (a port-forward), or leave it unset",
            )

    return check


def _git_remote(value: Any) -> None:
    from .gitops import check_remote

    check_remote(value)


def _flag(what: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, bool):
            raise ConfigError(
                f"{what} must be True or False, got {value!r}", hint=f"-p {what}=true (papermill reads YAML)"
            )

    return check


#: parameter name → check (raises ConfigError). The names are the notebooks' parameter names.
CHECKS: Mapping[str, Callable[[Any], None]] = {
    "target": _target,
    "region": _region,
    "primary_region": _region,
    "secondary_region": _region,
    "node_size": lambda v: _cluster_spec(size=v),
    "node_count": lambda v: _cluster_spec(count=v),
    "k8s_version": lambda v: _cluster_spec(version=v),
    "learner": _name("learner", 20),
    "namespace": _name("namespace"),
    "app_namespace": _name("namespace"),
    "demo_namespace": _name("namespace"),
    "db_name": _name("db_name"),
    "release": _name("release", 53),
    "max_hourly_cost": _number("max_hourly_cost", 0),
    "canary_percent": _number("canary_percent", 0, 100),
    "error_rate": _number("error_rate", 0, 1),
    "latency_ms": _number("latency_ms", 0, 60_000),
    "instances": _number("instances", 1, 9, whole=True),
    "requests": _number("requests", 1, 1_000_000, whole=True),
    "dns_ttl": _number("dns_ttl", 30, 86_400, whole=True),
    "prometheus_url": _url_or_none("prometheus_url"),
    "logs_url": _url_or_none("logs_url"),
    "install_prerequisites": _flag("install_prerequisites"),
    "repo_remote": _git_remote,
}


#: Parameters whose bad value is not repeated in the message (it may hold a credential; the check's own message
#: shows what is wrong without it).
NOT_ECHOED = frozenset({"repo_remote"})


def check_parameters(params: Mapping[str, Any]) -> None:
    """Check every parameter that has a check in :data:`CHECKS`; the first bad one raises.

    Raises:
        ConfigError: ``parameter NAME=VALUE: <the notebook's own message>``, with its hint.
    """
    for name, value in params.items():
        check = CHECKS.get(name)
        if check is None:
            continue
        try:
            check(value)
        except ConfigError as exc:
            shown = name if name in NOT_ECHOED else f"{name}={value!r}"
            raise ConfigError(f"parameter {shown}: {exc.message}", hint=exc.hint) from None


__all__ = ["CHECKS", "NOT_ECHOED", "check_parameters"]
