"""Part 5 with the real Kyverno engine, no cluster needed: the CLI built by ``make tools`` applies a policy to
objects (``kyverno apply``), its verdicts next to the course's own, and ``kyverno test`` suites. See
:mod:`course_lib.policy`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._resources import data_path
from ..errors import ConfigError, ToolError
from ..sim import evaluate_policy

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

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
    from ..tools import run

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
