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

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._resources import data_path
from .errors import ClusterError, ConfigError, CourseError, ToolError
from .exercises import CheckResult, exercise
from .pins import ESO_CHART, FALCO_CHART, KYVERNO_CHART, HelmChart
from .sim import Admission, PodRef, Verdict, connection, evaluate_policy, selector_matches  # noqa: F401 - re-exported
from .sim._kyverno import pod_target
from .sim._netpol import direction, policy_namespace, policy_types, selects

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Manifest = dict[str, Any]

# ----------------------------------------------------------------------------------------------- charts


def charts() -> dict[str, HelmChart]:
    """The charts of part 5 with their pins.

    Example:
        >>> sorted(charts())
        ['external-secrets', 'falco', 'kyverno']

    Used in: notebook 05.
    """
    return {"kyverno": KYVERNO_CHART, "falco": FALCO_CHART, "external-secrets": ESO_CHART}


def charts_table() -> pd.DataFrame:
    """Chart, pinned version, application version and namespace, one row per chart."""
    import pandas as pd

    rows = [
        {
            "release": c.release,
            "chart": f"{c.repo_name}/{c.chart}",
            "version": c.version,
            "app": c.app_version,
            "namespace": c.namespace,
        }
        for c in charts().values()
    ]
    return pd.DataFrame(rows)


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
    from .manifests import kyverno_disallow_root

    policy = kyverno_disallow_root(name)
    rule = policy["spec"]["rules"][0]
    rule["name"] = "validate-registries"
    rule["validate"]["message"] = f"Images must come from {registry.rstrip('*')}."
    rule["validate"]["pattern"] = {"spec": {"containers": [{"image": registry}]}}
    return policy


def _effective_non_root(obj: Mapping[str, Any]) -> str:
    target = pod_target(obj, {"Pod"}) or {}
    spec = target.get("spec") or {}
    pod_level = (spec.get("securityContext") or {}).get("runAsNonRoot")
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    values = [(c.get("securityContext") or {}).get("runAsNonRoot", pod_level) for c in containers]
    if values and all(v is True for v in values):
        return "yes"
    return "no" if not any(v is True for v in values) else "only some containers"


def sample_pods(*, namespace: str = "default") -> list[Manifest]:
    """Pods (and one Deployment) that show where the disallow-root pattern admits and rejects, and its blind spots.

    Used in: notebook 05.
    """
    from .manifests import object_meta

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
                "all containers non-root": _effective_non_root(obj),
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


# ----------------------------------------------------------------------------------------------- Kyverno CLI

#: Where the course's ``kyverno test`` suites live (one directory per suite, each with a ``kyverno-test.yaml``).
KYVERNO_TESTS_DIR = data_path("kyverno-tests")


@dataclass(frozen=True)
class KyvernoResult:
    """One result of the real Kyverno engine (``kyverno apply``): a rule applied to a resource.

    Attributes:
        resource: ``Kind/name`` of the resource as given (a Deployment is checked by the auto-generated rule).
        policy: the policy's name.
        rule: the rule's name (``autogen-…`` for the rules Kyverno writes for pod controllers).
        result: ``pass``, ``fail``, ``warn``, ``error`` or ``skip``, as Kyverno reports it.
        message: Kyverno's own message (for a failure: the rule's message and the path that did not match).
    """

    resource: str
    policy: str
    rule: str
    result: str
    message: str


def _kyverno_env(workdir: Path) -> dict[str, str]:
    # The CLI needs no cluster; an empty kubeconfig makes sure it never reaches for one, and HOME keeps its
    # cache (~/.kube) inside the work directory.
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    return {"KUBECONFIG": str(kubeconfig), "HOME": str(workdir), "NO_COLOR": "1"}


def _run_kyverno(args: Sequence[str], *, workdir: Path, timeout: float, ok_codes: tuple[int, ...]) -> tuple[int, str]:
    from .tools import run

    result = run(
        "kyverno",
        args,
        cwd=workdir,
        env=_kyverno_env(workdir),
        timeout=timeout,
        ok_codes=ok_codes,
        what=f"kyverno {args[0]}",
        hint="read Kyverno's message above; it names the policy or resource file it could not use",
    )
    return result.returncode, result.stdout


def _report_json(stdout: str) -> dict[str, Any]:
    """The PolicyReport in ``kyverno apply --policy-report --output-format json`` output (text may precede it)."""
    start = stdout.find("{")
    if start < 0:
        raise ToolError("kyverno apply printed no policy report", hint="run `kyverno apply` by hand to see why")
    report, _ = json.JSONDecoder().raw_decode(stdout[start:])
    if not isinstance(report, dict):
        raise ToolError("kyverno apply printed something that is not a policy report", hint="check the kyverno build")
    return report


def kyverno_apply(
    policy: Mapping[str, Any], objects: Iterable[Mapping[str, Any]], *, timeout: float = 120.0
) -> list[KyvernoResult]:
    """Evaluate a policy with the real Kyverno engine (``kyverno apply --policy-report``), without a cluster.

    The policy and the objects are written to a temporary directory and given to the CLI built by ``make tools``;
    Kyverno's PolicyReport is read back. A Deployment (or another pod controller) is judged by the rule Kyverno
    generates for it (``autogen-<rule>``), exactly as the admission webhook would.

    Args:
        policy: a Kyverno ``ClusterPolicy`` or ``Policy``.
        objects: the resources to check (each needs ``kind`` and ``metadata.name``).
        timeout: seconds before the CLI is stopped.

    Raises:
        ConfigError: the policy is not a Kyverno policy or an object has no name (before Kyverno runs).
        ToolMissingError: the kyverno CLI is not built (run ``make tools``).
        ToolError: the CLI failed to load the policy or the resources.

    Example:
        >>> from course_lib import manifests as m
        >>> [r.result for r in kyverno_apply(m.kyverno_disallow_root(), sample_pods()[:2])]  # doctest: +SKIP
        ['pass', 'fail']

    Used in: notebook 05.
    """
    import tempfile

    import yaml

    if policy.get("kind") not in ("ClusterPolicy", "Policy"):
        raise ConfigError(
            f"expected a Kyverno ClusterPolicy or Policy, got kind {policy.get('kind')!r}",
            hint="pass m.kyverno_disallow_root() or policy.restrict_registry_policy()",
        )
    items = [dict(o) for o in objects]
    if not items:
        raise ConfigError("no objects to check", hint="pass a list of manifests, e.g. policy.sample_pods()")
    for obj in items:
        if not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
            raise ConfigError("every object needs a kind and metadata.name", hint="check the manifests you passed")
    with tempfile.TemporaryDirectory(prefix="course-kyverno-") as tmp:
        workdir = Path(tmp)
        # YAML, not JSON: the CLI silently loads no policy from a .json file (and then reports nothing)
        (workdir / "policy.yaml").write_text(yaml.safe_dump(dict(policy), sort_keys=False))
        # one YAML document per object: the CLI does not unpack a `kind: List`
        (workdir / "resources.yaml").write_text(yaml.safe_dump_all(items, sort_keys=False))
        _, stdout = _run_kyverno(
            [
                "apply",
                "policy.yaml",
                "--resource",
                "resources.yaml",
                "--policy-report",
                "--output-format",
                "json",
                "--remove-color",
            ],
            workdir=workdir,
            timeout=timeout,
            ok_codes=(0, 1),  # 1: some rule failed, which is an answer, not an error
        )
    report = _report_json(stdout)
    results = []
    for entry in report.get("results") or []:
        for res in entry.get("resources") or [{}]:
            results.append(
                KyvernoResult(
                    resource=f"{res.get('kind', '?')}/{res.get('name', '?')}",
                    policy=str(entry.get("policy", "")),
                    rule=str(entry.get("rule", "")),
                    result=str(entry.get("result", "")),
                    message=str(entry.get("message", "")).strip(),
                )
            )
    return results


def kyverno_table(policy: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The course's evaluator and the real Kyverno CLI side by side, one row per object.

    Columns: ``object``, ``course says`` (admit/reject), ``Kyverno says`` (pass/fail, per rule), ``agree``
    and ``Kyverno's message``.

    Used in: notebook 05.
    """
    import pandas as pd

    items = [dict(o) for o in objects]
    by_resource: dict[str, list[KyvernoResult]] = {}
    for result in kyverno_apply(policy, items):
        by_resource.setdefault(result.resource, []).append(result)
    rows = []
    for obj in items:
        verdict = evaluate_policy(policy, obj)
        key = f"{verdict.kind}/{verdict.name}"
        found = by_resource.get(key, [])
        failed = [r for r in found if r.result in ("fail", "error")]
        says = "fail" if failed else ("pass" if found else "no rule applies")
        kyverno_admits = not any(
            r.result in ("fail", "error") and _rule_action(policy, r.rule) != "Audit" for r in failed
        )
        rows.append(
            {
                "object": key,
                "course says": "admit" if verdict.admitted else "reject",
                "Kyverno says": says,
                "agree": kyverno_admits == verdict.admitted,
                "Kyverno's message": "; ".join(r.message for r in failed),
            }
        )
    return pd.DataFrame(rows, columns=["object", "course says", "Kyverno says", "agree", "Kyverno's message"])


def _rule_action(policy: Mapping[str, Any], rule_name: str) -> str:
    spec = policy.get("spec") or {}
    base = rule_name.removeprefix("autogen-cronjob-").removeprefix("autogen-")
    for rule in spec.get("rules") or []:
        if rule.get("name") == base:
            return str((rule.get("validate") or {}).get("failureAction", spec.get("validationFailureAction", "Audit")))
    return str(spec.get("validationFailureAction", "Audit"))


@dataclass(frozen=True)
class KyvernoTestRun:
    """The outcome of ``kyverno test`` on a directory of test suites.

    Attributes:
        ok: every expected result matched.
        passed: number of test results that matched.
        failed: number that did not.
        output: the CLI's table of results (plain text).
    """

    ok: bool
    passed: int
    failed: int
    output: str

    def __str__(self) -> str:
        return self.output


def kyverno_test(directory: str | Path | None = None, *, timeout: float = 180.0) -> KyvernoTestRun:
    """Run ``kyverno test`` on a directory of ``kyverno-test.yaml`` suites (default: the course's own suites).

    A suite names policies, resources and the result each rule must give for each resource; ``kyverno test``
    evaluates them with the real engine and fails when any result differs. This is how policies are unit-tested
    in CI before they reach a cluster.

    Raises:
        ConfigError: the directory does not exist or holds no ``kyverno-test.yaml``.
        ToolMissingError: the kyverno CLI is not built (run ``make tools``).

    Used in: notebook 05.
    """
    import re

    folder = Path(directory) if directory is not None else KYVERNO_TESTS_DIR
    if not folder.is_dir() or not any(folder.rglob("kyverno-test.yaml")):
        raise ConfigError(f"{folder} holds no kyverno-test.yaml", hint="point at a directory with Kyverno test suites")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="course-kyverno-") as tmp:
        code, stdout = _run_kyverno(
            ["test", str(folder.resolve()), "--remove-color", "--require-tests"],
            workdir=Path(tmp),
            timeout=timeout,
            ok_codes=(0, 1),
        )
    text = stdout.replace(str(folder.resolve()), folder.name)
    passed = failed = 0
    match = re.search(r"Test Summary:\s*(\d+)\s+tests? passed and\s+(\d+)\s+tests? failed", text)
    if match:
        passed, failed = int(match.group(1)), int(match.group(2))
    return KyvernoTestRun(code == 0 and failed == 0 and passed > 0, passed, failed, text.strip())


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
    from .manifests import object_meta

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


def secrets_comparison() -> pd.DataFrame:
    """Sealed Secrets and External Secrets Operator side by side.

    Used in: notebook 05.
    """
    import pandas as pd

    rows = [
        ("What is in Git", "the secret, encrypted (SealedSecret)", "only a reference (ExternalSecret)"),
        (
            "Where the value lives",
            "in the cluster, as a Secret the controller decrypts",
            "in an external manager (Vault, AWS/GCP/Azure, …)",
        ),
        ("Who can decrypt", "only the controller's private key in that cluster", "the manager's access rules decide"),
        (
            "Rotation",
            "re-seal and commit a new SealedSecret",
            "change it in the manager; ESO refreshes (refreshInterval)",
        ),
        ("Many clusters", "seal once per cluster (one key pair each)", "one store, any number of clusters"),
        ("Extra infrastructure", "none besides the controller", "a secret manager and its credentials"),
        ("Lose the key", "back up the controller's key, or re-seal everything", "nothing in the cluster to lose"),
    ]
    return pd.DataFrame(rows, columns=["", "Sealed Secrets", "External Secrets Operator"])


# ----------------------------------------------------------------------------------------------- exercise

_EX_PODS = [
    *demo_pods(),
    PodRef("debug", namespace="tools", labels={"app": "frontend"}, ports={"http": 80}),
]


def exercise_world() -> tuple[list[PodRef], list[Manifest]]:
    """Pods and the policies already in place for the "Your turn" exercise (default deny + allow-frontend).

    Used in: notebook 05.
    """
    from .manifests import network_policy_allow_from, network_policy_default_deny

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
    from .manifests import from_yaml

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


def _register() -> None:
    """Add the objects notebook 05 shows that the manifests registry does not have yet (``course validate``)."""
    from .manifests import register

    register("05/sample-pods", lambda lb: sample_pods(), replace=True)
    register("05/restrict-registries", lambda lb: restrict_registry_policy(), replace=True)
    register(
        "05/allow-gateway-egress",
        lambda lb: allow_egress("allow-gateway-egress", app="ingress-gateway", to_app="frontend", port=80, labels=lb),
        replace=True,
    )
    from .manifests import pinned_image_policy, pod_security_namespace, restricted_pod

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
