"""NetworkPolicy semantics: may one pod open a connection to another? (no pandas, no plotly, no I/O)

The course's own evaluator of the Kubernetes NetworkPolicy rules (selectors, namespaces, ports and named ports,
Ingress and Egress isolation, policies adding up), used by Part 5's reachability tables and exercise check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ._selectors import selector_matches


@dataclass(frozen=True)
class PodRef:
    """A pod as the NetworkPolicy evaluator sees it: name, namespace, labels and named ports.

    Attributes:
        ports: container port names → numbers; the first one is the pod's main port.
    """

    name: str
    namespace: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def main_port(self) -> int:
        if not self.ports:
            raise ConfigError(f"pod {self.name} has no ports", hint='give it ports={"http": 80}')
        return next(iter(self.ports.values()))

    @property
    def label(self) -> str:
        return self.name if self.namespace == "default" else f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Verdict:
    """Whether ``src`` may open a connection to ``dst`` on a port, and why."""

    src: str
    dst: str
    port: int
    allowed: bool
    reason: str


def _ns_labels(namespace: str, namespaces: Mapping[str, Mapping[str, str]] | None) -> dict[str, str]:
    labels = dict((namespaces or {}).get(namespace) or {})
    labels.setdefault("kubernetes.io/metadata.name", namespace)  # set by the API server on every namespace
    return labels


def policy_types(policy: Mapping[str, Any]) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _pname(policy: Mapping[str, Any]) -> str:
    return str((policy.get("metadata") or {}).get("name", "?"))


def policy_namespace(policy: Mapping[str, Any]) -> str:
    return str((policy.get("metadata") or {}).get("namespace") or "default")


def selects(policy: Mapping[str, Any], pod: PodRef) -> bool:
    return policy_namespace(policy) == pod.namespace and selector_matches(
        (policy.get("spec") or {}).get("podSelector"), pod.labels
    )


def _peer_matches(
    peer: Mapping[str, Any], policy_ns: str, pod: PodRef, namespaces: Mapping[str, Mapping[str, str]] | None
) -> bool:
    if "ipBlock" in peer:
        return False  # ipBlock is for addresses outside the cluster; pod-to-pod traffic is matched by selectors
    has_pod, has_ns = "podSelector" in peer, "namespaceSelector" in peer
    if not has_pod and not has_ns:
        return False
    if has_ns:
        if not selector_matches(peer["namespaceSelector"], _ns_labels(pod.namespace, namespaces)):
            return False
    elif pod.namespace != policy_ns:  # a podSelector alone means: pods of the policy's own namespace
        return False
    return selector_matches(peer.get("podSelector"), pod.labels) if has_pod else True


def _port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str, pod: PodRef) -> bool:
    if not ports:
        return True
    for entry in ports:
        if str(entry.get("protocol", "TCP")) != protocol:
            continue
        want = entry.get("port")
        if want is None:
            return True
        number = pod.ports.get(want) if isinstance(want, str) else int(want)
        if number is None:
            continue
        end = int(entry.get("endPort", number))
        if number <= port <= end:
            return True
    return False


def direction(
    policies: Sequence[Mapping[str, Any]],
    *,
    subject: PodRef,
    peer: PodRef,
    port: int,
    protocol: str,
    kind: str,
    namespaces: Mapping[str, Mapping[str, str]] | None,
    port_pod: PodRef,
) -> tuple[bool, str]:
    """Does ``subject`` accept (Ingress) / may it send (Egress) this connection? And why."""
    isolating = [p for p in policies if selects(p, subject) and kind in policy_types(p)]
    if not isolating:
        return True, ""
    section, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    for policy in isolating:
        for rule in (policy.get("spec") or {}).get(section) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(p, policy_namespace(policy), peer, namespaces) for p in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol, port_pod):
                return True, f"{kind.lower()} allowed by {_pname(policy)}"
    names = ", ".join(sorted({_pname(p) for p in isolating}))
    where = "ingress" if kind == "Ingress" else "egress"
    return False, f"{subject.name} {where} isolated by {names}; no rule allows {peer.name} on {protocol}/{port}"


def connection(
    src: PodRef,
    dst: PodRef,
    policies: Sequence[Mapping[str, Any]],
    *,
    port: int | None = None,
    protocol: str = "TCP",
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Verdict:
    """May ``src`` open a connection to ``dst`` on ``port`` (default: ``dst``'s main port)?

    Both ends must agree: the source's egress (if any policy isolates it for Egress) and the destination's
    ingress (if any policy isolates it for Ingress). Policies add up: one allowing rule is enough.

    Example:
        >>> web = PodRef("web", labels={"app": "web"}, ports={"http": 80})
        >>> db = PodRef("db", labels={"app": "db"}, ports={"pg": 5432})
        >>> from course_lib import manifests as m
        >>> connection(web, db, [m.network_policy_default_deny()]).allowed
        False

    Used in: notebook 05.
    """
    use_port = dst.main_port if port is None else int(port)
    for policy in policies:
        if policy.get("kind") != "NetworkPolicy":
            raise ConfigError(
                f"expected NetworkPolicy objects, got {policy.get('kind')!r}", hint="pass only NetworkPolicies"
            )
    ok_out, why_out = direction(
        policies,
        subject=src,
        peer=dst,
        port=use_port,
        protocol=protocol,
        kind="Egress",
        namespaces=namespaces,
        port_pod=dst,
    )
    ok_in, why_in = direction(
        policies,
        subject=dst,
        peer=src,
        port=use_port,
        protocol=protocol,
        kind="Ingress",
        namespaces=namespaces,
        port_pod=dst,
    )
    if not ok_out:
        return Verdict(src.label, dst.label, use_port, False, why_out)
    if not ok_in:
        return Verdict(src.label, dst.label, use_port, False, why_in)
    why = "; ".join(w for w in (why_out, why_in) if w) or "no policy isolates either pod"
    return Verdict(src.label, dst.label, use_port, True, why)


__all__ = ["PodRef", "Verdict", "connection", "direction", "policy_namespace", "policy_types", "selects"]
