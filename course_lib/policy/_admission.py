"""Part 5's admission: the course's evaluation of a Kyverno policy on sample pods, and what a real API server's
admission answers (server-side dry runs, waiting for a policy to take effect, Kyverno's readiness and its
PolicyReports). See :mod:`course_lib.policy`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ClusterError, CourseError
from ..sim import evaluate_policy
from ..sim._security_context import effective_non_root

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Manifest = dict[str, Any]

# ----------------------------------------------------------------------------------------------- Kyverno


def restrict_registry_policy(
    registry: str = "registry.digitalocean.com/*", *, name: str = "restrict-image-registries"
) -> Manifest:
    """A ClusterPolicy in the same style: every container image must come from ``registry`` (a wildcard).

    Example:
        >>> restrict_registry_policy()["spec"]["rules"][0]["validate"]["pattern"]
        {'spec': {'containers': [{'image': 'registry.digitalocean.com/*'}]}}

    Used in: notebook 05.
    """
    from ..manifests import kyverno_disallow_root

    policy = kyverno_disallow_root(name)
    rule = policy["spec"]["rules"][0]
    rule["name"] = "validate-registries"
    rule["validate"]["message"] = f"Images must come from {registry.rstrip('*')}."
    rule["validate"]["pattern"] = {"spec": {"containers": [{"image": registry}]}}
    return policy


def sample_pods(*, namespace: str = "default") -> list[Manifest]:
    """Pods (and one Deployment) that show where the disallow-root pattern admits and rejects, and its blind spots.

    Used in: notebook 05.
    """
    from ..manifests import object_meta

    def pod(name: str, pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None) -> Manifest:
        container: dict[str, Any] = {"name": "app", "image": "busybox:1.37", "command": ["sleep", "3600"]}
        if container_sc is not None:
            container["securityContext"] = container_sc
        spec: dict[str, Any] = {"containers": [container]}
        if pod_sc is not None:
            spec["securityContext"] = pod_sc
        return {"apiVersion": "v1", "kind": "Pod", "metadata": object_meta(name, namespace=namespace), "spec": spec}

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta("deploy-root", namespace=namespace),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "deploy-root"}},
            "template": {
                "metadata": {"labels": {"app": "deploy-root"}},
                "spec": {"containers": [{"name": "app", "image": "busybox:1.37", "command": ["sleep", "3600"]}]},
            },
        },
    }
    return [
        pod("pod-nonroot", {"runAsNonRoot": True, "runAsUser": 10001}, None),
        pod("pod-no-context", None, None),
        pod("pod-root-explicit", {"runAsNonRoot": False}, None),
        pod("pod-container-only", None, {"runAsNonRoot": True, "runAsUser": 10001}),
        pod("pod-container-override", {"runAsNonRoot": True}, {"runAsNonRoot": False, "runAsUser": 0}),
        deployment,
    ]


def admission_table(
    policy: Mapping[str, Any], objects: Iterable[Mapping[str, Any]], *, non_root_column: bool = True
) -> pd.DataFrame:
    """One row per object: the policy's verdict and reason, and whether every container really runs as non-root.

    The last column (``non_root_column=False`` leaves it out) is what Kubernetes enforces at run time (a container's ``runAsNonRoot`` overrides the
    pod's); it shows the pattern's blind spots.

    Used in: notebook 05.
    """
    import pandas as pd

    rows = []
    for obj in objects:
        verdict = evaluate_policy(policy, obj)
        rows.append(
            {
                "object": f"{verdict.kind}/{verdict.name}",
                "policy says": "admit" if verdict.admitted else "reject",
                "reason": verdict.reason,
                "all containers non-root": effective_non_root(obj),
            }
        )
    columns = ["object", "policy says", "reason", *(["all containers non-root"] if non_root_column else [])]
    return pd.DataFrame(rows, columns=columns)


def _wait_for_default_service_account(cluster: Any, namespace: str, *, timeout: float = 15.0) -> None:
    """Wait for a new namespace's ``default`` ServiceAccount (the controller-manager makes it a moment after the
    namespace): until it exists, admission refuses every Pod there for that reason, before any policy is asked."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.get("ServiceAccount", "default", namespace=namespace)
            return
        except ClusterError:
            if time.monotonic() > deadline:
                return  # let admission say why
            time.sleep(0.1)


def admission_attempts(
    cluster: Any, objects: Iterable[Mapping[str, Any]], *, column: str = "API server says"
) -> pd.DataFrame:
    """Send each object to a real API server with a server-side dry run and report what admission answered.

    ``dryRun=All`` runs every admission step — Pod Security Admission, ValidatingAdmissionPolicies, webhooks such
    as Kyverno's — and stores nothing. The message is the API server's own.

    Returns:
        Columns ``object``, ``namespace``, ``column`` (``admit``/``reject``) and ``message``.

    Raises:
        ClusterError: the cluster is a dry run (there is no API server to ask).

    Used in: notebook 05 (the sandbox control plane and cluster targets).
    """
    import pandas as pd

    if getattr(cluster, "_api", None) is None:
        raise ClusterError(
            "admission needs a real API server",
            hint="run `make tools` for the sandbox control plane, or use target='kubeconfig'/'doks'",
        )
    objects = list(objects)
    pod_namespaces = {str((o.get("metadata") or {}).get("namespace") or "") for o in objects if o.get("kind") == "Pod"}
    for namespace in sorted(pod_namespaces - {""}):
        _wait_for_default_service_account(cluster, namespace)
    rows = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        row = {"object": f"{obj.get('kind')}/{meta.get('name')}", "namespace": meta.get("namespace", "")}
        try:
            cluster.apply(dict(obj), dry_run=True)
            rows.append({**row, column: "admit", "message": ""})
        except CourseError as exc:
            rows.append({**row, column: "reject", "message": exc.message})
    return pd.DataFrame(rows, columns=["object", "namespace", column, "message"])


def wait_until_rejected(cluster: Any, probe: Mapping[str, Any], *, timeout: float = 15.0) -> float:
    """Wait until a newly applied admission policy rejects ``probe`` (a server-side dry run, nothing stored).

    A ValidatingAdmissionPolicy reaches the API server's admission plugin a moment after it is created.

    Returns:
        Seconds waited.

    Raises:
        TimeoutError: still admitted after ``timeout`` seconds.

    Used in: notebook 05.
    """
    start = time.monotonic()
    while True:
        frame = admission_attempts(cluster, [probe])
        if frame.iloc[0]["API server says"] == "reject":
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{probe.get('kind')}/{(probe.get('metadata') or {}).get('name')} still admitted")
        time.sleep(0.25)


def kyverno_ready(policy: Mapping[str, Any]) -> bool:
    """True when a live Kyverno policy's status says Kyverno enforces it (its rules are in Kyverno's webhook
    configuration): ``status.conditionStatus.ready`` for the ``policies.kyverno.io`` kinds (``ValidatingPolicy`` …),
    the ``Ready`` condition for ``ClusterPolicy``/``Policy``.

    Example:
        >>> kyverno_ready({"kind": "ValidatingPolicy", "status": {"conditionStatus": {"ready": True}}})
        True
    """
    status = policy.get("status") or {}
    if str(policy.get("apiVersion", "")).startswith("kyverno.io/"):
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return bool((status.get("conditionStatus") or {}).get("ready"))


def wait_kyverno_ready(cluster: Any, policy: Mapping[str, Any], *, timeout: float = 90.0) -> float:
    """Wait until Kyverno enforces ``policy`` (applied before) and return the seconds waited.

    Kyverno adds a policy's rules to its webhook configuration a moment after the policy is created; until then the
    API server does not send it the matching requests. The kubectl equivalents:
    ``kubectl wait --for=jsonpath='{.status.conditionStatus.ready}'=true validatingpolicy/NAME`` and
    ``kubectl wait --for=condition=Ready clusterpolicy/NAME``.

    Raises:
        TimeoutError: not ready within ``timeout`` (the last status is in the message).

    Used in: notebook 05.
    """
    meta = policy.get("metadata") or {}
    kind, name = str(policy.get("kind")), str(meta.get("name"))
    start = time.monotonic()
    while True:
        live = cluster.get(kind, name, namespace=meta.get("namespace"), api_version=policy.get("apiVersion"))
        if kyverno_ready(live):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{kind}/{name} is not ready after {timeout:.0f} s: {str(live.get('status'))[:300]}")
        time.sleep(0.25)


#: Where Kyverno's reports controller writes its reports (``-openreportsEnabled=false``, the chart's default).
POLICY_REPORT_API_VERSION = "wgpolicyk8s.io/v1alpha2"
POLICY_REPORT_COLUMNS = ["resource", "policy", "rule", "result", "message", "report"]


def policy_reports(cluster: Any, namespace: str) -> pd.DataFrame:
    """The PolicyReports of ``namespace`` as one row per result (``kubectl get policyreports -n NAMESPACE``): the
    resource it is about, ``policy``, ``rule``, ``result`` (``pass``/``fail``/``warn``/``error``/``skip``),
    ``message`` and the report's name (Kyverno names it after the resource's UID). Changes nothing.

    Kyverno's reports controller writes them, one per resource, from the ephemeral reports the admission
    controller leaves for admitted requests (and from its background scan); without it there are none.

    Example:
        >>> policy_reports(cluster, "kyverno-demo")  # doctest: +SKIP

    Used in: notebook 05.
    """
    import pandas as pd

    rows = []
    for item in cluster.list("PolicyReport", namespace=namespace, api_version=POLICY_REPORT_API_VERSION):
        scope = item.get("scope") or {}
        for r in item.get("results") or []:
            rows.append(
                {
                    "resource": f"{scope.get('kind')}/{scope.get('name')}",
                    "policy": r.get("policy"),
                    "rule": r.get("rule"),
                    "result": r.get("result"),
                    "message": r.get("message"),
                    "report": item["metadata"]["name"],
                }
            )
    frame = pd.DataFrame(rows, columns=POLICY_REPORT_COLUMNS)
    return frame.sort_values(["resource", "policy", "rule"], ignore_index=True)


def wait_policy_report(
    cluster: Any, namespace: str, *, policy: str, resource: str | None = None, timeout: float = 60.0
) -> pd.DataFrame:
    """Wait until a PolicyReport of ``namespace`` holds a result of ``policy`` (for ``resource``, ``Kind/name``,
    when given) and return :func:`policy_reports`' rows of that policy.

    Raises:
        TimeoutError: no such result within ``timeout`` seconds (is Kyverno's reports controller running?).

    Used in: notebook 05.
    """
    start = time.monotonic()
    while True:
        frame = policy_reports(cluster, namespace)
        rows = frame[(frame["policy"] == policy) & ((frame["resource"] == resource) if resource else True)]
        if len(rows):
            return rows.reset_index(drop=True)
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"no PolicyReport result of {policy} in {namespace} after {timeout:.0f} s")
        time.sleep(0.5)


def try_on_cluster(cluster: Any, objects: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Ask a real API server (with Kyverno's webhook) about each object with a server-side dry run.

    Nothing is stored: ``dryRun=All`` runs admission webhooks and returns their verdict.

    Raises:
        ClusterError: the cluster is a dry run (there is no webhook to ask).

    Used in: notebook 05 (cluster targets).
    """
    if getattr(cluster, "dry_run", True) or getattr(cluster, "_api", None) is None:
        raise ClusterError(
            "try_on_cluster needs a real cluster with Kyverno installed",
            hint="use target='kubeconfig' or 'doks'; on the sandbox use admission_table (the course's evaluation)",
        )
    return admission_attempts(cluster, objects, column="Kyverno says").drop(columns="namespace")
