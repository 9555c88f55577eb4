"""Security and policy without a cluster: the course's own evaluation of the disallow-root Kyverno rule, a small
NetworkPolicy evaluator (who may talk to whom), and the pinned charts of part 5.

Two honest limits: :func:`evaluate_policy` implements the subset of Kyverno's ``validate.pattern`` that the
disallow-root policy uses (nested fields, equality, ``*``/``?`` wildcards) — Kyverno itself is the judge: the
real Kyverno CLI built by ``make tools`` (:func:`kyverno_apply`, :func:`kyverno_table`, :func:`kyverno_test`) and,
on a cluster, the admission webhook (:func:`try_on_cluster`); and the NetworkPolicy evaluator follows the Kubernetes API semantics for
pod and namespace selectors, ports and policy types, but not ``ipBlock`` (which is about addresses outside the
cluster). On DOKS, Cilium enforces NetworkPolicies for real.

Example:
    >>> from course_lib import manifests as m
    >>> verdict = evaluate_policy(m.kyverno_disallow_root(), sample_pods()[0])
    >>> verdict.admitted, verdict.name
    (True, 'pod-nonroot')

Used in: notebook 05.
"""

from __future__ import annotations

# ``X as X``: public helpers outside __all__ that callers reach as ``policy.<name>`` (notebook 05, tests, benchmarks).
from ..pins import ESO_CHART, FALCO_CHART, KYVERNO_CHART
from ..sim import Admission, PodRef, Verdict, connection, evaluate_policy, selector_matches
from ._admission import (
    admission_attempts,
    admission_table,
    policy_reports,
    restrict_registry_policy,
    sample_pods,
    try_on_cluster,
    wait_policy_report,
    wait_until_rejected,
)
from ._admission import kyverno_ready as kyverno_ready
from ._admission import wait_kyverno_ready as wait_kyverno_ready
from ._charts import charts, charts_table, secrets_comparison
from ._kyverno_cli import KYVERNO_TESTS_DIR, KyvernoResult, KyvernoTestRun, kyverno_apply, kyverno_table, kyverno_test
from ._netpol import Reachability, allow_egress, check_backend_policy, demo_pods, exercise_world, reachability


def _register() -> None:
    """Add the objects notebook 05 shows that the manifests registry does not have yet (``course validate``)."""
    from ..manifests import register

    register("05/sample-pods", lambda lb: sample_pods(), replace=True)
    register("05/restrict-registries", lambda lb: restrict_registry_policy(), replace=True)
    register(
        "05/allow-gateway-egress",
        lambda lb: allow_egress("allow-gateway-egress", app="ingress-gateway", to_app="frontend", port=80, labels=lb),
        replace=True,
    )
    from ..manifests import pinned_image_policy, pod_security_namespace, restricted_pod

    register(
        "05/api-server-admission",
        lambda lb: [
            pod_security_namespace("psa-learner", enforce="restricted", labels=lb),
            restricted_pod("pod-restricted", namespace="psa-learner"),
            *pinned_image_policy(namespace="psa-learner"),
        ],
        replace=True,
    )


_register()


__all__ = [
    "ESO_CHART",
    "FALCO_CHART",
    "KYVERNO_CHART",
    "KYVERNO_TESTS_DIR",
    "Admission",
    "KyvernoResult",
    "KyvernoTestRun",
    "PodRef",
    "Reachability",
    "Verdict",
    "admission_table",
    "allow_egress",
    "charts",
    "charts_table",
    "check_backend_policy",
    "connection",
    "demo_pods",
    "evaluate_policy",
    "exercise_world",
    "kyverno_apply",
    "kyverno_table",
    "kyverno_test",
    "policy_reports",
    "reachability",
    "restrict_registry_policy",
    "sample_pods",
    "secrets_comparison",
    "selector_matches",
    "try_on_cluster",
    "admission_attempts",
    "wait_policy_report",
    "wait_until_rejected",
]
