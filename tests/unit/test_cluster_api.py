"""Cluster against a small fake API server on 127.0.0.1: request shapes, results, Status errors.

The fake speaks just enough of the Kubernetes API (discovery, GET/PATCH/DELETE of a few kinds, events,
service proxy) to check what the real kubernetes client sends. Real API-server behaviour is covered by
tests/integration/test_cluster_apiserver.py once the control plane exists.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from course_lib.cluster import Cluster
from course_lib.cluster._lazy import load_kubernetes
from course_lib.config import Settings
from course_lib.errors import ClusterError, ConfigError

GROUPS = {
    "kind": "APIGroupList",
    "groups": [
        {
            "name": "apps",
            "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
        }
    ],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
CORE = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace", "verbs": VERBS},
        {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap", "verbs": VERBS},
        {"name": "services", "singularName": "service", "namespaced": True, "kind": "Service", "verbs": VERBS},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event", "verbs": VERBS},
    ],
}
APPS = {
    "kind": "APIResourceList",
    "groupVersion": "apps/v1",
    "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True, "kind": "Deployment", "verbs": VERBS}
    ],
}

CRDS = {
    "kind": "APIResourceList",
    "groupVersion": "apiextensions.k8s.io/v1",
    "resources": [
        {
            "name": "customresourcedefinitions",
            "singularName": "customresourcedefinition",
            "namespaced": False,
            "kind": "CustomResourceDefinition",
            "verbs": VERBS,
        }
    ],
}
GROUPS["groups"].append(  # type: ignore[attr-defined]
    {
        "name": "apiextensions.k8s.io",
        "versions": [{"groupVersion": "apiextensions.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apiextensions.k8s.io/v1", "version": "v1"},
    }
)


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
        **({"details": details} if details else {}),
    }


class FakeApi:
    """In-memory objects by path plus a log of every request."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.applied: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.rv = 100
        self.events: list[dict[str, Any]] = []
        self.watch_events: list[dict[str, Any]] = []


def make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def record(self) -> tuple[str, dict[str, list[str]], Any]:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            api.requests.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": parse_qs(url.query),
                    "content_type": self.headers.get("Content-Type"),
                    "body": body,
                }
            )
            return url.path, parse_qs(url.query), body

        def do_GET(self) -> None:
            path, query, _ = self.record()
            crds = [o for p, o in api.objects.items() if p.startswith("/apis/apiextensions.k8s.io/")]
            groups = GROUPS["groups"] + [
                {
                    "name": c["spec"]["group"],
                    "versions": [{"groupVersion": f"{c['spec']['group']}/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": f"{c['spec']['group']}/v1", "version": "v1"},
                }
                for c in crds
            ]
            fixed = {"/version": {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}}
            fixed |= {"/apis": {"kind": "APIGroupList", "groups": groups}, "/apis/apiextensions.k8s.io/v1": CRDS}
            fixed |= {"/api/v1": CORE, "/apis/apps/v1": APPS, "/api": {"kind": "APIVersions", "versions": ["v1"]}}
            for c in crds:
                names = c["spec"]["names"]
                fixed[f"/apis/{c['spec']['group']}/v1"] = {
                    "kind": "APIResourceList",
                    "groupVersion": f"{c['spec']['group']}/v1",
                    "resources": [
                        {
                            "name": names["plural"],
                            "singularName": names["singular"],
                            "namespaced": True,
                            "kind": names["kind"],
                            "verbs": VERBS,
                        }
                    ],
                }
            if path in fixed:
                return self.send(200, fixed[path])
            if query.get("watch", [""])[0].lower() == "true":  # stream the queued events, then end the watch
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                while api.watch_events:
                    event = api.watch_events.pop(0)
                    api.objects[path + "/" + event["object"]["metadata"]["name"]] = event["object"]
                    self.wfile.write(json.dumps(event).encode() + b"\n")
                    self.wfile.flush()
                return None
            if "/proxy" in path:
                if "/services/down:" in path:
                    return self.send(
                        503, status(503, "ServiceUnavailable", 'no endpoints available for service "down"')
                    )
                text = f"proxied {path} {query}"
                return self.send(200, text.encode(), "text/plain")
            if path.endswith("/events"):
                return self.send(200, {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": api.events})
            if path in api.objects:
                return self.send(200, api.objects[path])
            name = path.rsplit("/", 1)[-1]
            return self.send(404, status(404, "NotFound", f'"{name}" not found', name=name))

        def do_PATCH(self) -> None:
            path, query, body = self.record()
            name = body["metadata"]["name"]
            if name == "bad":
                causes = [{"reason": "FieldValueInvalid", "message": "Invalid value: -1", "field": "spec.replicas"}]
                return self.send(
                    422,
                    status(
                        422,
                        "Invalid",
                        'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1',
                        causes=causes,
                    ),
                )
            if name == "owned" and query.get("force") != ["true"]:
                return self.send(409, status(409, "Conflict", 'Apply failed with 1 conflict: conflict with "kubectl"'))
            existing = api.objects.get(path)
            dry = query.get("dryRun") == ["All"]
            obj = json.loads(json.dumps(body))
            if existing is None:
                code = 201
                api.rv += 1
                obj["metadata"]["resourceVersion"] = str(api.rv)
            elif api.applied.get(path) == body:
                code, obj = 200, existing
            else:
                code = 200
                api.rv += 1
                obj["metadata"]["resourceVersion"] = str(api.rv)
            if path.startswith("/apis/apiextensions.k8s.io/"):  # the server marks CRDs Established
                obj["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
            if not dry:
                api.objects[path] = obj
                api.applied[path] = body
            return self.send(code, obj)

        def do_DELETE(self) -> None:
            path, _, _ = self.record()
            if api.objects.pop(path, None) is None:
                return self.send(404, status(404, "NotFound", "not found"))
            return self.send(200, status(200, "", "deleted") | {"status": "Success"})

    return Handler


@pytest.fixture()
def fake(tmp_path: Any) -> Iterator[tuple[FakeApi, Cluster]]:
    load_kubernetes()
    from kubernetes import client

    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    config = client.Configuration()
    config.host = f"http://127.0.0.1:{server.server_address[1]}"
    cluster = Cluster(
        target="kubeconfig",
        settings=Settings(target="kubeconfig", run_id="abc123"),
        api_client=client.ApiClient(config),
        cache_file=str(tmp_path / "discovery.json"),
    )
    try:
        yield api, cluster
    finally:
        cluster.close()
        server.shutdown()
        server.server_close()


MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {color: blue}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
"""


def patches(api: FakeApi) -> list[dict[str, Any]]:
    return [r for r in api.requests if r["method"] == "PATCH"]


def test_apply_sends_server_side_apply_in_order_with_labels(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    report = cluster.apply(MANIFESTS, namespace="other", field_manager="course-test")
    sent = patches(api)
    assert [r["path"] for r in sent] == [
        "/api/v1/namespaces/shop",
        "/api/v1/namespaces/other/configmaps/web-config",  # no namespace of its own: the default given
        "/apis/apps/v1/namespaces/shop/deployments/web",  # its own namespace wins over namespace=
    ]
    for r in sent:
        assert r["content_type"] == "application/apply-patch+yaml"
        assert r["query"]["fieldManager"] == ["course-test"]
        assert "force" not in r["query"]
        assert r["body"]["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "course-lib",
            "course-lib/run-id": "abc123",
        }
    assert "namespace" not in sent[0]["body"]["metadata"]  # Namespace is cluster-scoped
    assert report.actions == ["created", "created", "created"]
    assert not report.dry_run
    assert report[2].resource_version is not None


def test_apply_reports_unchanged_then_configured(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    cluster.apply(MANIFESTS)
    assert cluster.apply(MANIFESTS).actions == ["unchanged", "unchanged", "unchanged"]
    changed = MANIFESTS.replace("replicas: 2", "replicas: 3")
    report = cluster.apply(changed)
    assert report.actions == ["unchanged", "unchanged", "configured"]
    assert "-  replicas: 2" in report[2].diff and "+  replicas: 3" in report[2].diff


def test_force_is_sent_and_conflict_is_explained(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    owned = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned", "namespace": "shop"}}
    with pytest.raises(ClusterError) as info:
        cluster.apply(owned)
    err = info.value
    assert err.context["reason"] == "Conflict" and err.context["code"] == 409
    assert 'conflict with "kubectl"' in err.message and "ConfigMap/owned -n shop" in err.message
    assert "force=True" in err.hint
    assert cluster.apply(owned, force=True).actions == ["created"]
    assert patches(api)[-1]["query"]["force"] == ["true"]


def test_invalid_status_is_parsed_with_causes(fake: tuple[FakeApi, Cluster]) -> None:
    _, cluster = fake
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad", "namespace": "shop"}}
    with pytest.raises(ClusterError) as info:
        cluster.apply(bad)
    assert info.value.context == {"reason": "Invalid", "code": 422}
    assert "spec.replicas: Invalid value: -1" in str(info.value)
    assert "fix the manifest" in info.value.hint


def test_unknown_kind_fails_before_any_change(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    docs = MANIFESTS + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"
    with pytest.raises(ClusterError, match="does not know Widget"):
        cluster.apply(docs)
    assert patches(api) == []


def test_server_side_dry_run_stores_nothing(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    report = cluster.apply(MANIFESTS, dry_run=True)
    assert report.dry_run and report.actions == ["created"] * 3
    assert all(r["query"]["dryRun"] == ["All"] for r in patches(api))
    assert api.objects == {}
    assert "DRY RUN" in repr(report)


def test_delete_reverse_order_tolerates_missing(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    cluster.apply(MANIFESTS)
    del api.objects["/api/v1/namespaces/default/configmaps/web-config"]
    report = cluster.delete(MANIFESTS)
    assert [r.kind for r in report] == ["Deployment", "ConfigMap", "Namespace"]
    assert report.actions == ["deleted", "not found", "deleted"]
    assert [r["path"] for r in api.requests if r["method"] == "DELETE"][0].endswith("/deployments/web")


def test_http_get_uses_service_proxy(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    resp = cluster.http_get("prometheus", "/api/v1/query", namespace="monitoring", port=9090, params={"query": "up"})
    assert resp.ok
    assert resp.text.startswith("proxied /api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query")
    assert api.requests[-1]["query"] == {"query": ["up"]}
    with pytest.raises(ClusterError) as info:
        cluster.http_get("down", "/", namespace="monitoring", port=80)
    assert info.value.context["reason"] == "ServiceUnavailable"
    assert "no endpoints available" in info.value.message


def test_get_raw_reads_a_server_path_and_refuses_a_relative_one(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    assert cluster.get_raw("/version").json()["gitVersion"] == "v1.33.0"
    assert api.requests[-1]["path"] == "/version"
    with pytest.raises(ConfigError, match="bad API path 'version'"):
        cluster.get_raw("version")


def deployment(generation: int, observed: int, updated: int, available: int, conditions: list[Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation, "resourceVersion": "7"},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": observed,
            "replicas": 2,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "conditions": conditions,
        },
    }


def test_rollout_status_complete(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    api.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = deployment(3, 3, 2, 2, [])
    result = cluster.rollout_status("web", namespace="shop", timeout=5, progress=False)
    assert result.condition == "rollout complete (2/2)"
    assert not result.dry_run


def test_rollout_status_follows_the_watch(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    api.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = deployment(4, 3, 1, 1, [])
    api.watch_events = [
        {"type": "MODIFIED", "object": deployment(4, 4, 1, 1, [])},  # seen, old pods still there
        {"type": "MODIFIED", "object": deployment(4, 4, 2, 2, [])},  # all updated and available
    ]
    result = cluster.rollout_status("web", namespace="shop", timeout=10, progress=True)
    assert result.condition == "rollout complete (2/2)"
    assert result.object["status"]["observedGeneration"] == 4
    watches = [r for r in api.requests if r["query"].get("watch")]
    assert watches and watches[0]["query"]["fieldSelector"] == ["metadata.name=web"]
    assert watches[0]["query"]["resourceVersion"] == ["7"]


def test_rollout_times_out_with_describe(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    api.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = deployment(2, 2, 1, 1, [])
    with pytest.raises(ClusterError) as info:
        cluster.rollout_status("web", namespace="shop", timeout=1.5, progress=False)
    assert "timed out after 1.5s" in info.value.message and "Deployment/web -n shop" in info.value.message
    assert info.value.context["timeout"] == 1.5


def test_rollout_failure_fails_fast_with_describe(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    stuck = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-5d" has timed out progressing.',
    }
    api.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = deployment(3, 3, 1, 0, [stuck])
    api.events = [
        {
            "metadata": {"name": "web.1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-5d-x"},
            "reason": "Failed",
            "message": 'Failed to pull image "shop/web:nope"',
            "type": "Warning",
            "lastTimestamp": "2026-01-01T10:00:00Z",
            "count": 3,
        }
    ]
    with pytest.raises(ClusterError) as info:
        cluster.rollout_status("web", namespace="shop", timeout=30, progress=False)
    text = str(info.value)
    assert "ProgressDeadlineExceeded" in text
    assert "condition Progressing=False" in text
    assert 'Failed to pull image "shop/web:nope"' in text


def test_wait_raise_for_conditions(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    failed = {"type": "Available", "status": "False"}
    api.objects["/apis/apps/v1/namespaces/shop/deployments/web"] = deployment(
        1, 1, 2, 2, [failed, {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"}]
    )
    with pytest.raises(ClusterError, match="failure condition ReplicaFailure: FailedCreate quota"):
        cluster.wait(
            "Deployment",
            "web",
            namespace="shop",
            for_conditions=["Available"],
            raise_for_conditions=["ReplicaFailure"],
            timeout=5,
            progress=False,
        )


def test_events_frame(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    api.events = [
        {
            "metadata": {"name": f"e{i}", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": reason,
            "message": "m",
            "type": "Normal",
            "lastTimestamp": ts,
        }
        for i, (reason, ts) in enumerate([("Started", "2026-01-01T10:00:05Z"), ("Pulled", "2026-01-01T10:00:01Z")])
    ]
    frame = cluster.events("shop")
    assert list(frame.columns) == ["time", "type", "reason", "object", "message", "count"]
    assert list(frame["reason"]) == ["Pulled", "Started"]
    assert str(frame["time"].dt.tz) == "UTC"


def test_unreachable_server_gives_cluster_error(tmp_path: Any) -> None:
    import socket

    load_kubernetes()
    from kubernetes import client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = client.Configuration()
    config.host = f"http://127.0.0.1:{port}"
    config.retries = 0
    cluster = Cluster(target="kubeconfig", api_client=client.ApiClient(config), cache_file=str(tmp_path / "d.json"))
    with pytest.raises(ClusterError, match="kubectl cluster-info"):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}}


def test_crd_then_custom_resource_refreshes_discovery(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    report = cluster.apply([WIDGET, CRD])
    assert [(r.kind, r.action) for r in report] == [("CustomResourceDefinition", "created"), ("Widget", "created")]
    assert patches(api)[-1]["path"] == "/apis/example.com/v1/namespaces/shop/widgets/w"
    gets = [r["path"] for r in api.requests if r["method"] == "GET"]
    assert "/apis/example.com/v1" in gets  # discovery was refreshed after the CRD went in


def test_server_dry_run_with_new_crd_explains(fake: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake
    report = cluster.apply([WIDGET, CRD], dry_run=True)
    assert report.actions == ["created", "created"] and report.dry_run
    assert any("its CRD is new" in n for n in report.notes)
    assert [r["path"] for r in patches(api)] == [
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    ]
    assert api.objects == {}
