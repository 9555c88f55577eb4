"""Every registered "Your turn" exercise, reached through ``cl.check``: one right answer and at least two wrong ones,
plus the answers file and ``course check``.

The table below must name every id that :func:`course_lib.exercises.exercises` lists, so a new exercise cannot be
registered without tests here.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import course_lib as cl
from course_lib import capstone as cap
from course_lib import charts
from course_lib import exercises as ex
from course_lib.cli import cli
from course_lib.errors import ConfigError
from course_lib.provision import ClusterSpec
from course_lib.tools import available
from tests.unit.test_observe_dashboards import RIGHT_ANSWER as DASHBOARD
from tests.unit.test_observe_dashboards import with_panel
from tests.unit.test_observe_exercise import PERCENT, RAW, RIGHT, _prom

NETPOL = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "allow-backend", "namespace": "default"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "backend"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
    },
}
OVERLAY = """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
namespace: staging
replicas: [{name: checkout, count: 3}]
images: [{name: ghcr.io/k8s-course/checkout, newTag: 0.2.0}]
"""
CHILDREN = [json.loads(json.dumps(asdict(c))) for c in cap.DEFAULT_CHILDREN]  # plain data, as in an answers file
SELECTOR = {
    "matchLabels": {"env": "production"},
    "matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1", "fra1"]}],
}
SYNC = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}

# id -> (right answer, [(wrong answer, fragment of the message), ...], context for every call)
CASES: dict[str, tuple[Any, list[tuple[Any, str]], dict[str, Any]]] = {
    "00-learners-csv": (
        "learner\nada\nbob\ncy",
        [("learner\nada", "at least three"), ("name\nada\nbob\ncy", "no `learner` column"), ("", "CSV text")],
        {},
    ),
    "01-budget-spec": (
        {"name": "course-ada", "size": "s-2vcpu-4gb", "count": 2},
        [
            ({"name": "course-ada", "size": "s-1vcpu-2gb", "count": 2}, "at least 4 GiB"),
            ({"name": "course-ada", "size": "s-2vcpu-4gb", "count": 1}, "1 node"),
            ({"name": "course-ada", "size": "s-8vcpu-16gb", "count": 3}, "over the $80.00 budget"),
            ({"name": "course-ada", "colour": "blue"}, "cannot build a cluster spec"),
            ("two nodes", "expected a ClusterSpec"),
        ],
        {},
    ),
    "02-sync-policy": (
        SYNC,
        [({"syncOptions": ["CreateNamespace=true"]}, "manual-sync"), ({"automated": {"prune": True}}, "selfHeal")],
        {},
    ),
    "02-pruned-objects": (
        ["ConfigMap/old-banner"],
        [(["Service/guestbook-ui"], "updated"), ([], "missing"), ("ConfigMap/old-banner", "list")],
        {},
    ),
    "03-error-ratio": (
        RIGHT,
        [(PERCENT, "a percentage"), (RAW, "raw counter"), ("", "empty"), (42, "not PromQL")],
        {"prom": "fake"},  # replaced by a fresh fake Prometheus per call (tests/unit/test_observe_exercise.py)
    ),
    "03-dashboard-panel": (
        DASHBOARD,
        [
            (with_panel(unit=None), "no unit"),
            (with_panel("sum(rate(checkout_requests_total[1m]))"), "5xx"),
            (..., "placeholder"),
            (["a panel"], "not a dashboard"),
        ],
        {},
    ),
    "04-canary-75-25": (
        {"v1": 75, "v2": 25},
        [({"v1": 25, "v2": 75}, "swapped"), ({"v1": 75, "v2": 20}, "add up to 95")],
        {},
    ),
    "05-backend-policy": (
        NETPOL,
        [
            ({**NETPOL, "kind": "Pod"}, "not a NetworkPolicy"),
            ({**NETPOL, "spec": {**NETPOL["spec"], "podSelector": {}}}, "also selects"),
        ],
        {},
    ),
    "06-fix-template": (
        charts.BROKEN_CONFIGMAP + "  {{- end }}\n",
        [(charts.BROKEN_CONFIGMAP, "helm still fails"), ("", "as a string")],
        {},
    ),
    "07-overlay": (
        OVERLAY,
        [
            (OVERLAY.replace("namespace: staging", "namespace: prod"), "not staging"),
            ("resources: [\n", "not valid YAML"),
        ],
        {},
    ),
    "08-recovery-target": (
        "2026-11-25T16:40:00Z",
        [("2026-11-25T16:45:00Z", "not before the DROP"), ("2026-11-25T12:00:00Z", "lose 282 minutes")],
        {},
    ),
    "09-appset-selector": (
        SELECTOR,
        [({"matchLabels": {"env": "production"}}, "prod-sgp1"), ({}, "every registered cluster")],
        {},
    ),
    "10-app-of-apps": (
        CHILDREN,
        [(CHILDREN[:1], "nothing deploys"), ("kyverno, policy", "list of ChildApp")],
        {},
    ),
    "11-leftover-kinds": (
        ["load_balancer", "volume", "snapshot"],
        [
            (["volume"], "one more can outlive"),
            (["droplet", "load_balancer", "volume", "snapshot"], "not droplet"),
            (["vpc"], "unknown kind"),
            (7, "not a list"),
        ],
        {},
    ),
}

_TOOLS = {"06-fix-template": "helm", "07-overlay": "kubectl"}


def _skip_without_tools(name: str) -> None:
    tool = _TOOLS.get(name)
    if tool and not available(tool):
        pytest.skip(f"{name} runs the real {tool}, which is not installed here (make tools)")


def _context(name: str) -> dict[str, Any]:
    ctx = dict(CASES[name][2])
    if "prom" in ctx:
        ctx["prom"] = _prom()
    return ctx


#: Exercises whose check restores a real database: their cases live in the integration tests
#: (tests/integration/test_sandbox_postgres.py), which start one.
LIVE_ONLY = {"08-real-recovery"}


def test_every_registered_exercise_has_cases() -> None:
    from course_lib import drills

    # a break-and-fix drill is checked on its live run: tests/integration/test_drills_*.py break and fix each one
    assert set(CASES) | LIVE_ONLY | set(drills.drills()) == set(ex.exercises())
    assert all(ex.describe(name).startswith(f"Part {int(name[:2])}:") for name in LIVE_ONLY)
    for name, (_, wrong, _) in CASES.items():
        assert len(wrong) >= 2, name
        assert ex.describe(name).startswith(f"Part {int(name[:2])}:"), name


def test_exercises_of_one_part() -> None:
    assert ex.exercises(part=2) == ["02-app-wrong-path", "02-pruned-objects", "02-sync-policy"]
    assert ex.exercises(part=12) == []
    assert "10-root-no-children" in ex.exercises(part=10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_right_answer_passes(name: str) -> None:
    _skip_without_tools(name)
    result = cl.check(name, CASES[name][0], **_context(name))
    assert result.passed, result
    assert result.exercise == name and result.message and not result.message.startswith("✅")


@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, (_, wrong, _) in sorted(CASES.items()) for i in range(len(wrong))]
)
def test_wrong_answers_get_specific_feedback(name: str, index: int) -> None:
    _skip_without_tools(name)
    answer, fragment = CASES[name][1][index]
    result = cl.check(name, answer, **_context(name))
    assert not result.passed
    assert fragment in result.message, result
    assert result.hint, result  # every wrong answer says what to do next
    assert "Not yet" in str(result)


def test_budget_spec_accepts_a_spec_object_and_node_pools_data() -> None:
    assert cl.check("01-budget-spec", ClusterSpec.single_pool("course-ada", count=2)).passed
    pools = {"name": "course-ada", "region": "fra1", "node_pools": [{"size": "s-2vcpu-4gb", "count": 2}]}
    assert cl.check("01-budget-spec", pools).passed
    assert not cl.check("01-budget-spec", pools, budget_monthly=50).passed  # the budget is a context knob


def test_error_ratio_without_prometheus_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import course_lib.sandbox as sb

    monkeypatch.setattr(sb, "status", lambda: sb.StackStatus(services=(), state_file="/x", recorded=False))
    result = cl.check("03-error-ratio", RIGHT)
    assert not result.passed and "no sandbox Prometheus is running" in result.message
    assert "course sandbox up" in result.hint


def test_unknown_exercise_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        cl.check("99-nothing", 1)
    assert "00-learners-csv" in (err.value.hint or "")


# --- answers files and `course check` --------------------------------------------------------------


def _answers(skip: set[str]) -> dict[str, Any]:
    return {n: c[0] for n, c in CASES.items() if n not in skip}


def _offline_skip() -> set[str]:
    """03 needs a live Prometheus; 06/07 need helm/kubectl where they are missing."""
    return {"03-error-ratio"} | {n for n, t in _TOOLS.items() if not available(t)}


def test_check_answers_table_and_missing(tmp_path: Path) -> None:
    report = ex.check_answers({"04-canary-75-25": {"v1": 25, "v2": 75}}, parts=[2, 4])
    by = {r.exercise: r for r in report.rows}
    assert set(by) == {"02-pruned-objects", "02-sync-policy", "04-canary-75-25"}
    assert by["04-canary-75-25"].status == "fail" and "swapped" in by["04-canary-75-25"].message
    assert by["02-sync-policy"].status == "missing" and by["02-sync-policy"].hint.startswith("Part 2:")
    assert not report.ok and report.counts() == {"pass": 0, "fail": 1, "missing": 2}
    table = report.table()
    assert "FAIL" in table and "MISSING" in table and "hint: the canary is the small share" in table


def test_load_answers_refuses_bad_files(tmp_path: Path) -> None:
    cases = {
        "missing.yaml": (None, "cannot read answers file"),
        "list.yaml": ("- 1\n- 2\n", "not a mapping"),
        "broken.json": ('{"04-canary-75-25": ', "is not valid"),
        "unknown.yaml": ("99-nothing: 1\n", "unknown exercise(s): 99-nothing"),
    }
    for file, (text, message) in cases.items():
        path = tmp_path / file
        if text is not None:
            path.write_text(text)
        with pytest.raises(ConfigError) as err:
            ex.load_answers(path)
        assert message in err.value.message and err.value.hint, file


def test_course_check_passes_a_right_file_and_fails_a_wrong_one(tmp_path: Path) -> None:
    skip = _offline_skip()
    right = tmp_path / "answers.json"
    right.write_text(json.dumps(_answers(skip)))
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", "--answers", str(right)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("PASS") == len(CASES) - len(skip)
    assert f"{len(CASES) - len(skip)} passed, 0 failed" in ok.output

    wrong = tmp_path / "answers.yaml"
    wrong.write_text(yaml.safe_dump({"11-leftover-kinds": ["volume"], "04-canary-75-25": {"v1": 75, "v2": 25}}))
    bad = runner.invoke(cli, ["check", "--part", "4,11", "--answers", str(wrong)])
    assert bad.exit_code == 1, bad.output
    assert "PASS" in bad.output and "FAIL" in bad.output and "hint: add 'load_balancer'" in bad.output

    missing = runner.invoke(cli, ["check", "--part", "2", "--answers", str(wrong)])
    assert missing.exit_code == 1 and missing.output.count("MISSING") == 2


def test_course_check_lists_and_refuses_unknown_parts() -> None:
    runner = CliRunner()
    listing = runner.invoke(cli, ["check", "--part", "11"])
    assert listing.exit_code == 0 and "11-leftover-kinds" in listing.output and "--answers FILE" in listing.output
    unknown = runner.invoke(cli, ["check", "--part", "12", "--answers", "x.yaml"])
    assert unknown.exit_code != 0 and "no registered exercise" in str(unknown.exception)


def test_a_part_module_that_cannot_import_fails_loudly(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A broken module must not silently lose its exercises or its manifests."""
    import pytest

    from course_lib import exercises
    from course_lib.manifests import _registry

    (tmp_path / "broken_part_module.py").write_text("raise ImportError('a dependency of this part is missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(exercises, "EXERCISE_MODULES", (*exercises.EXERCISE_MODULES, "broken_part_module"))
    with pytest.raises(ImportError, match="a dependency of this part is missing"):
        exercises.exercises()
    monkeypatch.setattr(_registry, "PLUGIN_MODULES", (*_registry.PLUGIN_MODULES, "broken_part_module"))
    monkeypatch.setattr(_registry, "_PLUGINS_LOADED", False)
    with pytest.raises(ImportError, match="a dependency of this part is missing"):
        _registry._load_plugins()
