"""The DigitalOcean path against recorded-shape HTTP responses (``responses``; pydo rides on requests).

Fixtures are samples of the responses in DigitalOcean's API reference: ``{"kubernetes_cluster": {...}}``, paginated
lists with ``links.pages.next`` and ``meta.total``, error bodies ``{"id", "message", "request_id"}`` with an
``x-request-id`` header, the kubeconfig as ``application/yaml``. The ``rsps`` fixture holds every reply a test registers
or is served to the schemas in ``do_schemas.py`` (no field the reference does not define, none it requires missing).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from responses import matchers

from course_lib.errors import ConfigError, CostLimitError, ProvisionError
from course_lib.provision import (
    ClusterSpec,
    DOApi,
    create_cluster,
    delete_cluster,
    find_leftovers,
    get_options,
    kubeconfig,
    plan_requests,
)
from course_lib.provision._cli import provision as provision_cli
from course_lib.provision._options import data_dir

from . import do_schemas

API = "https://api.digitalocean.com"
TOKEN = "dop_v1_" + "0123456789abcdef" * 4
CID = "bd5f5959-5e1e-4205-a714-a914373942af"
GONE_CID = "0c3d1b8e-1111-4222-8333-944455556666"
FOREIGN_CID = "7a0e2b1c-55d4-4f3e-9c61-2b8f0d9e4a17"
POOL_ID = "cdda885e-7663-40c8-bc74-3a036c66545d"
VPC_ID = "c33931f2-a26a-4e61-b85c-4e95a2ec431b"
NODE_DROPLETS = (512340000, 512340001)  # the Droplets of the running cluster's two nodes
# DOKS names: a Service's load balancer is "a" + its UID without dashes (32 characters); PVC volumes are pvc-<uuid>
LB_GONE = "4de7ac8b-495b-4884-9a69-1050c6793cd6"
LB_LIVE = "8f1c2a3b-6d7e-4f80-9a1b-2c3d4e5f6a7b"
LB_OTHER = "1e2d3c4b-5a69-4788-8796-a5b4c3d2e1f0"
VOL_GONE = "506f78a4-e098-11e5-ad9f-000f53306ae1"
VOL_COURSE = "506f78a4-e098-11e5-ad9f-000f53305eb2"
SNAP_GONE = "fbe805e8-866b-11e6-96bf-000f53315a41"
SPEC = ClusterSpec.single_pool("course-ada", region="nyc1", size="s-2vcpu-4gb", count=2)
KUBECONFIG_YAML = f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi...
    server: https://{CID}.k8s.ondigitalocean.com
  name: do-nyc1-course-ada
contexts:
- context:
    cluster: do-nyc1-course-ada
    user: do-nyc1-course-ada-admin
  name: do-nyc1-course-ada
current-context: do-nyc1-course-ada
users:
- name: do-nyc1-course-ada-admin
  user:
    token: doks-cluster-token-not-the-api-token
"""


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 1.0)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(fake_time: FakeTime) -> DOApi:
    return DOApi(retry_total=0, poll_interval=10, sleep=fake_time.sleep, clock=fake_time.clock)


def check_fixtures(mock: responses.RequestsMock) -> int:
    """Hold every reply ``mock`` has registered or served to the API reference; return how many were checked."""
    from urllib.parse import urlsplit

    checked = 0
    for reg in mock.registered():
        if isinstance(reg, responses.Response) and not isinstance(reg.body, BaseException):
            path = urlsplit(str(reg.url)).path
            body = reg.body.encode() if isinstance(reg.body, str) else bytes(reg.body or b"")
            do_schemas.check_reply(reg.method, path, reg.status, str(reg.content_type or ""), body)
            checked += 1
    for call in mock.calls:
        reply = call.response
        if hasattr(reply, "status_code"):
            path = urlsplit(call.request.url).path
            kind = reply.headers.get("Content-Type", "")
            content = reply.__dict__.get("_content")  # False once a streamed body was read
            body = content if isinstance(content, bytes) else None
            do_schemas.check_reply(call.request.method, path, reply.status_code, kind, body)
            checked += 1
    return checked


@pytest.fixture
def raw_rsps():  # type: ignore[no-untyped-def]
    """Replies that are deliberately not the API's (a proxy's HTML, broken JSON, a timeout)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def rsps():  # type: ignore[no-untyped-def]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
        check_fixtures(mock)


def region(slug: str = "nyc1") -> dict:
    """A full region object, as load balancers, volumes and Droplets embed it."""
    names = {"nyc1": "New York 1", "nyc3": "New York 3", "fra1": "Frankfurt 1"}
    return {
        "name": names[slug],
        "slug": slug,
        "features": ["private_networking", "backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": True,
        "sizes": [s["slug"] for s in SIZES],
    }


def load_balancer(lb_id: str, name: str, *, droplet_ids: tuple[int, ...] = (), tag: str = "") -> dict:
    """A load balancer as GET /v2/load_balancers lists it (what the CCM makes for a TCP Service on port 80)."""
    return {
        "id": lb_id,
        "name": name,
        "project_id": "14d3f2a6-9b8e-4c1d-a7f5-3e2b1c0d9a8f",
        "ip": "104.131.186.241",
        "ipv6": "",
        "size_unit": 1,
        "size": "lb-small",
        "algorithm": "round_robin",
        "status": "active",
        "created_at": "2026-11-26T07:20:00Z",
        "forwarding_rules": [
            {
                "entry_protocol": "tcp",
                "entry_port": 80,
                "target_protocol": "tcp",
                "target_port": 31080,
                "certificate_id": "",
                "tls_passthrough": False,
            }
        ],
        "health_check": {
            "protocol": "tcp",
            "port": 31080,
            "path": "",
            "check_interval_seconds": 3,
            "response_timeout_seconds": 5,
            "unhealthy_threshold": 3,
            "healthy_threshold": 5,
        },
        "sticky_sessions": {"type": "none"},
        "redirect_http_to_https": False,
        "enable_proxy_protocol": False,
        "enable_backend_keepalive": False,
        "http_idle_timeout_seconds": 60,
        "vpc_uuid": VPC_ID,
        "disable_lets_encrypt_dns_records": False,
        "firewall": {"deny": [], "allow": []},
        "network": "EXTERNAL",
        "network_stack": "IPV4",
        "type": "REGIONAL",
        "tls_cipher_policy": "DEFAULT",
        "region": region(),
        "droplet_ids": list(droplet_ids),
        "tag": tag,
    }


def volume(vol_id: str, name: str, *, size: int, tags: list[str], droplet_ids: tuple[int, ...] = ()) -> dict:
    return {
        "id": vol_id,
        "region": region(),
        "droplet_ids": list(droplet_ids),
        "name": name,
        "description": "",
        "size_gigabytes": size,
        "created_at": "2026-11-26T07:30:00Z",
        "filesystem_type": "ext4",
        "filesystem_label": "",
        "tags": tags,
    }


def snapshot(snap_id: str, name: str, *, size: float, resource_id: str, tags: list[str] | None) -> dict:
    """A volume snapshot as GET /v2/snapshots lists it."""
    return {
        "id": snap_id,
        "name": name,
        "created_at": "2026-11-26T08:00:00Z",
        "regions": ["nyc1"],
        "resource_id": resource_id,
        "resource_type": "volume",
        "min_disk_size": 10,
        "size_gigabytes": size,
        "tags": tags,
    }


def droplet(droplet_id: int, name: str, *, size: str, tags: list[str]) -> dict:
    spec = next(s for s in SIZES if s["slug"] == size)
    return {
        "id": droplet_id,
        "name": name,
        "memory": spec["memory"],
        "vcpus": spec["vcpus"],
        "disk": spec["disk"],
        "locked": False,
        "status": "active",
        "created_at": "2026-11-26T07:01:00Z",
        "features": ["monitoring", "private_networking"],
        "backup_ids": [],
        "next_backup_window": None,
        "snapshot_ids": [],
        "image": {
            "id": 170910130,
            "name": "1.34.1-do.0 debian-12",
            "type": "base",
            "distribution": "Debian",
            "slug": None,
            "public": True,
            "regions": ["nyc1"],
            "created_at": "2026-11-20T00:00:00Z",
            "min_disk_size": 20,
            "size_gigabytes": 2.4,
            "description": "",
            "tags": [],
            "status": "available",
            "error_message": "",
        },
        "volume_ids": [],
        "size": spec,
        "size_slug": size,
        "networks": {
            "v4": [
                {"ip_address": "10.116.0.2", "netmask": "255.255.240.0", "gateway": "", "type": "private"},
                {
                    "ip_address": "159.203.68.11",
                    "netmask": "255.255.240.0",
                    "gateway": "159.203.64.1",
                    "type": "public",
                },
            ],
            "v6": [],
        },
        "region": region(),
        "tags": tags,
        "vpc_uuid": VPC_ID,
    }


def associated(lbs: tuple[dict, ...] = (), vols: tuple[dict, ...] = (), snaps: tuple[dict, ...] = ()) -> dict:
    """GET /v2/kubernetes/clusters/{id}/destroy_with_associated_resources: the resources' ids and names."""

    def entries(items: tuple[dict, ...]) -> list[dict]:
        return [{"id": i["id"], "name": i["name"]} for i in items]

    return {"load_balancers": entries(lbs), "volumes": entries(vols), "volume_snapshots": entries(snaps)}


SIZES = json.loads((data_dir() / "sizes.json").read_text())["sizes"]


def cluster_json(
    state: str,
    *,
    cid: str = CID,
    name: str = "course-ada",
    running: int = 0,
    tags: Any = None,
    droplets: tuple[int, ...] = NODE_DROPLETS,
) -> dict:
    nodes = [
        {
            "id": f"e78247f8-b1bb-4f7a-8db9-2a5f8d4b8f{i:02d}",
            "name": f"worker-pool-{i}",
            "status": {"state": "running" if i < running else "provisioning"},
            "droplet_id": str(droplets[i]),
            "created_at": "2026-11-26T07:01:00Z",
            "updated_at": "2026-11-26T07:05:00Z",
        }
        for i in range(2)
    ]
    return {
        "id": cid,
        "name": name,
        "region": "nyc1",
        "version": "1.34.1-do.0",
        "cluster_subnet": "10.244.0.0/16",
        "service_subnet": "10.245.0.0/16",
        "vpc_uuid": VPC_ID,
        "endpoint": f"https://{cid}.k8s.ondigitalocean.com",
        "tags": list(tags if tags is not None else ["k8s", f"k8s:{cid}", "k8s-course"]),
        "node_pools": [
            {
                "id": POOL_ID,
                "name": "worker-pool",
                "size": "s-2vcpu-4gb",
                "count": 2,
                "tags": ["k8s", f"k8s:{cid}", "k8s-worker", "k8s-course"],
                "auto_scale": False,
                "min_nodes": 0,
                "max_nodes": 0,
                "nodes": nodes,
            }
        ],
        "auto_upgrade": False,
        "surge_upgrade": True,
        "ha": False,
        "status": {"state": state, "message": f"cluster is {state}"},
        "created_at": "2026-11-26T07:00:00Z",
        "updated_at": "2026-11-26T07:05:00Z",
    }


def page(key: str, items: list[dict], *, next_page: int | None = None) -> dict:
    links: dict[str, Any] = {}
    if next_page:
        links = {
            "pages": {
                "next": f"{API}/v2/{key}?page={next_page}&per_page=200",
                "last": f"{API}/v2/{key}?page=9&per_page=200",
            }
        }
    return {key: items, "links": links, "meta": {"total": len(items)}}


def error(status: int, do_id: str, message: str, *, request_id: str = "req-123", **headers: str) -> dict:
    return {
        "status": status,
        "json": {"id": do_id, "message": message, "request_id": request_id},
        "headers": {"x-request-id": request_id, **headers},
    }


def add_options(rsps: responses.RequestsMock) -> None:
    options = json.loads((data_dir() / "options.json").read_text())
    rsps.get(f"{API}/v2/kubernetes/options", json={"options": options["options"]})
    rsps.get(f"{API}/v2/sizes", json=page("sizes", SIZES))


# --- create → running → kubeconfig → delete → leftovers, and the token never shows ---------------------------------


def test_full_lifecycle_never_shows_the_token(
    rsps: responses.RequestsMock,
    api: DOApi,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    add_options(rsps)
    clusters_url = f"{API}/v2/kubernetes/clusters"
    rsps.get(clusters_url, json=page("kubernetes_clusters", []))
    rsps.post(clusters_url, status=201, json={"kubernetes_cluster": cluster_json("provisioning")})
    rsps.get(f"{clusters_url}/{CID}", json={"kubernetes_cluster": cluster_json("provisioning", running=1)})
    rsps.get(f"{clusters_url}/{CID}", json={"kubernetes_cluster": cluster_json("running", running=2)})
    rsps.get(f"{clusters_url}/{CID}/kubeconfig", body=KUBECONFIG_YAML, content_type="application/yaml")

    info = create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, api=api, progress=True)
    assert (info.id, info.state, info.nodes_running, info.reused) == (CID, "running", 2, False)
    assert info.nodes_table().to_dict("records")[0] == {
        "pool": "worker-pool",
        "node": "worker-pool-0",
        "state": "running",
    }
    post = next(c for c in rsps.calls if c.request.method == "POST")
    assert json.loads(post.request.body) == SPEC.to_body() == plan_requests(SPEC).post_body()
    assert post.request.headers["Authorization"] == f"Bearer {TOKEN}"  # the token is used, only in the header

    path = tmp_path / "kube" / "config.yaml"
    kc = kubeconfig(info.id, path, api=api)
    assert kc.context == "do-nyc1-course-ada" and path.read_text() == KUBECONFIG_YAML
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # delete: 204, then the cluster answers 404
    rsps.replace(responses.GET, clusters_url, json=page("kubernetes_clusters", [cluster_json("running", running=2)]))
    rsps.get(
        f"{clusters_url}/{CID}/destroy_with_associated_resources",
        json={"load_balancers": [{"id": LB_LIVE, "name": "argocd-lb"}], "volumes": [], "volume_snapshots": []},
    )
    destroy = rsps.delete(f"{clusters_url}/{CID}/destroy_with_associated_resources/dangerous", status=204)
    rsps.replace(responses.GET, f"{clusters_url}/{CID}", **error(404, "not_found", "The resource was not found."))
    result = delete_cluster(info, confirm=True, api=api)
    assert result.gone and result.cluster_id == CID and destroy.call_count == 1
    assert dict(result.associated)["load_balancers"] == ("argocd-lb",)

    # leftovers: nothing tagged for the course remains
    rsps.replace(responses.GET, clusters_url, json=page("kubernetes_clusters", []))
    for key in ("load_balancers", "volumes", "snapshots", "droplets"):
        rsps.get(f"{API}/v2/{key}", json=page(key, []))
    report = find_leftovers(api=api)
    assert report.items == () and report.dry_run

    out = capsys.readouterr()
    texts = [out.out, out.err, caplog.text, repr(info), repr(kc), repr(result), repr(report), str(report.table())]
    texts += [c.request.url for c in rsps.calls]
    assert not any(TOKEN in t for t in texts)


def test_create_reuses_course_cluster_instead_of_twin(rsps: responses.RequestsMock, api: DOApi) -> None:
    add_options(rsps)
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [cluster_json("running", running=2)]))
    post = rsps.post(f"{API}/v2/kubernetes/clusters", status=201, json={})
    info = create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, api=api)
    assert info.reused and info.state == "running" and post.call_count == 0


def test_create_refuses_foreign_cluster_with_same_name(rsps: responses.RequestsMock, api: DOApi) -> None:
    add_options(rsps)
    foreign = cluster_json("running", tags=["k8s", f"k8s:{CID}"])
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [foreign]))
    with pytest.raises(ProvisionError, match="not created by the course"):
        create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, api=api)
    assert not any(c.request.method == "POST" for c in rsps.calls)


def test_create_waits_with_one_deadline(rsps: responses.RequestsMock, api: DOApi, fake_time: FakeTime) -> None:
    add_options(rsps)
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", []))
    rsps.post(f"{API}/v2/kubernetes/clusters", status=201, json={"kubernetes_cluster": cluster_json("provisioning")})
    rsps.get(f"{API}/v2/kubernetes/clusters/{CID}", json={"kubernetes_cluster": cluster_json("provisioning")})
    with pytest.raises(ProvisionError, match="not running before the deadline") as info:
        create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, timeout=35, api=api, progress=False)
    assert "delete_cluster" in info.value.hint
    assert fake_time.now == pytest.approx(35) and fake_time.sleeps == [10, 10, 10, 5]


def test_create_post_503_looks_again_before_resending(rsps: responses.RequestsMock, api: DOApi) -> None:
    """A 5xx on the POST may still have created the cluster: look by name first, never POST a twin."""
    add_options(rsps)
    url = f"{API}/v2/kubernetes/clusters"
    rsps.get(url, json=page("kubernetes_clusters", []))
    rsps.get(url, json=page("kubernetes_clusters", [cluster_json("running", running=2)]))
    post = rsps.post(url, **error(503, "service_unavailable", "Please try again.", **{"Retry-After": "3"}))
    info = create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, api=api)
    assert info.reused and post.call_count == 1
    assert api.sleep.__self__.sleeps == [3.0]  # type: ignore[attr-defined]  # honoured Retry-After


def test_create_422_is_not_retried(rsps: responses.RequestsMock, api: DOApi) -> None:
    add_options(rsps)
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", []))
    post = rsps.post(
        f"{API}/v2/kubernetes/clusters",
        **error(422, "unprocessable_entity", "name is already in use", request_id="r-9"),
    )
    with pytest.raises(ProvisionError, match="name is already in use") as info:
        create_cluster(SPEC, confirm=True, max_hourly_cost=1.0, api=api)
    assert info.value.context["status"] == 422 and info.value.context["request_id"] == "r-9"
    assert post.call_count == 1


# --- nothing is sent for invalid input -------------------------------------------------------------------------------


def test_invalid_input_sends_no_request(rsps: responses.RequestsMock, api: DOApi) -> None:
    with pytest.raises(ConfigError):
        ClusterSpec.single_pool("Bad_Name")
    with pytest.raises(ConfigError, match="confirm=True"):
        create_cluster(SPEC, confirm=False, api=api)
    with pytest.raises(ConfigError, match="confirm=True"):
        delete_cluster("course-ada", api=api)
    with pytest.raises(ConfigError, match="expiry_seconds"):
        kubeconfig(CID, "/tmp/never-written.yaml", expiry_seconds=0, api=api)
    assert len(rsps.calls) == 0
    assert not Path("/tmp/never-written.yaml").exists()


def test_missing_token_is_a_config_error(monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock) -> None:
    monkeypatch.delenv("DIGITALOCEAN_TOKEN")
    with pytest.raises(ConfigError, match="DIGITALOCEAN_TOKEN is not set"):
        create_cluster(SPEC, confirm=True)
    assert len(rsps.calls) == 0


def test_catalog_and_cost_errors_send_no_write(rsps: responses.RequestsMock, api: DOApi) -> None:
    add_options(rsps)
    with pytest.raises(ConfigError, match="not a DOKS node size"):
        create_cluster(ClusterSpec.single_pool("course-ada", size="s-9vcpu-1gb"), confirm=True, api=api)
    with pytest.raises(CostLimitError, match="above the limit"):
        create_cluster(ClusterSpec.single_pool("course-ada", size="s-8vcpu-16gb", count=5), confirm=True, api=api)
    assert {c.request.method for c in rsps.calls} == {"GET"}
    assert all("/kubernetes/clusters" not in c.request.url for c in rsps.calls)


def test_live_options_used_with_token(rsps: responses.RequestsMock) -> None:
    add_options(rsps)
    opts = get_options()
    assert opts.source == "live" and "s-2vcpu-4gb" in opts.size_slugs and "nyc1" in opts.region_slugs


# --- errors ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "do_id", "message", "hint_word"),
    [
        (401, "unauthorized", "Unable to authenticate you", "API → Tokens"),
        (403, "forbidden", "You do not have access for the attempted action.", "scopes"),
        (422, "unprocessable_entity", "invalid per_page", "rejected"),
        (429, "too_many_requests", "API Rate limit exceeded.", "rate limited"),
        (500, "server_error", "Unexpected server-side error", "status.digitalocean.com"),
        (503, "service_unavailable", "Try again later", "status.digitalocean.com"),
    ],
)
def test_http_errors_become_provision_errors(
    rsps: responses.RequestsMock, api: DOApi, status: int, do_id: str, message: str, hint_word: str
) -> None:
    rsps.get(f"{API}/v2/kubernetes/clusters", **error(status, do_id, message, request_id=f"rid-{status}"))
    with pytest.raises(ProvisionError) as info:
        api.list_clusters()
    err = info.value
    assert message in str(err) and do_id in str(err) and hint_word in err.hint
    assert err.context["status"] == status and err.context["request_id"] == f"rid-{status}"
    assert err.__cause__ is None and err.__suppress_context__
    assert TOKEN not in str(err) and TOKEN not in repr(err.__reduce__())
    assert len(rsps.calls) == 1  # retry_total=0: no retries


def test_404_body_from_pydo_is_an_error(rsps: responses.RequestsMock, api: DOApi) -> None:
    """pydo returns (not raises) 404 bodies for get_cluster; we still raise."""
    rsps.get(f"{API}/v2/kubernetes/clusters/{CID}", **error(404, "not_found", "The resource was not found."))
    with pytest.raises(ProvisionError, match="not_found") as info:
        api.get_cluster(CID)
    assert info.value.context["status"] == 404


def test_timeout_becomes_provision_error(raw_rsps: responses.RequestsMock, api: DOApi) -> None:
    import requests

    raw_rsps.get(f"{API}/v2/kubernetes/clusters", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ProvisionError, match="could not reach DigitalOcean") as info:
        api.list_clusters()
    assert "network" in info.value.hint


def test_reads_retry_429_honouring_retry_after(rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.core.pipeline.transport._base import HttpTransport

    slept: list[float] = []
    monkeypatch.setattr(HttpTransport, "sleep", lambda self, d: slept.append(d))
    url = f"{API}/v2/kubernetes/clusters"
    rsps.get(url, **error(429, "too_many_requests", "API Rate limit exceeded.", **{"Retry-After": "7"}))
    rsps.get(url, **error(502, "bad_gateway", "bad gateway"))
    rsps.get(url, json=page("kubernetes_clusters", [cluster_json("running")]))
    api = DOApi(retry_total=3, retry_backoff_factor=0.01)
    assert [c["id"] for c in api.list_clusters()] == [CID]
    assert len(rsps.calls) == 3 and slept[0] == 7.0


# --- kubeconfig, pagination, leftovers ------------------------------------------------------------------------------


def test_kubeconfig_expiry_and_existing_file_permissions(
    rsps: responses.RequestsMock, api: DOApi, tmp_path: Path
) -> None:
    kc_url = f"{API}/v2/kubernetes/clusters/{CID}/kubeconfig"
    rsps.get(
        kc_url,
        body=KUBECONFIG_YAML,
        content_type="application/yaml",
        match=[matchers.query_param_matcher({"expiry_seconds": "3600"})],
    )
    path = tmp_path / "kc.yaml"
    path.write_text("old")
    path.chmod(0o644)
    kc = kubeconfig(CID, path, expiry_seconds=3600, api=api)
    assert kc.expiry_seconds == 3600 and stat.S_IMODE(path.stat().st_mode) == 0o600
    rsps.replace(responses.GET, kc_url, **error(404, "not_found", "cluster not found"))
    with pytest.raises(ProvisionError, match="kubeconfig"):
        kubeconfig(CID, tmp_path / "other.yaml", api=api)


def test_pagination_follows_links_next(rsps: responses.RequestsMock, api: DOApi) -> None:
    url = f"{API}/v2/load_balancers"
    rsps.get(
        url,
        json=page("load_balancers", [load_balancer(LB_GONE, "a1")], next_page=2),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "1"})],
    )
    rsps.get(
        url,
        json=page("load_balancers", [load_balancer(LB_LIVE, "a2")], next_page=3),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "2"})],
    )
    rsps.get(
        url,
        json=page("load_balancers", [load_balancer(LB_OTHER, "a3")]),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "3"})],
    )
    items = api.paged("list load balancers", api.client.load_balancers.list, "load_balancers")
    assert [i["id"] for i in items] == [LB_GONE, LB_LIVE, LB_OTHER]


def doks_lb_name(service_uid: str) -> str:
    """The name DOKS gives a Service's load balancer: "a" + the Service UID without dashes, cut to 32 characters."""
    return ("a" + service_uid.replace("-", ""))[:32]


def _leftover_world(rsps: responses.RequestsMock) -> None:
    running = cluster_json("running", running=2)
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [running]))
    rsps.get(f"{API}/v2/kubernetes/clusters/{CID}/destroy_with_associated_resources", json=associated())
    lbs = [
        # its cluster was deleted, and its nodes with it: named by DOKS, balancing no Droplet
        load_balancer(LB_GONE, doks_lb_name("9f2b7c1e-0d3a-4e5b-8c6d-7e8f9a0b1c2d")),
        # balances the running cluster's nodes
        load_balancer(LB_LIVE, doks_lb_name("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"), droplet_ids=NODE_DROPLETS),
        load_balancer(LB_OTHER, "shop", tag="prod"),
    ]
    rsps.get(
        f"{API}/v2/load_balancers",
        json=page("load_balancers", lbs[:2], next_page=2),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "1"})],
    )
    rsps.get(
        f"{API}/v2/load_balancers",
        json=page("load_balancers", lbs[2:]),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "2"})],
    )
    vols = [
        volume(VOL_GONE, "pvc-0b6f3c2a-8d1e-4f7a-9b2c-3d4e5f6a7b8c", size=10, tags=[f"k8s:{GONE_CID}"]),
        volume(VOL_COURSE, "scratch", size=5, tags=["k8s-course"]),
    ]
    rsps.get(f"{API}/v2/volumes", json=page("volumes", vols))
    snaps = [
        snapshot(SNAP_GONE, "snapshot-5d6e7f80-91a2-4b3c-8d4e-5f60718293a4", size=2, resource_id=VOL_GONE, tags=[])
    ]
    rsps.get(f"{API}/v2/snapshots", json=page("snapshots", snaps))
    drops = [
        droplet(
            NODE_DROPLETS[0],
            "worker-pool-0",
            size="s-2vcpu-4gb",
            tags=["k8s", f"k8s:{CID}", "k8s:worker", "k8s-course"],
        )
    ]
    rsps.get(f"{API}/v2/droplets", json=page("droplets", drops))


def test_leftovers_dry_run_lists_and_sends_no_delete(rsps: responses.RequestsMock, api: DOApi) -> None:
    _leftover_world(rsps)
    report = find_leftovers(api=api)
    status = {i.id: i.status for i in report.items}
    assert status == {
        LB_GONE: "leftover",
        LB_LIVE: "in use",
        VOL_GONE: "leftover",
        VOL_COURSE: "leftover",
        SNAP_GONE: "leftover",
        str(NODE_DROPLETS[0]): "in use",
    }
    assert report.monthly_usd == pytest.approx(12 + 1.0 + 0.5 + 0.12)
    assert report.dry_run and report.deleted == ()
    assert {c.request.method for c in rsps.calls} == {"GET"}
    assert list(report.table().columns)[:3] == ["kind", "id", "name"]


def test_leftovers_delete_only_orphans(rsps: responses.RequestsMock, api: DOApi) -> None:
    _leftover_world(rsps)
    rsps.delete(f"{API}/v2/load_balancers/{LB_GONE}", status=204)
    rsps.delete(f"{API}/v2/volumes/{VOL_GONE}", status=204)
    rsps.delete(f"{API}/v2/volumes/{VOL_COURSE}", **error(409, "conflict", "volume is attached"))
    rsps.delete(f"{API}/v2/snapshots/{SNAP_GONE}", status=204)
    report = find_leftovers(delete=True, api=api)
    deletes = sorted(c.request.url.removeprefix(API) for c in rsps.calls if c.request.method == "DELETE")
    assert deletes == sorted(
        [
            f"/v2/load_balancers/{LB_GONE}",
            f"/v2/snapshots/{SNAP_GONE}",
            f"/v2/volumes/{VOL_COURSE}",
            f"/v2/volumes/{VOL_GONE}",
        ]
    )
    assert set(report.deleted) == {f"load_balancer:{LB_GONE}", f"volume:{VOL_GONE}", f"snapshot:{SNAP_GONE}"}
    assert len(report.errors) == 1 and "volume is attached" in report.errors[0]


def test_delete_refuses_untagged_cluster(rsps: responses.RequestsMock, api: DOApi) -> None:
    foreign = cluster_json("running", tags=["k8s"])
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [foreign]))
    with pytest.raises(ProvisionError, match="no 'k8s-course' tag"):
        delete_cluster("course-ada", confirm=True, api=api)
    assert not any(c.request.method == "DELETE" for c in rsps.calls)


# --- plan and CLI -------------------------------------------------------------------------------------------------------


def test_plan_of_requests_has_no_secret() -> None:
    plan = plan_requests(SPEC, with_delete=True)
    assert [r.method for r in plan.requests] == ["GET", "GET", "GET", "POST", "GET", "GET", "GET", "DELETE", "GET"]
    assert plan.post_body() == SPEC.to_body()
    dump = json.dumps([r.__dict__ for r in plan.requests]) + str(plan.headers) + plan.table().to_string()
    assert TOKEN not in dump and "***" in str(plan.headers)


def test_cli_cost_options_and_offline_leftovers(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(provision_cli, ["cost", "--size", "s-4vcpu-8gb", "--count", "3", "--offline"])
    assert result.exit_code == 0 and "s-4vcpu-8gb" in result.output and "total" in result.output
    assert "$144.00/month" not in result.output and "/month" in result.output
    result = runner.invoke(provision_cli, ["options", "regions", "--offline"])
    assert result.exit_code == 0 and "nyc1" in result.output and "snapshot" in result.output
    monkeypatch.delenv("DIGITALOCEAN_TOKEN")
    result = runner.invoke(provision_cli, ["leftovers"])
    assert result.exit_code == 0 and "nothing was sent" in result.output and "/v2/volumes" in result.output


def test_pydo_get_kubeconfig_cannot_decode_yaml(rsps: responses.RequestsMock, api: DOApi) -> None:
    """Why kubeconfig() goes through a raw request: pydo's own call fails on the YAML body."""
    from azure.core.exceptions import DecodeError

    rsps.get(f"{API}/v2/kubernetes/clusters/{CID}/kubeconfig", body=KUBECONFIG_YAML, content_type="application/yaml")
    with pytest.raises(DecodeError):
        api.client.kubernetes.get_kubeconfig(CID)
    assert api.kubeconfig_text(CID) == KUBECONFIG_YAML


def test_cli_leftovers_with_token_dry_run_then_delete(rsps: responses.RequestsMock) -> None:
    _leftover_world(rsps)
    runner = CliRunner()
    result = runner.invoke(provision_cli, ["leftovers"])
    assert result.exit_code == 0, result.output
    assert LB_GONE in result.output and "4 leftover(s), 2 in use (dry run)" in result.output
    assert not any(c.request.method == "DELETE" for c in rsps.calls)
    for path in (f"load_balancers/{LB_GONE}", f"volumes/{VOL_GONE}", f"volumes/{VOL_COURSE}", f"snapshots/{SNAP_GONE}"):
        rsps.delete(f"{API}/v2/{path}", status=204)
    result = runner.invoke(provision_cli, ["leftovers", "--delete", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"load_balancer:{LB_GONE}" in result.output and TOKEN not in result.output
    assert sum(c.request.method == "DELETE" for c in rsps.calls) == 4


def test_non_json_replies(raw_rsps: responses.RequestsMock, api: DOApi) -> None:
    """What a proxy or outage in between may send; not the API's replies, so not held to its schemas."""
    rsps = raw_rsps
    url = f"{API}/v2/kubernetes/clusters"
    rsps.get(url, status=502, body="<html>Bad Gateway</html>", content_type="text/html", headers={"x-request-id": "gw"})
    with pytest.raises(ProvisionError, match=r"HTTP 502: Bad Gateway") as info:
        api.list_clusters()
    assert info.value.context["request_id"] == "gw"
    rsps.replace(responses.GET, url, status=200, body="{not json", content_type="application/json")
    with pytest.raises(ProvisionError, match="could not be decoded"):
        api.list_clusters()


# --- DOKS resources found by the fields the API returns; fixtures held to the API reference -------------------------


def test_leftovers_find_a_doks_clusters_resources_by_api_fields(rsps: responses.RequestsMock, api: DOApi) -> None:
    """No load balancer carries tags: a cluster's are found by its associated-resources listing, by the Droplets they
    balance, or (cluster gone) by the DOKS name; volumes and snapshots also by listing, tag, source volume or name."""
    mine = cluster_json("running", running=2)
    foreign = cluster_json("running", cid=FOREIGN_CID, name="shop-prod", tags=["k8s"], droplets=(620000000, 620000001))
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [mine, foreign]))
    listed_lb = load_balancer(LB_LIVE, doks_lb_name("2f3e4d5c-6b7a-4898-a7b6-c5d4e3f2a1b0"))
    balancing = load_balancer(LB_OTHER, "ingress-renamed", droplet_ids=(NODE_DROPLETS[1],))
    gone_lb = load_balancer(LB_GONE, doks_lb_name("9f2b7c1e-0d3a-4e5b-8c6d-7e8f9a0b1c2d"))
    foreign_lb = load_balancer(
        "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", doks_lb_name("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9")
    )
    other_lb = load_balancer("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "shop", droplet_ids=(70001,))
    listed_vol = volume(
        VOL_COURSE, "pvc-7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f", size=5, tags=[], droplet_ids=NODE_DROPLETS[:1]
    )
    gone_vol = volume(VOL_GONE, "pvc-0b6f3c2a-8d1e-4f7a-9b2c-3d4e5f6a7b8c", size=10, tags=[f"k8s:{GONE_CID}"])
    listed_snap = snapshot(
        SNAP_GONE, "snapshot-1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b", size=1, resource_id=VOL_COURSE, tags=None
    )
    nightly = snapshot("0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0", "nightly", size=1, resource_id=VOL_COURSE, tags=[])
    rsps.get(
        f"{API}/v2/kubernetes/clusters/{CID}/destroy_with_associated_resources",
        json=associated(lbs=(listed_lb,), vols=(listed_vol,), snaps=(listed_snap,)),
    )
    rsps.get(
        f"{API}/v2/kubernetes/clusters/{FOREIGN_CID}/destroy_with_associated_resources",
        json=associated(lbs=(foreign_lb,)),
    )
    lbs = [listed_lb, balancing, gone_lb, foreign_lb, other_lb]
    rsps.get(f"{API}/v2/load_balancers", json=page("load_balancers", lbs))
    rsps.get(f"{API}/v2/volumes", json=page("volumes", [listed_vol, gone_vol]))
    rsps.get(f"{API}/v2/snapshots", json=page("snapshots", [listed_snap, nightly]))
    rsps.get(f"{API}/v2/droplets", json=page("droplets", []))

    report = find_leftovers(api=api)
    found = {i.id: (i.kind, i.status, i.cluster_id) for i in report.items}
    assert found == {
        LB_LIVE: ("load_balancer", "in use", CID),
        LB_OTHER: ("load_balancer", "in use", CID),
        LB_GONE: ("load_balancer", "leftover", None),
        VOL_COURSE: ("volume", "in use", CID),
        VOL_GONE: ("volume", "leftover", GONE_CID),
        SNAP_GONE: ("snapshot", "in use", CID),
        "0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0": ("snapshot", "in use", CID),
    }
    reasons = {i.id: i.reason for i in report.items}
    assert "associated" in reasons[LB_LIVE] and "nodes" in reasons[LB_OTHER]
    assert "named like a DOKS Service load balancer" in reasons[LB_GONE]
    assert "snapshot of one of its volumes" in reasons["0e1d2c3b-4a59-4687-9786-a5b4c3d2e1f0"]
    assert report.leftovers and {i.id for i in report.leftovers} == {LB_GONE, VOL_GONE}
    assert {c.request.method for c in rsps.calls} == {"GET"}


def test_leftovers_skip_a_cluster_deleted_during_the_scan(rsps: responses.RequestsMock, api: DOApi) -> None:
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [cluster_json("deleting")]))
    rsps.get(
        f"{API}/v2/kubernetes/clusters/{CID}/destroy_with_associated_resources",
        **error(404, "not_found", "The resource was not found."),
    )
    name = doks_lb_name("9f2b7c1e-0d3a-4e5b-8c6d-7e8f9a0b1c2d")
    rsps.get(f"{API}/v2/load_balancers", json=page("load_balancers", [load_balancer(LB_GONE, name)]))
    for key in ("volumes", "snapshots", "droplets"):
        rsps.get(f"{API}/v2/{key}", json=page(key, []))
    assert [(i.id, i.status) for i in find_leftovers(api=api).items] == [(LB_GONE, "leftover")]


def test_fixture_schemas_reject_what_the_api_does_not_send() -> None:
    """The schemas fail a reply with an invented field, a missing required one, a non-UUID id or a wrong type."""
    from jsonschema import ValidationError

    lb = load_balancer(LB_GONE, "a1")
    do_schemas.validate(lb, do_schemas.LOAD_BALANCER)
    bad = [
        {**lb, "tags": [f"k8s:{CID}"]},  # load balancers have no tags field
        {k: v for k, v in lb.items() if k != "forwarding_rules"},
        {**lb, "id": "lb-1"},
        {**lb, "region": {"slug": "nyc1"}},  # a region lacks name, sizes, features, available
    ]
    for body in bad:
        with pytest.raises(ValidationError):
            do_schemas.validate(body, do_schemas.LOAD_BALANCER)
    pool = cluster_json("running")["node_pools"][0]
    with pytest.raises(ValidationError):
        do_schemas.validate({**pool, "id": "pool-1"}, do_schemas.NODE_POOL)
    with pytest.raises(ValidationError):
        do_schemas.validate({**pool["nodes"][0], "id": "node-0"}, do_schemas.NODE)
    size = {k: v for k, v in SIZES[0].items() if k != "transfer"}
    with pytest.raises(ValidationError):
        do_schemas.validate(size, do_schemas.SIZE)
    snap = snapshot(SNAP_GONE, "s", size=1, resource_id=VOL_GONE, tags=None)
    for field in ("created_at", "resource_id", "resource_type", "min_disk_size"):
        with pytest.raises(ValidationError):
            do_schemas.validate({k: v for k, v in snap.items() if k != field}, do_schemas.SNAPSHOT)
    with pytest.raises(ValidationError):
        do_schemas.validate({**snap, "created_at": "yesterday"}, do_schemas.SNAPSHOT)
    with pytest.raises(AssertionError, match="text/plain"):
        do_schemas.check_reply("GET", f"/v2/kubernetes/clusters/{CID}/kubeconfig", 200, "text/plain", b"")
    with pytest.raises(LookupError):
        do_schemas.schema_for("GET", "/v2/account", 200)


def test_rsps_fixture_holds_served_replies_to_the_schemas(api: DOApi) -> None:
    """The check the ``rsps`` fixture runs after each test fails on a served reply with an invented field."""
    from jsonschema import ValidationError

    with responses.RequestsMock() as mock:
        mock.get(f"{API}/v2/load_balancers", json=page("load_balancers", [{**load_balancer(LB_GONE, "a"), "tags": []}]))
        api.paged("list load balancers", api.client.load_balancers.list, "load_balancers")
        with pytest.raises(ValidationError, match="tags"):
            check_fixtures(mock)
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/v2/load_balancers", json=page("load_balancers", [load_balancer(LB_GONE, "a")]))
        api.paged("list load balancers", api.client.load_balancers.list, "load_balancers")
        assert check_fixtures(mock) == 2  # the registered reply and the served one


def test_offline_snapshot_files_are_api_replies() -> None:
    """data/digitalocean holds samples of GET /v2/kubernetes/options and GET /v2/sizes (plus the course's notes)."""
    files = sorted(p.name for p in data_dir().glob("*.json"))
    assert files == ["options.json", "sizes.json"]  # a new file needs a schema here
    options = json.loads((data_dir() / "options.json").read_text())
    do_schemas.validate({"options": options["options"]}, do_schemas.K8S_OPTIONS)
    sizes = json.loads((data_dir() / "sizes.json").read_text())
    do_schemas.validate(
        {"sizes": sizes["sizes"], "links": {}, "meta": {"total": len(sizes["sizes"])}},
        do_schemas.listing("sizes", do_schemas.SIZE),
    )
    assert set(sizes) == {"_about", "sizes", "addons"}
