"""Part 6: the course chart with the real helm, values per environment, diffs, Helmfile, the template exercise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import course_lib.cluster as kc
from course_lib import charts
from course_lib.errors import ConfigError, ToolError, ToolMissingError
from course_lib.exercises import check
from course_lib.tools import which


def _helm_available() -> bool:
    try:
        which("helm")
    except ToolMissingError:
        return False
    return True


needs_helm = pytest.mark.skipif(not _helm_available(), reason="helm is not built (make tools)")


def test_write_chart_copies_every_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    chart = charts.write_chart(tmp_path)
    files = sorted(str(p.relative_to(chart)) for p in chart.rglob("*") if p.is_file())
    assert "Chart.yaml" in files and "templates/_helpers.tpl" in files and "templates/NOTES.txt" in files
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "checkout"
    with pytest.raises(ConfigError):
        charts.write_chart(tmp_path)
    broken = charts.write_chart(tmp_path, name="broken", broken=True)
    assert (broken / "templates" / "configmap.yaml").read_text() == charts.BROKEN_CONFIGMAP


def test_read_and_environment_values_name_what_exists(tmp_path: Path) -> None:
    chart = charts.write_chart(tmp_path)
    assert charts.environment_values(chart, "prod")["replicaCount"] == 3
    with pytest.raises(ConfigError, match="values-staging"):
        charts.environment_values(chart, "staging")
    with pytest.raises(ConfigError) as err:
        charts.read(chart, "nope.yaml")
    assert "values.yaml" in err.value.hint


def test_listing_is_sorted_and_marks_folders(tmp_path: Path) -> None:
    text = charts.listing(charts.write_chart(tmp_path))
    lines = text.splitlines()
    assert lines[0] == "checkout/" and "└── templates/" in lines
    assert lines.index("├── Chart.yaml") < lines.index("├── values.yaml")


@needs_helm
def test_chart_lints_and_renders_per_environment(tmp_path: Path) -> None:
    chart = charts.write_chart(tmp_path)
    assert kc.helm_lint(chart).ok
    dev = kc.helm_template(chart, charts.environment_values(chart, "dev"), release="checkout", namespace="shop")
    prod = kc.helm_template(chart, charts.environment_values(chart, "prod"), release="checkout", namespace="shop")
    assert [o["kind"] for o in dev] == ["ConfigMap", "Service", "Deployment"]
    assert {o["kind"] for o in prod} == {"ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "IngressRoute"}
    rows = {(r["kind"], r["field"]): (r["dev"], r["prod"]) for r in charts.diff_rows(dev, prod)}
    assert rows[("Deployment", "spec.replicas")] == (1, 3)
    assert rows[("Deployment", "spec.template.spec.containers[0].image")][1].endswith(":0.2.0")
    assert rows[("IngressRoute", "(whole object checkout)")] == ("(absent)", "present")
    assert all(o["metadata"]["namespace"] == "shop" for o in prod)


@needs_helm
def test_required_value_stops_the_render(tmp_path: Path) -> None:
    chart = charts.write_chart(tmp_path)
    with pytest.raises(ToolError, match="ingressRoute.host is required"):
        kc.helm_template(chart, {"ingressRoute": {"enabled": True}}, release="checkout", namespace="shop")


def test_diff_rows_and_unified_diff_on_plain_objects() -> None:
    a = [{"kind": "Deployment", "metadata": {"name": "dev-x"}, "spec": {"replicas": 1, "paused": False}}]
    b = [
        {"kind": "Deployment", "metadata": {"name": "prod-x"}, "spec": {"replicas": 3}},
        {"kind": "Service", "metadata": {"name": "prod-x"}},
    ]
    rows = charts.diff_rows(a, b)
    assert {"kind": "Deployment", "field": "spec.replicas", "dev": 1, "prod": 3} in rows
    assert {"kind": "Deployment", "field": "spec.paused", "dev": False, "prod": "(absent)"} in rows
    assert rows[-1]["field"] == "(whole object prod-x)"
    assert charts.diff_rows(a, a) == []
    diff = charts.unified_diff(a, b)
    assert diff.startswith("--- dev\n+++ prod") and "-  replicas: 1" in diff and "+  replicas: 3" in diff
    frame = charts.diff_frame(a, b, width=8)
    assert list(frame.columns) == ["kind", "field", "dev", "prod"]
    assert all(len(v) <= 8 for v in frame["prod"])


def test_helmfile_pins_every_remote_chart_and_lists_its_repositories(tmp_path: Path) -> None:
    doc = yaml.safe_load(charts.helmfile_yaml())
    repos = {r["name"] for r in doc["repositories"]}
    names = {r["name"] for r in doc["releases"]}
    assert {"monitoring", "argocd", "traefik", "kyverno", "istiod", "checkout"} <= names
    for release in doc["releases"]:
        if not release["chart"].startswith("."):
            assert release["version"] and release["chart"].split("/")[0] in repos
    path = charts.write_helmfile(tmp_path)
    assert path.name == "helmfile.yaml" and (tmp_path / "charts" / "checkout" / "Chart.yaml").is_file()
    assert len(charts.releases_frame()) == len(doc["releases"])


def test_helmfile_refuses_unpinned_unknown_or_duplicate_releases() -> None:
    with pytest.raises(ConfigError, match="no pinned version"):
        charts.helmfile_yaml([charts.Release("x", "ns", "traefik/traefik", "", 4)])
    with pytest.raises(ConfigError, match="unknown chart repository"):
        charts.helmfile_yaml([charts.Release("x", "ns", "bitnami/nginx", "1.0.0", 4)])
    twice = charts.Release("x", "ns", "./charts/checkout", "", 6)
    with pytest.raises(ConfigError, match="appear twice"):
        charts.helmfile_yaml([twice, twice])


def test_environment_releases_are_two_local_releases_dev_first_with_labels_and_no_repository(tmp_path: Path) -> None:
    releases = charts.environment_releases("ada", prod_values={"replicaCount": 4})
    doc = yaml.safe_load(charts.write_helmfile(tmp_path, releases).read_text())
    assert "repositories" not in doc  # local charts only: helmfile contacts no chart repository
    dev, prod = doc["releases"]
    assert (dev["namespace"], prod["namespace"]) == ("hf-dev-ada", "hf-prod-ada")
    assert (dev["labels"], prod["labels"]) == ({"env": "dev"}, {"env": "prod"})
    assert "needs" not in dev and prod["needs"] == ["hf-dev-ada/checkout"]
    assert prod["values"] == ["charts/checkout/values-prod.yaml", {"replicaCount": 4}]
    for release in (dev, prod):  # each values file is where the helmfile says, next to it
        assert (tmp_path / release["values"][0]).is_file()
    with pytest.raises(ConfigError, match="learner 'Ada_1' is not a valid DNS-1123 label"):
        charts.environment_releases("Ada_1")
    with pytest.raises(ConfigError, match="at most 55 characters"):
        charts.environment_releases("a" * 56)


@needs_helm
def test_exercise_accepts_the_closed_range() -> None:
    result = check("06-fix-template", charts.BROKEN_CONFIGMAP + "  {{- end }}\n")
    assert result.passed, result.message


@needs_helm
@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (charts.BROKEN_CONFIGMAP, "unexpected EOF"),
        (charts.BROKEN_CONFIGMAP.split("  {{- range")[0].replace("ENVIRONMENT", "ENV"), "lacks"),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n", "no ConfigMap"),
        ("", "as a string"),
    ],
)
def test_exercise_explains_wrong_answers(answer: str, says: str) -> None:
    result = check("06-fix-template", answer)
    assert not result.passed
    assert says in result.message and result.hint
