"""The break-and-fix drill mechanism: start breaks, the check reads the (here: fake, in-memory) live state, the
verdict is recorded as the learner's progress, unknown ids and unavailable targets are refused before anything is
created, and a drill's fix is injected in place of its ``# your turn (drill …)`` line. The real drills are tested
against the sandbox in tests/integration/test_drills_*.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

import course_lib as cl
from course_lib import drills, progress, solutions
from course_lib.config import using_state_dir
from course_lib.errors import ClusterError


@dataclass
class FakeCluster:
    """An in-memory stand-in for the API server (a unit test's fake: the real drills run on the sandbox)."""

    objects: dict[tuple[str, str, str | None], dict[str, Any]] = field(default_factory=dict)
    version: int = 0

    def put(self, kind: str, name: str, namespace: str | None, **spec: Any) -> None:
        self.version += 1
        self.objects[(kind, name, namespace)] = {"metadata": {"resourceVersion": str(self.version)}, "spec": spec}

    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        try:
            return self.objects[(kind, name, namespace)]
        except KeyError:
            raise ClusterError(f"{kind}/{name} not found", reason="NotFound") from None


@dataclass
class FakeCapabilities:
    live_api: bool = True
    controllers: frozenset[str] = frozenset()

    def runs(self, name: str) -> bool:
        return name in self.controllers


@dataclass
class FakeSession:
    cluster: FakeCluster = field(default_factory=FakeCluster)
    capabilities: FakeCapabilities = field(default_factory=FakeCapabilities)
    target: str = "sandbox"


class ScaledToZero(drills.Drill):
    id = "99-scaled-to-zero"
    title = "the shop is scaled to zero"
    symptom = "every request to the shop fails"
    first_look = "kubectl -n drill-99 get deployments"

    def break_(self) -> None:
        self.session.cluster.put("Deployment", "shop", "drill-99", replicas=0)
        self.remember([("Deployment", "shop", "drill-99")])
        self.state["broken"] = True

    def probe(self) -> drills.Verdict:
        replicas = self.session.cluster.get("Deployment", "shop", namespace="drill-99")["spec"]["replicas"]
        return drills.Verdict(replicas > 0, f"{replicas} replicas", "look at spec.replicas", not self.untouched())

    def clean(self) -> None:
        self.session.cluster.objects.pop(("Deployment", "shop", "drill-99"), None)


class NeedsArgo(ScaledToZero):
    id = "99-needs-argo"
    needs = "argocd"


class NeedsATool(ScaledToZero):
    id = "99-needs-a-tool"
    missing = "this drill needs helm, which is not built: run `make tools`"

    def unavailable(self) -> str:
        return self.missing


@pytest.fixture(autouse=True)
def own_progress_and_test_drills(tmp_path: Path):
    """The two test drills are registered for each test only (the course's registries stay as they are)."""
    from course_lib import exercises

    for cls in (ScaledToZero, NeedsArgo, NeedsATool):
        drills.drill(cls)
    with using_state_dir(tmp_path):
        yield
    for cls in (ScaledToZero, NeedsArgo, NeedsATool):
        drills._DRILLS.pop(cls.id)
        exercises._REGISTRY.pop(cls.id)


def test_untouched_broken_state_is_not_attempted_then_a_wrong_fix_fails_and_the_right_one_passes() -> None:
    session = FakeSession()
    run = drills.start("99-scaled-to-zero", session)  # type: ignore[arg-type]
    assert "every request to the shop fails" in str(run)
    first = run.check()
    assert not first.attempted and not first.passed and "kubectl -n drill-99 get deployments" in first.hint
    session.cluster.put("Deployment", "shop", "drill-99", replicas=0)  # touched, still broken
    second = run.check()
    assert second.attempted and not second.passed and second.tries == 1
    session.cluster.put("Deployment", "shop", "drill-99", replicas=2)
    third = run.check()
    assert third.passed and "2 replicas" in third.message
    [row] = [r for r in progress.summary(part=99).to_dict("records") if r["exercise"] == "99-scaled-to-zero"]
    assert row["kind"] == "drill" and row["passed"] and row["tries"] == 2
    assert "removed" in run.clean() and not session.cluster.objects


def test_a_deleted_object_counts_as_attempted() -> None:
    session = FakeSession()
    run = drills.start("99-scaled-to-zero", session)  # type: ignore[arg-type]
    session.cluster.objects.clear()
    with pytest.raises(ClusterError):  # the probe itself reads the deleted object: the error names it
        run.drill.probe()
    assert not run.drill.untouched()


def test_start_restarts_from_nothing_and_refuses_unknown_ids_before_any_side_effect() -> None:
    session = FakeSession()
    session.cluster.put("Deployment", "shop", "drill-99", replicas=5)  # left by an interrupted earlier run
    drills.start("99-scaled-to-zero", session)  # type: ignore[arg-type]
    assert session.cluster.get("Deployment", "shop", namespace="drill-99")["spec"]["replicas"] == 0
    before = dict(session.cluster.objects)
    with pytest.raises(cl.ConfigError, match="unknown drill '99-nope'"):
        drills.start("99-nope", session)  # type: ignore[arg-type]
    assert session.cluster.objects == before


def test_a_target_without_the_controller_creates_nothing_and_says_why() -> None:
    session = FakeSession()
    run = drills.start("99-needs-argo", session)  # type: ignore[arg-type]
    assert not session.cluster.objects and "a running argocd" in str(run)
    result = run.check()
    assert not result.attempted and "argocd" in result.message
    assert "did not run" in run.clean()
    session.capabilities.controllers = frozenset({"argocd"})
    drills.start("99-needs-argo", session)  # type: ignore[arg-type]
    assert session.cluster.objects


def test_a_drill_that_says_it_is_unavailable_creates_nothing_and_its_reason_is_the_verdict() -> None:
    session = FakeSession()
    run = drills.start("99-needs-a-tool", session)  # type: ignore[arg-type]
    assert not session.cluster.objects and "make tools" in str(run)
    assert not run.check().attempted and "helm" in run.check().message
    NeedsATool.missing = ""
    try:
        drills.start("99-needs-a-tool", session)  # type: ignore[arg-type]
        assert session.cluster.objects
    finally:
        NeedsATool.missing = "this drill needs helm, which is not built: run `make tools`"


def test_an_answers_file_never_checks_a_drill() -> None:
    from course_lib import exercises

    report = exercises.check_answers({"99-scaled-to-zero": "kubectl scale …"}, parts=[99])
    assert [r.exercise for r in report.rows] == []  # neither "fail" nor "missing": a drill is checked on its live run


def test_a_check_with_something_else_than_the_run_is_feedback() -> None:
    result = cl.check("99-scaled-to-zero", "kubectl scale deployment shop --replicas=2")
    assert not result.passed and "drills.start" in result.hint


def test_a_drill_fix_replaces_its_your_turn_line() -> None:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("# your turn (drill 99-scaled-to-zero): fix it with kubectl\nprint('done')")
    cell.metadata["tags"] = ["exercise"]
    notebook.cells.append(cell)
    fix = solutions.Solution("99-scaled-to-zero", "", "!kubectl -n drill-99 scale deployment shop --replicas=2\n")
    assert fix.placeholder.search(cell.source)
    original = solutions.load
    solutions.load = lambda part: {fix.exercise: fix}  # type: ignore[assignment]
    try:
        assert solutions.inject(notebook, 99) == ["99-scaled-to-zero"]
    finally:
        solutions.load = original  # type: ignore[assignment]
    assert cell.source == "!kubectl -n drill-99 scale deployment shop --replicas=2\nprint('done')"


def test_the_course_drills_each_have_a_fix_a_ladder_and_a_known_part() -> None:
    from course_lib.exercises import hints

    for name in drills.drills():
        if name.startswith("99-"):
            continue
        part = int(name[:2])
        assert name in solutions.load(part), f"{name}: no `drill: true` entry in data/solutions/{part:02d}.yaml"
        assert not solutions.load(part)[name].variable
        assert len(hints(name)) >= 2, name
