"""What each part of the course runs on the sandbox and which built tools it needs: one table.

:data:`PARTS` maps a part number to its :class:`Part`: the sandbox services its cells start (by the names of
:mod:`course_lib.sandbox._services`) and the programs ``make tools`` builds for it (tool names of
``data/tools/pins.env``; the control plane's are in :data:`CONTROL_PLANE_TOOLS`, needed by every deploying part).

- ``cl.start(part=N)`` stops what an earlier part left running and part *N* does not use (memory).
- ``course tools --parts N`` builds only what those parts need (a learner running Part 7 does not wait for Argo CD).

Example:
    >>> sorted(PARTS[4].services)
    ['stack', 'traefik']
    >>> tools_for([7])
    ['etcd', 'helm', 'kubernetes', 'kwok']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ConfigError

#: The sandbox control plane (every part that deploys): kube-apiserver & co, etcd, kwok.
CONTROL_PLANE_TOOLS = ("kubernetes", "etcd", "kwok")
#: The monitoring stack (``session.stack()``).
STACK_TOOLS = ("prometheus", "alertmanager", "victorialogs")


@dataclass(frozen=True)
class Part:
    """One part's needs on the sandbox.

    Attributes:
        services: what its cells start; ``None`` keeps whatever runs (the welcome and cleanup parts look at, or
            stop, everything).
        tools: the tools of ``pins.env`` it needs built (besides the control plane when ``control_plane``).
        control_plane: its cells use the sandbox's kube-apiserver.
        crds: the projects of ``pins.UPSTREAM_CRDS`` whose kinds its cells use, where it names them: the sandbox's
            API server then holds only those CRDs during the part (``sandbox._services.idle_crd_projects``);
            ``None``: every project's, but those of services the part does not run.
    """

    services: frozenset[str] | None
    tools: tuple[str, ...] = ()
    control_plane: bool = True
    crds: frozenset[str] | None = None


def _part(
    services: Iterable[str] | None,
    tools: Iterable[str] = (),
    *,
    control_plane: bool = True,
    crds: Iterable[str] | None = None,
) -> Part:
    return Part(
        None if services is None else frozenset(services),
        tuple(tools),
        control_plane,
        None if crds is None else frozenset(crds),
    )


#: The CRD projects of the parts that run Argo CD beside a heavy API server (Parts 2 and 9): Argo CD's cluster cache
#: lists every kind the server serves, and the other projects' 37 CRDs cost that server about 116 MiB more (see
#: ``sandbox._services.SERVICE_CRDS``); those parts apply no kind of theirs.
_GITOPS_CRDS = ("Argo CD", "Sealed Secrets")


PARTS: dict[int, Part] = {
    0: _part(None, control_plane=False),  # it reports what is built (capabilities, doctor); it needs none of it
    1: _part({"postgres"}, ("tofu",), control_plane=False),
    2: _part({"argocd", "sealed-secrets"}, ("argocd", "kubeseal", "helm"), crds=_GITOPS_CRDS),
    3: _part({"stack", "checkout-app"}, STACK_TOOLS),
    4: _part({"stack", "traefik"}, ("traefik", *STACK_TOOLS)),
    5: _part({"kyverno"}, ("kyverno",)),
    6: _part(set(), ("helm", "helmfile")),
    7: _part(set(), ("helm",)),
    8: _part({"postgres"}),
    9: _part({"argocd", "regions"}, ("argocd", "helm"), crds=_GITOPS_CRDS),
    10: _part({"argocd"}, ("argocd", "helm", "kyverno", *STACK_TOOLS)),
    11: _part(None, (), control_plane=False),
}


def part(number: int) -> Part:
    """The needs of part ``number``.

    Raises:
        ConfigError: not a part of the course.

    Example:
        >>> part(12)
        Traceback (most recent call last):
        ...
        course_lib.errors.ConfigError: there is no part 12 (the course has parts 0-11)
    """
    if isinstance(number, bool) or not isinstance(number, int) or number not in PARTS:
        raise ConfigError(f"there is no part {number!r} (the course has parts {min(PARTS)}-{max(PARTS)})")
    return PARTS[number]


def parse(spec: str | Iterable[int] | None, available: Iterable[int]) -> list[int]:
    """The part numbers of a ``--parts`` value: ``"0,3"``, a list of numbers, or ``None``/``"all"`` (every one of
    ``available``, sorted); repeats are dropped, the order kept. Every number must be one of ``available``.

    Raises:
        ConfigError: not numbers separated by commas, none given, or a number not in ``available``.

    Example:
        >>> parse("3, 0,3", PARTS)
        [3, 0]
        >>> parse("all", [3, 0])
        [0, 3]
    """
    have = sorted(set(available))
    if spec is None or spec == "all":
        return have
    if isinstance(spec, str):
        try:
            numbers = [int(x) for x in spec.replace(" ", "").split(",") if x]
        except ValueError:
            raise ConfigError(
                f"cannot read parts {spec!r}", hint="give part numbers separated by commas, e.g. --parts 0,3"
            ) from None
    else:
        numbers = list(spec)
    unknown = [n for n in dict.fromkeys(numbers) if n not in have]
    if unknown or not numbers:
        listed = (
            f"{have[0]}-{have[-1]}"
            if have and have == list(range(have[0], have[-1] + 1))
            else ", ".join(map(str, have))
        )
        which = (
            "no part given"
            if not numbers
            else f"there is no part {unknown[0]}"
            if len(unknown) == 1
            else f"there are no parts {', '.join(map(str, unknown))}"
        )
        raise ConfigError(f"{which} (available parts: {listed or 'none'})", hint="`course list` shows the parts")
    return list(dict.fromkeys(numbers))


def tools_for(numbers: Iterable[int]) -> list[str]:
    """The tools (names of ``pins.env``'s TOOLS) that the parts ``numbers`` need, sorted."""
    wanted: set[str] = set()
    for n in numbers:
        p = part(n)
        wanted.update(p.tools)
        if p.control_plane:
            wanted.update(CONTROL_PLANE_TOOLS)
    return sorted(wanted)


__all__ = ["CONTROL_PLANE_TOOLS", "PARTS", "STACK_TOOLS", "Part", "parse", "part", "tools_for"]
