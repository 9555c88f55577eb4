"""The DigitalOcean path against recorded-shape HTTP responses (``responses``; pydo rides on requests).

Fixtures follow the shapes in DigitalOcean's API reference: ``{"kubernetes_cluster": {...}}``, paginated lists with
``links.pages.next``, error bodies ``{"id", "message", "request_id"}`` and an ``x-request-id`` header.
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

API = "https://api.digitalocean.com"
TOKEN = "dop_v1_" + "0123456789abcdef" * 4
CID = "bd5f5959-5e1e-4205-a714-a914373942af"
GONE_CID = "0c3d1b8e-1111-4222-8333-944455556666"
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


@pytest.fixture
def rsps():  # type: ignore[no-untyped-def]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def cluster_json(state: str, *, cid: str = CID, name: str = "course-ada", running: int = 0, tags: Any = None) -> dict:
    nodes = [
        {
            "id": f"node-{i}",
            "name": f"worker-pool-{i}",
            "status": {"state": "running" if i < running else "provisioning"},
            "droplet_id": str(3000 + i),
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
        "endpoint": f"https://{cid}.k8s.ondigitalocean.com",
        "tags": list(tags if tags is not None else ["k8s", f"k8s:{cid}", "k8s-course"]),
        "node_pools": [
            {
                "id": "pool-1",
                "name": "worker-pool",
                "size": "s-2vcpu-4gb",
                "count": 2,
                "tags": ["k8s", f"k8s:{cid}", "k8s:worker", "k8s-course"],
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
        links = {"pages": {"next": f"{API}/v2/{key}?page={next_page}&per_page=200", "last": f"{API}/v2/{key}?page=9"}}
    return {key: items, "links": links, "meta": {"total": len(items)}}


def error(status: int, do_id: str, message: str, *, request_id: str = "req-123", **headers: str) -> dict:
    return {
        "status": status,
        "json": {"id": do_id, "message": message, "request_id": request_id},
        "headers": {"x-request-id": request_id, **headers},
    }


def add_options(rsps: responses.RequestsMock) -> None:
    options = json.loads((data_dir() / "options.json").read_text())
    sizes = json.loads((data_dir() / "sizes.json").read_text())["sizes"]
    rsps.get(f"{API}/v2/kubernetes/options", json={"options": options["options"]})
    rsps.get(f"{API}/v2/sizes", json=page("sizes", sizes))


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
        json={"load_balancers": [{"id": "lb-1", "name": "argocd-lb"}], "volumes": [], "volume_snapshots": []},
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


def test_timeout_becomes_provision_error(rsps: responses.RequestsMock, api: DOApi) -> None:
    import requests

    rsps.get(f"{API}/v2/kubernetes/clusters", body=requests.exceptions.ReadTimeout("read timed out"))
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
    rsps.get(kc_url, body=KUBECONFIG_YAML, match=[matchers.query_param_matcher({"expiry_seconds": "3600"})])
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
        json=page("load_balancers", [{"id": "lb-1"}], next_page=2),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "1"})],
    )
    rsps.get(
        url,
        json=page("load_balancers", [{"id": "lb-2"}], next_page=3),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "2"})],
    )
    rsps.get(
        url,
        json=page("load_balancers", [{"id": "lb-3"}]),
        match=[matchers.query_param_matcher({"per_page": "200", "page": "3"})],
    )
    items = api.paged("list load balancers", api.client.load_balancers.list, "load_balancers")
    assert [i["id"] for i in items] == ["lb-1", "lb-2", "lb-3"]


def _leftover_world(rsps: responses.RequestsMock) -> None:
    running = cluster_json("running", running=2)
    rsps.get(f"{API}/v2/kubernetes/clusters", json=page("kubernetes_clusters", [running]))
    lbs = [
        {
            "id": "lb-gone",
            "name": "a1b2",
            "region": {"slug": "nyc1"},
            "tag": "",
            "tags": [f"k8s:{GONE_CID}"],
            "size_unit": 1,
        },
        {"id": "lb-live", "name": "c3d4", "region": {"slug": "nyc1"}, "tags": [f"k8s:{CID}"]},
        {"id": "lb-other", "name": "shop", "region": {"slug": "nyc1"}, "tags": ["prod"]},
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
        {
            "id": "vol-gone",
            "name": "pvc-1",
            "region": {"slug": "nyc1"},
            "size_gigabytes": 10,
            "tags": [f"k8s:{GONE_CID}"],
        },
        {
            "id": "vol-course",
            "name": "scratch",
            "region": {"slug": "nyc1"},
            "size_gigabytes": 5,
            "tags": ["k8s-course"],
        },
    ]
    rsps.get(f"{API}/v2/volumes", json=page("volumes", vols))
    snaps = [
        {"id": "snap-1", "name": "pvc-1-snap", "regions": ["nyc1"], "size_gigabytes": 2, "tags": [f"k8s:{GONE_CID}"]}
    ]
    rsps.get(f"{API}/v2/snapshots", json=page("snapshots", snaps))
    drops = [
        {
            "id": 3000,
            "name": "worker-pool-0",
            "region": {"slug": "nyc1"},
            "size_slug": "s-2vcpu-4gb",
            "tags": ["k8s", f"k8s:{CID}", "k8s:worker", "k8s-course"],
        }
    ]
    rsps.get(f"{API}/v2/droplets", json=page("droplets", drops))


def test_leftovers_dry_run_lists_and_sends_no_delete(rsps: responses.RequestsMock, api: DOApi) -> None:
    _leftover_world(rsps)
    report = find_leftovers(api=api)
    status = {i.id: i.status for i in report.items}
    assert status == {
        "lb-gone": "leftover",
        "lb-live": "in use",
        "vol-gone": "leftover",
        "vol-course": "leftover",
        "snap-1": "leftover",
        "3000": "in use",
    }
    assert report.monthly_usd == pytest.approx(12 + 1.0 + 0.5 + 0.12)
    assert report.dry_run and report.deleted == ()
    assert {c.request.method for c in rsps.calls} == {"GET"}
    assert list(report.table().columns)[:3] == ["kind", "id", "name"]


def test_leftovers_delete_only_orphans(rsps: responses.RequestsMock, api: DOApi) -> None:
    _leftover_world(rsps)
    rsps.delete(f"{API}/v2/load_balancers/lb-gone", status=204)
    rsps.delete(f"{API}/v2/volumes/vol-gone", status=204)
    rsps.delete(f"{API}/v2/volumes/vol-course", **error(409, "conflict", "volume is attached"))
    rsps.delete(f"{API}/v2/snapshots/snap-1", status=204)
    report = find_leftovers(delete=True, api=api)
    deletes = sorted(c.request.url.removeprefix(API) for c in rsps.calls if c.request.method == "DELETE")
    assert deletes == [
        "/v2/load_balancers/lb-gone",
        "/v2/snapshots/snap-1",
        "/v2/volumes/vol-course",
        "/v2/volumes/vol-gone",
    ]
    assert set(report.deleted) == {"load_balancer:lb-gone", "volume:vol-gone", "snapshot:snap-1"}
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
    assert "lb-gone" in result.output and "4 leftover(s), 2 in use (dry run)" in result.output
    assert not any(c.request.method == "DELETE" for c in rsps.calls)
    for path in ("load_balancers/lb-gone", "volumes/vol-gone", "volumes/vol-course", "snapshots/snap-1"):
        rsps.delete(f"{API}/v2/{path}", status=204)
    result = runner.invoke(provision_cli, ["leftovers", "--delete", "--yes"])
    assert result.exit_code == 0, result.output
    assert "load_balancer:lb-gone" in result.output and TOKEN not in result.output
    assert sum(c.request.method == "DELETE" for c in rsps.calls) == 4


def test_non_json_replies(rsps: responses.RequestsMock, api: DOApi) -> None:
    url = f"{API}/v2/kubernetes/clusters"
    rsps.get(url, status=502, body="<html>Bad Gateway</html>", content_type="text/html", headers={"x-request-id": "gw"})
    with pytest.raises(ProvisionError, match=r"HTTP 502: Bad Gateway") as info:
        api.list_clusters()
    assert info.value.context["request_id"] == "gw"
    rsps.replace(responses.GET, url, status=200, body="{not json", content_type="application/json")
    with pytest.raises(ProvisionError, match="could not be decoded"):
        api.list_clusters()
