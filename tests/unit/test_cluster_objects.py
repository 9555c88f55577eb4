"""Loading, ordering, labelling and diffing manifests (no server involved)."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.cluster import ObjectRef, load_objects, sort_objects
from course_lib.cluster._errors import parse_status, status_error
from course_lib.cluster._objects import comparable, unified_diff, with_labels
from course_lib.errors import ValidationError


def obj(kind: str, name: str, api_version: str = "v1") -> dict[str, object]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}


def test_sort_objects_dependency_order_and_stability() -> None:
    given = [
        obj("Ingress", "web", "networking.k8s.io/v1"),
        obj("Deployment", "web", "apps/v1"),
        obj("ServiceMonitor", "web", "monitoring.coreos.com/v1"),
        obj("Service", "web"),
        obj("ValidatingWebhookConfiguration", "hook", "admissionregistration.k8s.io/v1"),
        obj("ConfigMap", "b"),
        obj("Secret", "a"),
        obj("ConfigMap", "a"),
        obj("RoleBinding", "rb", "rbac.authorization.k8s.io/v1"),
        obj("Namespace", "shop"),
        obj("ServiceAccount", "sa"),
        obj("CustomResourceDefinition", "servicemonitors.monitoring.coreos.com", "apiextensions.k8s.io/v1"),
        obj("StatefulSet", "db", "apps/v1"),
    ]
    order = [(o["kind"], o["metadata"]["name"]) for o in sort_objects(given)]  # type: ignore[index]
    assert order == [
        ("CustomResourceDefinition", "servicemonitors.monitoring.coreos.com"),
        ("Namespace", "shop"),
        ("ConfigMap", "b"),  # same rank keeps input order
        ("Secret", "a"),
        ("ConfigMap", "a"),
        ("RoleBinding", "rb"),
        ("ServiceAccount", "sa"),
        ("Service", "web"),
        ("Deployment", "web"),
        ("StatefulSet", "db"),
        ("Ingress", "web"),
        ("ServiceMonitor", "web"),
        ("ValidatingWebhookConfiguration", "hook"),
    ]
    assert sort_objects(given, reverse=True) == sort_objects(given)[::-1]


def test_load_objects_accepts_yaml_lists_paths_and_expands_list_kind(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\n\n---\n"
    text += "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
    file = tmp_path / "m.yaml"
    file.write_text(text)
    from_text = load_objects(text)
    assert [o["kind"] for o in from_text] == ["ConfigMap", "Secret"]
    assert load_objects(file) == from_text
    assert [o["kind"] for o in load_objects([obj("Pod", "p"), text])] == ["Pod", "ConfigMap", "Secret"]


def test_load_objects_does_not_change_input() -> None:
    original = obj("ConfigMap", "a")
    loaded = load_objects(original)
    labelled = with_labels(loaded[0], {"x": "y"})
    assert original == obj("ConfigMap", "a")
    assert labelled["metadata"]["labels"] == {"x": "y"}


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("kind: ConfigMap\nmetadata: {name: a}", "no apiVersion"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}", "no metadata.name"),
        ("apiVersion: v1\nkind: [unclosed", "not valid YAML"),
        ("- just\n- a list", "not a Kubernetes object"),
        (42, "cannot apply a int"),
    ],
)
def test_load_objects_rejects_bad_input_with_hint(bad: object, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle) as info:
        load_objects(bad)
    assert info.value.hint


def test_object_ref_and_key_ignore_version() -> None:
    a = ObjectRef.of({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "s"}})
    b = ObjectRef("apps/v1beta2", "Deployment", "s", "w")
    assert str(a) == "Deployment/w -n s"
    assert a.key() == b.key() and a.group == "apps"


def test_diff_ignores_server_fields() -> None:
    live = obj("ConfigMap", "a") | {"data": {"k": "1"}, "status": {"x": 1}}
    live["metadata"] = {"name": "a", "resourceVersion": "9", "managedFields": [{}], "uid": "u"}  # type: ignore[assignment]
    assert comparable(live) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}}
    assert unified_diff(live, obj("ConfigMap", "a") | {"data": {"k": "1"}}) == ""
    changed = unified_diff(live, obj("ConfigMap", "a") | {"data": {"k": "2"}}, name="ConfigMap/a")
    assert "-  k: '1'" in changed and "+  k: '2'" in changed and "ConfigMap/a (before)" in changed


def test_status_parsing_from_bytes_and_text() -> None:
    body = b'{"kind":"Status","status":"Failure","reason":"Forbidden","message":"pods is forbidden: User \\"x\\"","code":403}'
    assert parse_status(body)["reason"] == "Forbidden"
    err = status_error(403, body, action="list", obj="pods")
    assert err.context == {"reason": "Forbidden", "code": 403}
    assert "list pods failed: Forbidden: pods is forbidden" in err.message
    assert "RBAC" in err.hint
    plain = status_error(502, b"<html>bad gateway</html>")
    assert plain.context["code"] == 502 and "bad gateway" in plain.message
    assert parse_status(b"not json") == {}
