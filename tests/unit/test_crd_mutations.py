"""Mutation tests for the authored CRD schemas in ``data/crds``.

Every custom resource the course renders (found through the manifests registry) must pass, and deliberately
broken copies of it must fail with the broken field's path: an unknown field at the top of ``spec``, a value
of the wrong type for every field the object sets, each ``required`` field removed, and an invalid value for
each field with an ``enum``. The mutations are derived from the object and its schema, so a new builder
field or a new kind is covered without editing this file. The second half pins the differences from the
upstream CRDs found in issue #13, one test each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib import manifests as m
from course_lib.manifests import _registry, _validate

UNKNOWN = "courseMutationUnknownField"
NOT_IN_ENUM = "course-mutation-not-in-enum"
#: Wrong values to try, in order: the first whose JSON type the schema does not allow is used.
WRONG_VALUES: tuple[Any, ...] = ("course-mutation", 12345, True, {"course": "mutation"}, ["course-mutation"])
JSON_TYPES = {str: "string", bool: "boolean", int: "integer", dict: "object", list: "array"}


def _schema_path(obj: dict) -> Path | None:
    group, _, version = obj["apiVersion"].rpartition("/")
    return _validate.crd_index(str(_validate.CRD_DIR)).get((group, version, obj["kind"]))


def _custom_objects() -> list[tuple[str, dict]]:
    out = []
    for entry, objects in _registry.render_all().items():
        for obj in objects:
            if _schema_path(obj) is not None:
                out.append((f"{entry}:{obj['kind']}:{obj['metadata']['name']}", obj))
    return out


CUSTOM = _custom_objects()
IDS = [name for name, _ in CUSTOM]


def _where(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


def _walk(schema: dict, value: Any, path: tuple[str | int, ...], root: dict) -> Iterator[tuple[tuple, dict, Any]]:
    """(path, schema, value) for every value the object sets that the schema describes."""
    schema = _resolve(schema, root)
    yield path, schema, value
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if key in props:
                yield from _walk(props[key], sub, (*path, key), root)
            elif isinstance(extra, dict):
                yield from _walk(extra, sub, (*path, key), root)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, sub in enumerate(value):
            yield from _walk(schema["items"], sub, (*path, i), root)


def _set(obj: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(obj)
    parent = out
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return out


def _delete(obj: dict, path: tuple, key: str) -> dict:
    out = copy.deepcopy(obj)
    parent = out
    for p in path:
        parent = parent[p]
    del parent[key]
    return out


def _wrong_value(types: list[str]) -> Any:
    allowed = set(types) | ({"integer"} if "number" in types else set())
    return next(v for v in WRONG_VALUES if JSON_TYPES[type(v)] not in allowed)


def mutations(obj: dict) -> list[tuple[str, dict, str, str]]:
    """(label, broken copy, expected error path, expected message fragment) for one course object."""
    path = _schema_path(obj)
    assert path is not None
    root = json.loads(path.read_text())
    out: list[tuple[str, dict, str, str]] = []
    if isinstance(obj.get("spec"), dict):
        out.append(
            ("unknown field spec." + UNKNOWN, _set(obj, ("spec", UNKNOWN), True), "spec", f"'{UNKNOWN}' was unexpected")
        )
    for where, schema, value in _walk(root["properties"]["spec"], obj.get("spec"), ("spec",), root):
        types = schema.get("type")
        types = [types] if isinstance(types, str) else types
        if types and where != ("spec",):
            wrong = _wrong_value(types)
            out.append(
                (f"wrong type {_where(where)}={wrong!r}", _set(obj, where, wrong), _where(where), "is not of type")
            )
        if "enum" in schema and where != ("spec",):
            out.append((f"bad enum {_where(where)}", _set(obj, where, NOT_IN_ENUM), _where(where), "is not one of"))
        if isinstance(value, dict):
            for key in schema.get("required", []):
                if key in value:
                    out.append(
                        (
                            f"missing required {_where((*where, key))}",
                            _delete(obj, where, key),
                            _where(where),
                            f"'{key}' is a required property",
                        )
                    )
    return out


def _errors(obj: dict) -> tuple[str, ...]:
    [result] = m.validate(obj).results
    return result.errors


@pytest.mark.parametrize(("name", "obj"), CUSTOM, ids=IDS)
def test_the_courses_own_custom_resources_pass(name: str, obj: dict) -> None:
    [result] = m.validate(obj).results
    assert result.ok, (name, result.errors)
    assert result.validator.startswith("authored schema (data/crds, from ")


@pytest.mark.parametrize(("name", "obj"), CUSTOM, ids=IDS)
def test_every_mutation_is_rejected_with_its_field_path(name: str, obj: dict) -> None:
    cases = mutations(obj)
    assert any(label.startswith("unknown field") for label, *_ in cases)
    assert any(label.startswith("wrong type") for label, *_ in cases)
    missed = []
    for label, broken, where, fragment in cases:
        errors = _errors(broken)
        if not any(e.startswith(f"{where}: ") and fragment in e for e in errors):
            missed.append((label, errors))
    assert not missed, missed


def test_mutations_cover_every_custom_kind_and_every_kind_of_mistake() -> None:
    kinds_with_schema = {kind for (_, _, kind) in _validate.crd_index(str(_validate.CRD_DIR))}
    assert {obj["kind"] for _, obj in CUSTOM} == kinds_with_schema  # the course renders every kind it has a schema for
    labels = [label for _, obj in CUSTOM for label, *_ in mutations(obj)]
    for prefix in ("unknown field", "wrong type", "missing required", "bad enum"):
        assert sum(label.startswith(prefix) for label in labels) >= 10, prefix


# --- the differences from upstream found in issue #13 -------------------------------------------------


def _one(entry: str, kind: str) -> dict:
    return copy.deepcopy(next(o for o in _registry.render(entry) if o["kind"] == kind))


def _helm_app() -> dict:
    return copy.deepcopy(next(o for o in _registry.render("10/platform-apps") if "helm" in o["spec"]["source"]))


def test_argo_helm_release_name_must_be_a_string() -> None:
    app = _helm_app()
    assert not _errors(app)
    app["spec"]["source"]["helm"]["releaseName"] = 42
    assert _errors(app) == ("spec.source.helm.releaseName: 42 is not of type 'string'",)


def test_argo_helm_rejects_unknown_keys_and_knows_upstreams() -> None:
    app = _helm_app()
    app["spec"]["source"]["helm"]["valueFile"] = ["values-prod.yaml"]  # upstream: valueFiles
    assert _errors(app) == ("spec.source.helm: Additional properties are not allowed ('valueFile' was unexpected)",)
    del app["spec"]["source"]["helm"]["valueFile"]
    app["spec"]["source"]["helm"].update(
        valueFiles=["values-prod.yaml"],
        values="replicas: 2\n",
        valuesObject={"grafana": {"enabled": False}},
        parameters=[{"name": "a", "value": "1", "forceString": True}],
        fileParameters=[{"name": "cert", "path": "files/cert.pem"}],
        passCredentials=False,
        ignoreMissingValueFiles=True,
        skipCrds=True,
        skipSchemaValidation=False,
        skipTests=True,
        version="v3",
        namespace="monitoring",
        apiVersions=["monitoring.coreos.com/v1/ServiceMonitor"],
        kubeVersion="1.34",
    )
    assert not _errors(app)
    app["spec"]["sources"] = [dict(app["spec"].pop("source"))]
    app["spec"]["sources"][0]["helm"]["skipCrds"] = "yes"
    assert _errors(app) == ("spec.sources[0].helm.skipCrds: 'yes' is not of type 'boolean'",)


@pytest.mark.parametrize(
    ("entry", "kind"), [("05/external-secrets", "SecretStore"), ("08/backup-credentials", "ClusterSecretStore")]
)
def test_secret_store_provider_holds_exactly_one_provider(entry: str, kind: str) -> None:
    store = _one(entry, kind)
    [only] = store["spec"]["provider"]
    two = copy.deepcopy(store)
    two["spec"]["provider"]["fake"] = {"data": []}
    assert _errors(two) == (f"spec.provider: has 2 field(s) (fake, {only}); at most 1 allowed",)
    store["spec"]["provider"] = {}
    assert _errors(store) == ("spec.provider: has 0 field(s) (none); at least 1 allowed",)


def test_cnpg_cluster_without_instances_is_accepted_but_zero_is_not() -> None:
    cluster = _one("08/production-db", "Cluster")
    del cluster["spec"]["instances"]
    assert not _errors(cluster)  # upstream defaults instances to 1
    cluster["spec"]["instances"] = 0
    assert _errors(cluster) == ("spec.instances: 0 is less than the minimum of 1",)


def test_cnpg_image_name_and_image_catalog_ref_are_mutually_exclusive() -> None:
    cluster = _one("08/production-db", "Cluster")
    ref = {"apiGroup": "postgresql.cnpg.io", "kind": "ClusterImageCatalog", "name": "postgresql", "major": 17}
    assert not _errors(_set(cluster, ("spec", "imageName"), "ghcr.io/cloudnative-pg/postgresql:17.5"))
    assert not _errors(_set(cluster, ("spec", "imageCatalogRef"), ref))
    cluster["spec"].update(imageName="ghcr.io/cloudnative-pg/postgresql:17.5", imageCatalogRef=ref)
    assert _errors(cluster) == ("spec: imageName and imageCatalogRef are mutually exclusive: set only one",)


def test_barman_object_store_data_accepts_restore_additional_command_args() -> None:
    store = _one("08/orders-db-plugin", "ObjectStore")
    store["spec"]["configuration"]["data"] = {"restoreAdditionalCommandArgs": ["--read-timeout=60"]}
    assert not _errors(store)
    store["spec"]["configuration"]["data"]["restoreAdditionalCommandArgs"] = "--read-timeout=60"
    assert _errors(store) == (
        "spec.configuration.data.restoreAdditionalCommandArgs: '--read-timeout=60' is not of type 'array'",
    )


EXPORTED_METADATA = {
    "uid": "5c9e1b8e-0b1e-4a8e-9f0e-3d2b1c0a9f8e",
    "resourceVersion": "123456",
    "generation": 3,
    "creationTimestamp": "2026-11-26T14:00:00Z",
    "deletionTimestamp": "2026-11-27T09:00:00Z",
    "deletionGracePeriodSeconds": 0,
    "selfLink": "/apis/example/v1/things/x",
    "finalizers": ["example.com/cleanup"],
    "generateName": "x-",
    "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1", "controller": True}],
    "managedFields": [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-11-26T14:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {}},
        }
    ],
}


@pytest.mark.parametrize(("name", "obj"), CUSTOM, ids=IDS)
def test_metadata_as_kubectl_get_exports_it_is_accepted(name: str, obj: dict) -> None:
    exported = copy.deepcopy(obj)
    exported["metadata"].update(copy.deepcopy(EXPORTED_METADATA))
    assert not _errors(exported), name
    exported["metadata"]["colour"] = "blue"
    assert _errors(exported) == ("metadata: Additional properties are not allowed ('colour' was unexpected)",)


def test_metadata_sub_objects_are_checked() -> None:
    policy = m.kyverno_disallow_root()
    policy["metadata"]["ownerReferences"] = [{"kind": "ConfigMap", "name": "owner"}]
    policy["metadata"]["deletionGracePeriodSeconds"] = "30"
    assert set(_errors(policy)) == {
        "metadata.deletionGracePeriodSeconds: '30' is not of type 'integer'",
        "metadata.ownerReferences[0]: 'apiVersion' is a required property",
        "metadata.ownerReferences[0]: 'uid' is a required property",
    }


@pytest.mark.parametrize(
    ("entry", "kind"), [("05/disallow-root", "ClusterPolicy"), ("08/backup-credentials", "ClusterSecretStore")]
)
def test_namespace_on_a_cluster_scoped_kind_is_accepted(entry: str, kind: str) -> None:
    obj = _one(entry, kind)
    assert "namespace" not in obj["metadata"]
    obj["metadata"]["namespace"] = "default"  # the API server clears it for cluster-scoped kinds
    assert not _errors(obj)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("spec", "endpoints", 0, "scheme"), "ftp"),
        (("spec", "endpoints", 0, "relabelings"), [{"action": "rename", "targetLabel": "x"}]),
        (("spec", "endpoints", 0, "metricRelabelings"), [{"action": "Delete"}]),
        (("spec", "scrapeProtocols"), ["PrometheusText0.0.4", "Protobuf"]),
        (("spec", "fallbackScrapeProtocol"), "Text"),
    ],
)
def test_service_monitor_enums(field: tuple, value: Any) -> None:
    monitor = _one("03/observability", "ServiceMonitor")
    [error] = _errors(_set(monitor, field, value))
    assert "is not one of" in error and error.startswith(_where(field))
    good = {"scheme": "HTTPS", "relabelings": [{"action": "labeldrop", "regex": "tmp_.*"}]}
    good |= {"metricRelabelings": [{"action": "Keep"}]}
    assert not _errors(_set(monitor, ("spec", "endpoints", 0), {**monitor["spec"]["endpoints"][0], **good}))
    assert not _errors(_set(monitor, ("spec", "scrapeProtocols"), ["PrometheusProto", "OpenMetricsText1.0.0"]))


def test_peer_authentication_port_level_mtls_needs_a_selector() -> None:
    pa = _one("04/checkout-mesh", "PeerAuthentication")
    pa["spec"]["portLevelMtls"] = {"8080": {"mode": "DISABLE"}}
    assert _errors(pa) == ("spec: 'selector' is a required property",)
    pa["spec"]["selector"] = {"matchLabels": {}}
    assert _errors(pa) == ("spec.selector.matchLabels: has 0 field(s) (none); at least 1 allowed",)
    pa["spec"]["selector"] = {"matchLabels": {"app": "checkout"}}
    assert not _errors(pa)
    pa["spec"]["portLevelMtls"] = {"70000": {"mode": "DISABLE"}}
    assert _errors(pa)[0].startswith("spec.portLevelMtls: '70000' does not match")
    pa["spec"]["portLevelMtls"] = {"8080": {"mode": "DISABLE"}}
    pa["spec"]["selector"] = {"matchLabels": {"app": "check*"}}
    assert _errors(pa)[0].startswith("spec.selector.matchLabels.app: 'check*' does not match")


@pytest.mark.parametrize(
    ("timeout", "ok"), [("10s", True), ("1.5s", True), ("250ms", True), ("1h30m", True), ("10", False), ("soon", False)]
)
def test_virtual_service_timeout_is_a_duration(timeout: str, ok: bool) -> None:
    vs = _one("04/checkout-mesh", "VirtualService")
    vs["spec"]["http"][0]["timeout"] = timeout
    errors = _errors(vs)
    assert (not errors) is ok
    if not ok:
        assert errors[0].startswith("spec.http[0].timeout: ")


@pytest.mark.parametrize(
    ("entry", "kind"),
    [("04/myapp-route", "IngressRoute"), ("04/api-rate-limit", "Middleware"), ("04/checkout-canary", "TraefikService")],
)
def test_traefik_kinds_have_no_status(entry: str, kind: str) -> None:
    obj = _one(entry, kind)
    obj["status"] = {}
    assert _errors(obj) == ("(top level): Additional properties are not allowed ('status' was unexpected)",)


def test_kinds_with_a_status_subresource_still_accept_status() -> None:
    cluster = _one("08/production-db", "Cluster")
    cluster["status"] = {"phase": "Cluster in healthy state"}
    assert not _errors(cluster)
