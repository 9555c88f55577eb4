"""The real Kyverno CLI (built by `make tools`): `kyverno apply` next to the course's evaluator, `kyverno test`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from course_lib import manifests as m
from course_lib import policy, tools
from course_lib.errors import ConfigError

pytestmark = pytest.mark.integration

_kyverno_missing = pytest.mark.skipif(
    not tools.available("kyverno"), reason="the Kyverno CLI is not built: run `make tools`"
)


def needs_kyverno(test: Any) -> Any:
    """Mark a test as needing `kyverno` from `make tools` (skipped without it)."""
    return pytest.mark.tools(_kyverno_missing(test))


SUITE = policy.KYVERNO_TESTS_DIR / "disallow-root"


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_suite_files_match_the_course_objects() -> None:
    """The committed suite is what course_lib builds: a change to either shows up here."""
    assert _docs(SUITE / "policy.yaml") == [m.kyverno_disallow_root()]
    assert _docs(SUITE / "resources.yaml") == policy.sample_pods()


def test_bad_input_is_refused_before_kyverno_runs() -> None:
    with pytest.raises(ConfigError, match="ClusterPolicy"):
        policy.kyverno_apply({"kind": "ConfigMap"}, policy.sample_pods())
    with pytest.raises(ConfigError, match="no objects"):
        policy.kyverno_apply(m.kyverno_disallow_root(), [])
    with pytest.raises(ConfigError, match="kyverno-test.yaml"):
        policy.kyverno_test(SUITE / "no-such-dir")


@needs_kyverno
def test_kyverno_apply_judges_every_sample() -> None:
    results = policy.kyverno_apply(m.kyverno_disallow_root(), policy.sample_pods())
    verdicts = {r.resource: r.result for r in results}
    assert verdicts == {
        "Pod/pod-nonroot": "pass",
        "Pod/pod-no-context": "fail",
        "Pod/pod-root-explicit": "fail",
        "Pod/pod-container-only": "fail",
        "Pod/pod-container-override": "pass",
        "Deployment/deploy-root": "fail",
    }
    deployment = next(r for r in results if r.resource == "Deployment/deploy-root")
    assert deployment.rule == "autogen-check-runasnonroot"
    failed = next(r for r in results if r.resource == "Pod/pod-root-explicit")
    assert "Running as root is not allowed" in failed.message
    assert "runAsNonRoot" in failed.message


@needs_kyverno
def test_course_evaluator_agrees_with_kyverno_on_the_samples() -> None:
    table = policy.kyverno_table(m.kyverno_disallow_root(), policy.sample_pods())
    assert list(table["object"]) == [f"{o['kind']}/{o['metadata']['name']}" for o in policy.sample_pods()]
    assert table["agree"].all(), table.to_string()
    rejected = table[table["course says"] == "reject"]
    assert (rejected["Kyverno says"] == "fail").all()
    assert rejected["Kyverno's message"].str.contains("Running as root is not allowed").all()


@needs_kyverno
def test_registry_wildcard_with_kyverno() -> None:
    ours = m.checkout_deployment(image="registry.digitalocean.com/course/checkout:0.1.0")
    results = policy.kyverno_apply(policy.restrict_registry_policy(), [ours, m.secret_env_pod()])
    verdicts = {r.resource: r.result for r in results}
    assert verdicts[f"Deployment/{ours['metadata']['name']}"] == "pass"
    assert verdicts[f"Pod/{m.secret_env_pod()['metadata']['name']}"] == "fail"


@needs_kyverno
def test_kyverno_test_suite_passes() -> None:
    run = policy.kyverno_test()
    assert run.ok, run.output
    assert run.passed >= 6 and run.failed == 0


@needs_kyverno
def test_kyverno_test_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    suite = tmp_path / "disallow-root"
    shutil.copytree(SUITE, suite)
    spec = yaml.safe_load((suite / "kyverno-test.yaml").read_text())
    spec["results"][0]["result"] = "fail"  # claim that pod-nonroot fails: Kyverno must disagree
    (suite / "kyverno-test.yaml").write_text(yaml.safe_dump(spec))
    run = policy.kyverno_test(tmp_path)
    assert not run.ok
    assert run.failed >= 1


@needs_kyverno
def test_kyverno_reports_its_pinned_version() -> None:
    pinned = tools.read_pins()["KYVERNO_VERSION"]
    out = tools.run("kyverno", ["version"]).stdout
    assert pinned.lstrip("v") in out
