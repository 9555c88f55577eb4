"""The verdicts of drills 02-app-wrong-path and 10-root-no-children on live-state shaped Applications and Deployments
(the drills themselves break and get fixed with the real Argo CD in tests/integration/test_drills_gitops.py)."""

from __future__ import annotations

from typing import Any

from course_lib import drills
from course_lib.drills import _capstone as c
from course_lib.drills import _gitops as d


def _app(sync: str, health: str = "Healthy", error: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"sync": {"status": sync}, "health": {"status": health}}
    if error:
        status["conditions"] = [{"type": "ComparisonError", "message": f"rpc error: code = Unknown desc = {error}"}]
    return {"status": status}


def _deployment(ready: int) -> dict[str, Any]:
    return {"spec": {"replicas": d.REPLICAS}, "status": {"readyReplicas": ready}}


def test_the_drill_is_registered_for_part_2_and_needs_argocd() -> None:
    assert drills.drills(part=2) == ["02-app-wrong-path"]
    assert d.AppWrongPath.needs == "argocd"


def test_a_comparison_error_is_broken_and_quoted_without_the_rpc_prefix() -> None:
    verdict = d.app_verdict(_app("Unknown", error="guestbook: app path does not exist"), None)
    assert not verdict.fixed
    assert verdict.message.endswith("ComparisonError: guestbook: app path does not exist")
    assert "describe application" in verdict.hint


def test_synced_without_the_deployment_is_not_fixed() -> None:
    verdict = d.app_verdict(_app("Synced"), None)
    assert not verdict.fixed and "no Deployment guestbook-ui" in verdict.message


def test_synced_and_healthy_with_ready_replicas_is_fixed_and_fewer_ready_is_not() -> None:
    assert d.app_verdict(_app("Synced"), _deployment(d.REPLICAS)).fixed
    waiting = d.app_verdict(_app("Synced", "Progressing"), _deployment(1))
    assert not waiting.fixed and f"1/{d.REPLICAS} ready" in waiting.message and "rollout" in waiting.hint


def test_out_of_sync_or_a_missing_application_is_not_fixed() -> None:
    assert not d.app_verdict(_app("OutOfSync"), _deployment(d.REPLICAS)).fixed
    assert "is gone" in d.app_verdict(None, None).message


def test_the_capstone_drill_is_registered_for_part_10() -> None:
    assert drills.drills(part=10) == ["10-root-no-children"]
    assert c.RootNoChildren.needs == "argocd"


def test_a_synced_root_without_children_is_broken() -> None:
    verdict = c.root_verdict(_app("Synced"), {"drill-10-db": None, "drill-10-web": None}, {})
    assert not verdict.fixed and "0 of 2 child Applications exist" in verdict.message
    assert "spec.source.directory" in verdict.hint


def test_a_root_with_one_child_or_an_error_is_broken() -> None:
    one = c.root_verdict(_app("Synced"), {"drill-10-db": _app("Synced"), "drill-10-web": None}, {"drill-10-db": 1})
    assert not one.fixed and "1 of 2" in one.message
    failing = c.root_verdict(_app("Unknown", error="apps: app path does not exist"), {}, {})
    assert not failing.fixed and "ComparisonError: apps: app path does not exist" in failing.message


def test_children_still_rolling_out_wait_and_all_healthy_is_fixed() -> None:
    children = {"drill-10-db": _app("Synced"), "drill-10-web": _app("OutOfSync", "Missing")}
    waiting = c.root_verdict(_app("Synced", "Progressing"), children, {"drill-10-db": 1})
    assert not waiting.fixed and "drill-10-web OutOfSync/Missing, 0 ready" in waiting.message
    assert "drill-10-root Progressing" in waiting.message
    healthy = {"drill-10-db": _app("Synced"), "drill-10-web": _app("Synced")}
    assert c.root_verdict(_app("Synced"), healthy, {"drill-10-db": 1, "drill-10-web": 1}).fixed
    assert not c.root_verdict(_app("Synced"), healthy, {"drill-10-db": 1, "drill-10-web": 0}).fixed
    assert not c.root_verdict(None, healthy, {}).fixed
