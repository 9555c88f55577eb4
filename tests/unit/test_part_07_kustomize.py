"""Part 7: the kustomize tree built with the real kubectl kustomize, the hash rollout, the overlay exercise."""

from __future__ import annotations

from pathlib import Path

import pytest

import course_lib.cluster as kc
from course_lib import charts
from course_lib.errors import ConfigError
from course_lib.exercises import check

GOOD = """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
namespace: staging
replicas: [{name: checkout, count: 3}]
images: [{name: ghcr.io/k8s-course/checkout, newTag: 0.2.0}]
"""


def test_tree_has_base_and_overlays(tmp_path: Path) -> None:
    tree = charts.write_kustomize_tree(tmp_path)
    assert (tree.base / "kustomization.yaml").is_file()
    assert tree.overlay("dev").name == "dev"
    with pytest.raises(ConfigError) as err:
        tree.overlay("qa")
    assert "dev, prod" in err.value.hint
    assert "overlays/" in str(tree)


def test_overlays_build_with_real_kustomize(tmp_path: Path) -> None:
    tree = charts.write_kustomize_tree(tmp_path)
    dev = kc.kustomize_build(tree.overlay("dev"))
    prod = kc.kustomize_build(tree.overlay("prod"))
    assert [o["metadata"]["name"] for o in prod][1:] == ["prod-checkout", "prod-checkout"]
    assert {o["metadata"]["namespace"] for o in prod} == {"production"}
    deployment = prod[-1]
    assert deployment["spec"]["replicas"] == 4
    assert deployment["spec"]["selector"]["matchLabels"]["app"] == "checkout"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith("checkout:0.2.0")
    rows = {(r["kind"], r["field"]): (r["dev"], r["prod"]) for r in charts.diff_rows(dev, prod)}
    assert rows[("Deployment", "spec.replicas")] == (1, 4)
    assert rows[("ConfigMap", "data.ENVIRONMENT")] == ("dev", "production")
    assert charts.config_refs(prod) == [
        {"deployment": "prod-checkout", "loads ConfigMap": prod[0]["metadata"]["name"], "exists": True}
    ]


def test_changing_a_literal_changes_the_hash_and_the_reference(tmp_path: Path) -> None:
    tree = charts.write_kustomize_tree(tmp_path)
    before = charts.config_refs(kc.kustomize_build(tree.overlay("dev")))[0]["loads ConfigMap"]
    charts.set_literal(tree.overlay("dev"), "LOG_LEVEL", "info")
    after_objs = kc.kustomize_build(tree.overlay("dev"))
    after = charts.config_refs(after_objs)[0]
    assert after["loads ConfigMap"] != before and after["exists"]
    assert after_objs[0]["data"]["LOG_LEVEL"] == "info"
    charts.set_literal(tree.overlay("dev"), "LOG_LEVEL", "debug")  # back to the original content, same hash
    assert charts.config_refs(kc.kustomize_build(tree.overlay("dev")))[0]["loads ConfigMap"] == before
    with pytest.raises(ConfigError):
        charts.set_literal(tree.overlay("dev"), "X", "1", generator="missing")


def test_comparison_table_has_both_columns() -> None:
    rows = charts.helm_vs_kustomize()
    assert rows and all(set(r) == {"aspect", "Helm", "Kustomize"} for r in rows)


def test_exercise_accepts_a_correct_overlay() -> None:
    result = check("07-overlay", GOOD)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (GOOD.replace("count: 3", "count: 2"), "2 replicas"),
        (GOOD.replace("newTag: 0.2.0", "newTag: 0.3.0"), "not tag 0.2.0"),
        (GOOD.replace("name: ghcr.io/k8s-course/checkout", "name: checkout"), "not tag 0.2.0"),
        (GOOD.replace("namespace: staging", "namespace: prod"), "not staging"),
        (GOOD.replace("../../base", "../base"), "does not include the base"),
        (GOOD + "patches: [{path: missing.yaml}]\n", "kustomize rejected"),
        ("resources: [\n", "not valid YAML"),
        (3, "as a string"),
    ],
)
def test_exercise_explains_wrong_answers(answer: object, says: str) -> None:
    result = check("07-overlay", answer)
    assert not result.passed
    assert says in result.message and result.hint
