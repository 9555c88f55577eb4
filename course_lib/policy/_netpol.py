"""Part 5's NetworkPolicies without a cluster: who may talk to whom (the reachability matrix of the demo pods), an
egress policy, and the "Your turn" exercise 05-backend-policy with its world. See :mod:`course_lib.policy`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..exercises import CheckResult, exercise
from ..sim import PodRef, Verdict, connection
from ..sim._netpol import direction, policy_namespace, policy_types, selects

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Manifest = dict[str, Any]

# ----------------------------------------------------------------------------------------------- NetworkPolicy


@dataclass(frozen=True)
class Reachability:
    """Who may talk to whom: one :class:`Verdict` per ordered pair of different pods."""

    pods: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    def allowed(self, src: str, dst: str) -> bool:
        return next(v.allowed for v in self.verdicts if v.src == src and v.dst == dst)

    @property
    def allowed_pairs(self) -> list[str]:
        """``"src → dst"`` for every allowed connection."""
        return [f"{v.src} → {v.dst}" for v in self.verdicts if v.allowed]

    def to_frame(self) -> pd.DataFrame:
        """The matrix: rows are sources, columns destinations; ✅ allowed, ❌ denied, — the pod itself."""
        import pandas as pd

        table = {dst: {src: "—" for src in self.pods} for dst in self.pods}
        for v in self.verdicts:
            table[v.dst][v.src] = "✅" if v.allowed else "❌"
        frame = pd.DataFrame(table, index=list(self.pods), columns=list(self.pods))
        frame.index.name = "from \\ to"
        return frame

    def table(self) -> pd.DataFrame:
        """One row per pair with the port and the reason."""
        import pandas as pd

        rows = [
            {"from": v.src, "to": v.dst, "port": v.port, "allowed": v.allowed, "why": v.reason} for v in self.verdicts
        ]
        return pd.DataFrame(rows, columns=["from", "to", "port", "allowed", "why"])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html()


def reachability(
    pods: Sequence[PodRef],
    policies: Sequence[Mapping[str, Any]],
    *,
    port: int | None = None,
    protocol: str = "TCP",
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> Reachability:
    """Evaluate every ordered pair of different pods (each destination on its main port unless ``port``).

    Used in: notebook 05.
    """
    labels = [p.label for p in pods]
    if len(set(labels)) != len(labels):
        raise ConfigError("two pods have the same namespace and name", hint="give every pod its own name")
    verdicts = tuple(
        connection(s, d, policies, port=port, protocol=protocol, namespaces=namespaces)
        for s in pods
        for d in pods
        if s is not d
    )
    return Reachability(tuple(labels), verdicts)


def demo_pods() -> list[PodRef]:
    """The pods of the NetworkPolicy section: an ingress gateway, a frontend, a backend and a database.

    Used in: notebook 05.
    """
    return [
        PodRef("ingress-gateway", labels={"app": "ingress-gateway"}, ports={"http": 8000}),
        PodRef("frontend", labels={"app": "frontend"}, ports={"http": 80}),
        PodRef("backend", labels={"app": "backend"}, ports={"http": 8080, "metrics": 9090}),
        PodRef("db", labels={"app": "db"}, ports={"postgres": 5432}),
    ]


def allow_egress(
    name: str, *, app: str, to_app: str, port: int, namespace: str = "default", labels: Mapping[str, str] | None = None
) -> Manifest:
    """A NetworkPolicy that lets pods ``app=<app>`` send TCP ``port`` to pods ``app=<to_app>`` (the egress half).

    Used in: notebook 05.
    """
    from ..manifests import object_meta

    spec = {
        "podSelector": {"matchLabels": {"app": app}},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"podSelector": {"matchLabels": {"app": to_app}}}], "ports": [{"protocol": "TCP", "port": port}]}
        ],
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(name, namespace=namespace, labels=labels),
        "spec": spec,
    }


# ----------------------------------------------------------------------------------------------- exercise

_EX_PODS = [
    *demo_pods(),
    PodRef("debug", namespace="tools", labels={"app": "frontend"}, ports={"http": 80}),
]


def exercise_world() -> tuple[list[PodRef], list[Manifest]]:
    """Pods and the policies already in place for the "Your turn" exercise (default deny + allow-frontend).

    Used in: notebook 05.
    """
    from ..manifests import network_policy_allow_from, network_policy_default_deny

    return list(_EX_PODS), [network_policy_default_deny(), network_policy_allow_from()]


def _ingress(pod_src: PodRef, pod_dst: PodRef, policies: Sequence[Mapping[str, Any]], port: int) -> bool:
    return direction(
        policies,
        subject=pod_dst,
        peer=pod_src,
        port=port,
        protocol="TCP",
        kind="Ingress",
        namespaces=None,
        port_pod=pod_dst,
    )[0]


@exercise("05-backend-policy")
def check_backend_policy(answer: Any) -> CheckResult:
    """Part 5: a NetworkPolicy that lets only the frontend reach the backend, on TCP 8080 only."""
    from ..manifests import from_yaml

    name = "05-backend-policy"
    if isinstance(answer, str):
        docs = from_yaml(answer, source="your answer")
        if len(docs) != 1:
            return CheckResult(
                name, False, f"the YAML holds {len(docs)} objects; write exactly one NetworkPolicy.", "one document"
            )
        answer = docs[0]
    if not isinstance(answer, Mapping) or answer.get("kind") != "NetworkPolicy":
        kind = answer.get("kind") if isinstance(answer, Mapping) else type(answer).__name__
        return CheckResult(
            name,
            False,
            f"the answer is a {kind!r}, not a NetworkPolicy.",
            "kind: NetworkPolicy, apiVersion: networking.k8s.io/v1",
        )
    if answer.get("apiVersion") != "networking.k8s.io/v1":
        return CheckResult(
            name,
            False,
            f"apiVersion {answer.get('apiVersion')!r} is not the NetworkPolicy API.",
            "networking.k8s.io/v1",
        )
    if policy_namespace(answer) != "default":
        return CheckResult(
            name,
            False,
            f"the policy is in namespace {policy_namespace(answer)!r}; the backend runs in 'default'.",
            "a policy only selects pods of its own namespace",
        )
    pods, world = exercise_world()
    by = {p.label: p for p in pods}
    backend, frontend = by["backend"], by["frontend"]
    if not selects(answer, backend):
        return CheckResult(
            name,
            False,
            "its podSelector does not select the backend pod (labels app=backend).",
            "spec.podSelector.matchLabels",
        )
    others = [p.name for p in pods if p.namespace == "default" and p is not backend and selects(answer, p)]
    if others:
        return CheckResult(
            name,
            False,
            f"its podSelector also selects {', '.join(others)}: the policy would apply to them too.",
            "select only app=backend",
        )
    if "Ingress" not in policy_types(answer):
        return CheckResult(
            name,
            False,
            "policyTypes has no Ingress, so it says nothing about traffic into the backend.",
            "policyTypes: [Ingress]",
        )
    combined = [*world, dict(answer)]
    if not _ingress(frontend, backend, combined, 8080):
        return CheckResult(
            name,
            False,
            "the frontend still cannot reach the backend on TCP 8080.",
            "check the from-selector and the port (number 8080 or the name 'http')",
        )
    intruders = [
        p.label for p in pods if p is not backend and p is not frontend and _ingress(p, backend, combined, 8080)
    ]
    if intruders:
        return CheckResult(
            name,
            False,
            f"{intruders[0]} may reach the backend too.",
            "a namespaceSelector without a podSelector, or an empty from, opens it wider than the frontend"
            if intruders[0] != "tools/debug"
            else "a pod labelled app=frontend in another namespace gets in: keep the podSelector alone (same namespace)",
        )
    if _ingress(frontend, backend, combined, 9090):
        return CheckResult(
            name, False, "the frontend may also reach the backend's metrics port 9090.", "list the port under ports:"
        )
    return CheckResult(name, True, "only the frontend reaches the backend, and only on TCP 8080.")
