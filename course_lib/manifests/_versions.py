"""Where the seed's manifests are out of date, and what the builders write instead.

The notebooks show this table next to the YAML so a reader who copies the seed knows what changed.

Example:
    >>> any(row.seed == "traefik.containo.us/v1alpha1" for row in OUTDATED)
    True

Used in: notebooks 02, 04, 05, 08, 09.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outdated:
    """One difference between the seed text and what the course emits."""

    part: int
    kind: str
    seed: str
    current: str
    why: str


OUTDATED: tuple[Outdated, ...] = (
    Outdated(
        4,
        "IngressRoute, Middleware, TraefikService",
        "traefik.containo.us/v1alpha1",
        "traefik.io/v1alpha1",
        "Traefik v2.10 moved its CRDs to the traefik.io group; Traefik v3 no longer serves the old group.",
    ),
    Outdated(
        4,
        "VirtualService, DestinationRule",
        "networking.istio.io/v1alpha3",
        "networking.istio.io/v1",
        "Istio 1.22 promoted the networking API to v1 (v1alpha3 is still served, same fields).",
    ),
    Outdated(
        4,
        "PeerAuthentication",
        "security.istio.io/v1beta1",
        "security.istio.io/v1",
        "Istio 1.22 promoted the security API to v1.",
    ),
    Outdated(
        5,
        "ClusterPolicy",
        "spec.validationFailureAction: Enforce",
        "spec.rules[].validate.failureAction: Enforce",
        "Kyverno 1.13 deprecated the policy-wide field in favour of a per-rule failureAction.",
    ),
    Outdated(
        5,
        "ClusterPolicy",
        "match.resources.kinds",
        "match.any[].resources.kinds",
        "Kyverno documents match/exclude with any/all blocks; the bare form is legacy.",
    ),
    Outdated(
        5,
        "ExternalSecret, SecretStore",
        "external-secrets.io/v1beta1",
        "external-secrets.io/v1",
        "ESO v0.16 introduced v1; v0.17 stopped serving v1beta1.",
    ),
    Outdated(
        8,
        "Cluster",
        "spec.backup.barmanObjectStore",
        "barmancloud.cnpg.io/v1 ObjectStore + spec.plugins",
        "CloudNativePG 1.26 deprecated built-in Barman Cloud; removal is announced for 1.31. "
        "The course still shows the built-in form (works on 1.30) and the plugin form.",
    ),
    Outdated(
        8,
        "Pooler",
        "connect to pooler-rw-rw",
        "connect to pooler-rw",
        "The Pooler's Service has the Pooler's own name.",
    ),
    Outdated(
        9,
        "ApplicationSet",
        "'{{name}}' / '{{server}}' (fasttemplate)",
        "goTemplate: true with '{{.name}}'",
        "Argo CD recommends Go templates; fasttemplate is kept only for compatibility.",
    ),
)


def outdated_rows(*, part: int | None = None) -> list[dict[str, object]]:
    """The table as plain rows (for a DataFrame in a notebook), optionally only one part's rows."""
    return [row.__dict__.copy() for row in OUTDATED if part is None or row.part == part]
