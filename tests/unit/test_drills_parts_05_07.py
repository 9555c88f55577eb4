"""The verdicts of drills 05-psa-blocks-app, 06-failed-upgrade and 07-patch-misses, judged on live-state shaped dicts
(the drills themselves break and get fixed on the sandbox in tests/integration/test_drills_05_07.py)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from course_lib import drills, tools
from course_lib.drills import _helm, _kustomize, _policy

RESTRICTED = {"metadata": {"labels": {_policy.ENFORCE: "restricted"}}}


def _deploy(replicas: int, ready: int, **labels: str) -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


def test_the_three_drills_are_registered_for_their_parts() -> None:
    assert drills.drills(part=5) == ["05-psa-blocks-app"]
    assert drills.drills(part=6) == ["06-failed-upgrade"]
    assert drills.drills(part=7) == ["07-patch-misses"]


def test_psa_verdict_wants_ready_replicas_in_a_namespace_that_still_enforces_restricted() -> None:
    failure = 'pods "shop-1" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true'
    broken = _policy.psa_verdict(_deploy(2, 0), RESTRICTED, failure)
    assert not broken.fixed and "0/2 replicas ready" in broken.message and "runAsNonRoot" in broken.message
    assert _policy.psa_verdict(_deploy(2, 2), RESTRICTED).fixed
    assert not _policy.psa_verdict(_deploy(2, 1), RESTRICTED).fixed
    weakened = _policy.psa_verdict(_deploy(2, 2), {"metadata": {"labels": {_policy.ENFORCE: "privileged"}}})
    assert not weakened.fixed and "weakening the namespace is not the fix" in weakened.message
    unlabelled = _policy.psa_verdict(_deploy(2, 2), {"metadata": {"labels": {}}})
    assert not unlabelled.fixed and "enforces nothing" in unlabelled.message
    assert not _policy.psa_verdict(_deploy(0, 0), RESTRICTED).fixed  # scaled to zero is not running
    assert not _policy.psa_verdict(None, RESTRICTED).fixed


def test_psa_failed_creates_reads_only_replicaset_events() -> None:
    events = pd.DataFrame(
        [
            {
                "reason": "FailedCreate",
                "object": "ReplicaSet/shop-7d9",
                "message": 'Error creating: pods "shop-7d9-x2" is forbidden: violates PodSecurity',
            },
            {"reason": "ScalingReplicaSet", "object": "Deployment/shop", "message": "Scaled up"},
            {"reason": "FailedCreate", "object": "Job/other", "message": "quota"},
        ]
    )
    assert _policy.failed_creates(events) == ["violates PodSecurity"]
    assert _policy.failed_creates(pd.DataFrame(columns=["reason", "object", "message"])) == []


def test_psa_deployment_sets_no_security_context() -> None:
    pod = _policy.shop_deployment()["spec"]["template"]["spec"]
    assert "securityContext" not in pod and "securityContext" not in pod["containers"][0]


GOOD = {"replicas": 2, "config": {"ENVIRONMENT": "drill"}, "failed_revision": 2}
GOOD_CONFIG = {"data": {"ENVIRONMENT": "drill"}}


def test_helm_revisions_come_from_the_release_secrets_labels() -> None:
    secrets = [{"metadata": {"labels": {"version": str(v), "status": s}}} for v, s in [(10, "deployed"), (9, "failed")]]
    assert _helm.revisions([*secrets, {"metadata": {"labels": {"owner": "helm"}}}]) == [(9, "failed"), (10, "deployed")]


def test_helm_verdict_wants_a_deployed_revision_after_the_failed_one_with_the_good_objects() -> None:
    failed = [(1, "superseded"), (2, "failed")]
    assert not _helm.release_verdict(failed, _deploy(2, 2), GOOD_CONFIG, GOOD).fixed
    assert "revision 2 is failed" in _helm.release_verdict(failed, _deploy(2, 2), GOOD_CONFIG, GOOD).message
    rolled = [*failed, (3, "deployed")]
    assert _helm.release_verdict(rolled, _deploy(2, 2), GOOD_CONFIG, GOOD).fixed
    other_values = _helm.release_verdict(rolled, _deploy(3, 3), {"data": {"ENVIRONMENT": "drill-v2"}}, GOOD)
    assert not other_values.fixed and "not the good release's" in other_values.message
    assert not _helm.release_verdict([(1, "deployed")], _deploy(2, 2), GOOD_CONFIG, GOOD).fixed  # rev 2 deleted
    assert not _helm.release_verdict([], None, None, GOOD).fixed


def test_helm_drill_is_unavailable_without_helm_and_names_make_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "available", lambda name: name != "helm")
    assert "make tools" in _helm.FailedUpgrade(session=None).unavailable()  # type: ignore[arg-type]
    monkeypatch.setattr(tools, "available", lambda name: True)
    assert _helm.FailedUpgrade(session=None).unavailable() == ""  # type: ignore[arg-type]


def test_kustomize_verdict_wants_the_live_deployment_and_the_overlay_to_agree() -> None:
    right = _deploy(3, 3, team="payments")
    assert _kustomize.patch_verdict(right, right).fixed
    missed = _kustomize.patch_verdict(_deploy(2, 2), _deploy(2, 2))
    assert not missed.fixed and "2 replicas (want 3)" in missed.message and "target" in missed.hint
    by_hand = _kustomize.patch_verdict(right, _deploy(2, 2))  # kubectl scale + label, files unchanged
    assert not by_hand.fixed and "undoes a change made by hand" in by_hand.message
    assert not _kustomize.patch_verdict(_deploy(3, 1, team="payments"), right).fixed  # still rolling out
    assert not _kustomize.patch_verdict(right, None, "bad yaml").fixed


def test_kustomize_drill_overlay_builds_without_the_patch_and_with_it_once_the_target_is_right(tmp_path) -> None:
    from course_lib import charts
    from course_lib.cluster import kustomize_build

    tree = charts.write_kustomize_tree(tmp_path)
    staging = tree.root / "overlays" / "staging"
    staging.mkdir()
    (staging / "kustomization.yaml").write_text(_kustomize.OVERLAY)
    (staging / "staging_scale.yaml").write_text(_kustomize.PATCH)
    built = _kustomize._deployment(kustomize_build(staging))
    assert built is not None and built["spec"]["replicas"] == 2 and "team" not in built["metadata"]["labels"]
    (staging / "kustomization.yaml").write_text(_kustomize.OVERLAY.replace("name: checkout-api", "name: checkout"))
    fixed = _kustomize._deployment(kustomize_build(staging))
    assert fixed is not None and fixed["spec"]["replicas"] == 3 and fixed["metadata"]["labels"]["team"] == "payments"
