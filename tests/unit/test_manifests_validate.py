"""Validation: broken manifests of each flavour fail with a clear message; the CRD schema files are sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib import manifests as m
from course_lib.errors import ConfigError, ValidationError
from course_lib.manifests import _validate

CRD_FILES = sorted(_validate.CRD_DIR.glob("*/*.json"))


def _only(obj: dict) -> m.ObjectResult:
    [result] = m.validate(obj).results
    return result


def test_builtin_wrong_type_names_the_field() -> None:
    d = m.checkout_deployment()
    d["spec"]["replicas"] = "three"
    r = _only(d)
    assert not r.ok and r.schema == f"kubernetes {m.DEFAULT_KUBE_VERSION} (strict)"
    assert any(e.startswith("spec.replicas:") and "integer" in e for e in r.errors)


def test_builtin_unknown_field_is_rejected_in_strict_mode() -> None:
    d = m.checkout_deployment()
    d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    r = _only(d)
    assert r.errors == (
        "spec.template.spec.containers[0]: Additional properties are not allowed ('imagePullPolicyy' was unexpected)",
    )


def test_builtin_missing_required_field() -> None:
    svc = m.checkout_service()
    del svc["spec"]["ports"][0]["port"]
    assert any("'port' is a required property" in e for e in _only(svc).errors)


def test_crd_missing_required_field() -> None:
    pooler = m.cnpg_pooler()
    del pooler["spec"]["cluster"]
    r = _only(pooler)
    assert r.schema == "data/crds/postgresql.cnpg.io/Pooler_v1.json"
    assert r.errors == ("spec: 'cluster' is a required property",)


def test_crd_unknown_field_and_bad_enum() -> None:
    vs = m.istio_virtual_service("v", namespace="default", host="v", weights={"v1": 100})
    vs["spec"]["http"][0]["routes"] = vs["spec"]["http"][0].pop("route")
    assert "'routes' was unexpected" in _only(vs).errors[0]
    pa = m.istio_peer_authentication(namespace="default")
    pa["spec"]["mtls"]["mode"] = "STRICTER"
    assert _only(pa).errors[0].startswith("spec.mtls.mode: 'STRICTER' is not one of")
    cluster = m.cnpg_cluster(spaces=m.SpacesBucket())
    cluster["spec"]["backup"]["retentionPolicy"] = "30 days"
    assert "does not match" in _only(cluster).errors[0]


def test_crd_metadata_name_pattern() -> None:
    obj = m.kyverno_disallow_root()
    obj["metadata"]["name"] = "Disallow_Root"
    assert _only(obj).errors[0].startswith("metadata.name:")


def test_seed_spelling_of_kyverno_is_still_accepted_but_not_emitted() -> None:
    p = m.kyverno_disallow_root()
    p["spec"]["validationFailureAction"] = "Enforce"  # deprecated upstream, still served
    assert _only(p).ok


def test_unknown_kind_is_an_error() -> None:
    r = _only({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert not r.ok and r.schema == "none"
    assert r.errors[0].startswith("unknown kind Widget (apiVersion example.com/v1)")
    assert "known custom kinds:" in r.errors[0]


def test_builtin_kind_name_in_a_foreign_group_is_not_taken_for_the_builtin() -> None:
    np = m.network_policy_default_deny()
    np["apiVersion"] = "networking.istio.io/v1"  # same file-name mapping as networking.k8s.io/v1
    assert _only(np).errors[0].startswith("unknown kind NetworkPolicy")


def test_seed_api_versions_point_to_current_ones() -> None:
    vs = m.istio_virtual_service("v", namespace="default", host="v", weights={"v1": 100})
    vs["apiVersion"] = "networking.istio.io/v1alpha3"
    assert "use networking.istio.io/v1" in _only(vs).errors[0]
    store = m.eso_secret_store("s", namespace=None)
    store["apiVersion"] = "external-secrets.io/v1beta1"
    assert "the course has ClusterSecretStore as external-secrets.io/v1" in _only(store).errors[0]


def test_malformed_objects() -> None:
    report = m.validate([{"kind": "Pod"}, "not a manifest", {"apiVersion": "v1", "kind": "Namespace", "metadata": {}}])  # type: ignore[list-item]
    errors = [r.errors[0] for r in report.results]
    assert errors[0] == "(top level): apiVersion and kind must both be set (strings)"
    assert errors[1].startswith("(top level): a manifest is a mapping")
    assert errors[2] == "metadata.name: is required"


def test_secret_values_never_appear_in_messages() -> None:
    s = m.secret("x", namespace="default", string_data={"password": "hunter2"})
    s["stringData"]["password"] = ["hunter2"]
    r = _only(s)
    assert not r.ok and "hunter2" not in " ".join(r.errors) and "value hidden" in r.errors[0]


def test_kube_version_choice() -> None:
    pod = m.secret_env_pod()
    pod["spec"]["containers"][0]["resizePolicy"] = [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]
    assert m.validate(pod, kube_version="v1.33.2").ok  # resizePolicy exists since Kubernetes 1.27
    old = m.validate(pod, kube_version="1.25")
    assert "'resizePolicy' was unexpected" in old.results[0].errors[0]
    assert old.results[0].schema == "kubernetes 1.25 (strict)"
    with pytest.raises(ConfigError, match="use one of: .*1.37"):
        m.validate([], kube_version="1.2")
    with pytest.raises(ConfigError):
        m.validate([], kube_version="latest")


def test_report_api() -> None:
    bad = m.checkout_service()
    bad["spec"]["colour"] = "blue"
    report = m.validate([m.namespace("shop"), bad, m.namespace("other")])
    assert not report.ok and [f.name for f in report.failures] == ["checkout"]
    assert report.counts == {"Namespace": 2, "Service": 1}
    assert [row["result"] for row in report.rows()] == ["ok", "FAIL", "ok"]
    table = report.table()
    assert any(line.split() == ["Service", "shop/checkout", "FAIL"] for line in table.splitlines())
    assert "'colour' was unexpected" in table and table.endswith(
        f"2/3 objects valid (Kubernetes {m.DEFAULT_KUBE_VERSION})"
    )
    with pytest.raises(ValidationError, match="1 of 3 objects are invalid; first: Service shop/checkout"):
        report.raise_for_errors()
    good = m.validate(m.namespace("shop"))
    assert good.raise_for_errors() is good
    with pytest.raises(AttributeError):
        good.kube_version = "1.30"  # type: ignore[misc]


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_crd_schema_files_are_sound(path: Path) -> None:
    import jsonschema

    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    upstream = schema["x-upstream"]
    assert upstream["version"] in schema["$comment"] and upstream["released"] in schema["$comment"]
    assert upstream["read"] == "2026-11-26"
    kind, _, version = path.stem.rpartition("_")
    assert schema["properties"]["kind"] == {"const": kind}
    assert schema["properties"]["apiVersion"] == {"const": f"{path.parent.name}/{version}"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["spec"]["additionalProperties"] is False


def test_crd_schemas_listing() -> None:
    rows = m.crd_schemas()
    assert len(rows) == len(CRD_FILES)
    assert {r["apiVersion"].split("/")[0] for r in rows} >= {"traefik.io", "postgresql.cnpg.io", "external-secrets.io"}
    assert all(r["upstream_version"] for r in rows)


def test_missing_crd_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="COURSE_DATA_DIR"):
        _validate.crd_index(str(tmp_path / "nowhere"))
    assert _validate.crd_index(str(tmp_path)) == {}  # an empty directory is fine: every CRD kind is then unknown


def _widget_crd(schema: dict | None) -> dict:
    version: dict = {"name": "v1", "served": True, "storage": True}
    if schema is not None:
        version["schema"] = {"openAPIV3Schema": schema}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [version],
        },
    }


def test_a_crd_in_the_same_batch_makes_its_kind_known_and_strict() -> None:
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "port": {"x-kubernetes-int-or-string": True},
                    "note": {"type": "string", "nullable": True},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
        },
    }
    good = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 2, "port": "http", "note": None, "extra": {"anything": 1}},
    }
    bad = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "v"},
        "spec": {"size": 0, "colour": "x"},
    }
    report = m.validate([good, _widget_crd(schema), bad])
    assert [r.ok for r in report.results] == [True, True, False]
    assert report.results[0].schema == "CustomResourceDefinition widgets.example.com in this batch"
    assert report.results[2].errors == (
        "spec: Additional properties are not allowed ('colour' was unexpected)",
        "spec.size: 0 is less than the minimum of 1",
    )
    assert not m.validate([good]).ok  # without its CRD the kind is unknown again


def test_a_crd_without_schema_only_proves_the_kind_exists() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"x": 1}}
    report = m.validate([_widget_crd(None), widget])
    assert report.ok and "no schema" in report.results[1].schema


def test_each_result_names_its_validator() -> None:
    store = m.eso_secret_store("s", namespace="shop")
    report = m.validate([m.namespace("shop"), store, store])
    assert [r.validator for r in report.results] == [
        "kubernetes-validate (strict)",
        "authored schema (data/crds, from External Secrets Operator v2.9.0)",
        "authored schema (data/crds, from External Secrets Operator v2.9.0)",
    ]
    assert report.validators() == {
        "Namespace": "kubernetes-validate (strict)",
        "SecretStore": "authored schema (data/crds, from External Secrets Operator v2.9.0)",
    }
    assert report.rows()[0]["validator"] == "kubernetes-validate (strict)"
    assert "SecretStore  authored schema (data/crds, from External Secrets Operator v2.9.0)" in report.table()
    assert _only({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}).validator == "none"


def test_every_crd_schema_shares_the_objectmeta_schema() -> None:
    import jsonschema

    shared = json.loads((_validate.CRD_DIR / "objectmeta.json").read_text())
    jsonschema.Draft202012Validator.check_schema(shared)
    assert shared["$id"] == _validate.OBJECTMETA_URI and shared["additionalProperties"] is False
    for path in CRD_FILES:
        assert json.loads(path.read_text())["properties"]["metadata"] == {"$ref": _validate.OBJECTMETA_URI}, path
