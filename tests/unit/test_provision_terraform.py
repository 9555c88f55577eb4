"""Generated Terraform parsed back with python-hcl2; `terraform/tofu fmt -check` when installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from course_lib import tools
from course_lib.pins import ARGOCD_CHART_VERSION, PROVIDER_VERSIONS
from course_lib.provision import ClusterSpec, NodePool, fmt_check, render_terraform, write_terraform
from course_lib.provision._terraform import FILES


def _unq(value: Any) -> Any:
    """python-hcl2 8.x keeps string quotes and adds __is_block__ markers; strip both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unq(v) for v in value]
    if isinstance(value, dict):
        return {_unq(k): _unq(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    return value


def _parse(text: str) -> dict[str, Any]:
    return _unq(hcl2.loads(text))  # type: ignore[no-any-return]


@pytest.fixture
def spec() -> ClusterSpec:
    extra = NodePool(name="burst", size="s-4vcpu-8gb", count=1, auto_scale=True, min_nodes=1, max_nodes=3)
    return ClusterSpec(
        name="course-ada",
        region="fra1",
        version="1.33",
        node_pools=(NodePool(size="s-2vcpu-4gb", count=3), extra),
        ha=True,
        tags=("team-a",),
    )


def test_files_written(tmp_path: Path, spec: ClusterSpec) -> None:
    tf = write_terraform(spec, tmp_path / "tf")
    assert sorted(p.name for p in (tmp_path / "tf").iterdir()) == sorted(FILES)
    assert tf.show("main.tf") == render_terraform(spec)["main.tf"]


def test_providers_pinned_and_helm_v3_attribute_syntax(spec: ClusterSpec) -> None:
    raw = hcl2.loads(render_terraform(spec)["providers.tf"])
    doc = _unq(raw)
    req = doc["terraform"][0]["required_providers"][0]
    for name, (source, version) in PROVIDER_VERSIONS.items():
        assert req[name] == {"source": source, "version": version}
    assert PROVIDER_VERSIONS["helm"][1].startswith("~> 3")
    providers = {next(iter(p)): p[next(iter(p))] for p in doc["provider"]}
    assert providers["digitalocean"] == {"token": "${var.do_token}"}
    helm_raw = next(p['"helm"'] for p in raw["provider"] if '"helm"' in p)
    assert "__is_block__" not in helm_raw["kubernetes"], "helm 3.x needs `kubernetes = { ... }`, not a block"
    assert providers["helm"]["kubernetes"]["host"].endswith("k8s_cluster.endpoint}")
    assert "base64decode" in providers["kubernetes"]["cluster_ca_certificate"]


def test_main_matches_spec(spec: ClusterSpec) -> None:
    doc = _parse(render_terraform(spec)["main.tf"])
    cluster = doc["resource"][0]["digitalocean_kubernetes_cluster"]["k8s_cluster"]
    assert cluster["ha"] is True and cluster["tags"] == ["k8s-course", "team-a"]
    assert cluster["node_pool"][0]["node_count"] == "${var.node_count}"
    assert cluster["destroy_all_associated_resources"] == "${var.destroy_all_associated_resources}"
    extra = doc["resource"][1]["digitalocean_kubernetes_node_pool"]["pool_1"]
    assert (extra["size"], extra["auto_scale"], extra["min_nodes"], extra["max_nodes"]) == ("s-4vcpu-8gb", True, 1, 3)
    variables = {next(iter(v)): v[next(iter(v))] for v in _parse(render_terraform(spec)["variables.tf"])["variable"]}
    assert variables["do_token"]["sensitive"] is True and "default" not in variables["do_token"]
    assert variables["region"]["default"] == "fra1"
    assert variables["node_size"]["default"] == "s-2vcpu-4gb" and variables["node_count"]["default"] == 3
    assert variables["k8s_version_prefix"]["default"] == "1.33."
    latest = _parse(render_terraform(ClusterSpec(name="x"))["variables.tf"])
    assert next(v for v in latest["variable"] if "k8s_version_prefix" in v)["k8s_version_prefix"]["default"] == ""


def test_argocd_release_and_application(spec: ClusterSpec) -> None:
    text = render_terraform(spec)["argocd.tf"]
    doc = _parse(text)
    release = doc["resource"][0]["helm_release"]["argocd"]
    assert release["chart"] == "argo-cd" and release["version"] == ARGOCD_CHART_VERSION
    assert release["set"] == [{"name": "server.service.type", "value": "LoadBalancer"}]
    app = doc["resource"][1]["kubernetes_manifest"]["guestbook_app"]["manifest"]
    assert app["kind"] == "Application" and app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "-target=helm_release.argocd" in text and "no client config" in text


def test_outputs_and_secrets_hygiene(spec: ClusterSpec) -> None:
    files = render_terraform(spec)
    outputs = {next(iter(o)): o[next(iter(o))] for o in _parse(files["outputs.tf"])["output"]}
    assert outputs["kubeconfig"]["sensitive"] is True
    ignore = files[".gitignore"].splitlines()
    for pattern in ("*.tfvars", ".terraform/", "*.tfstate", "*.tfstate.*", "!terraform.tfvars.example"):
        assert pattern in ignore
    assert "dop_v1_" in files["terraform.tfvars.example"]
    assert not any("dop_v1_" in text for name, text in files.items() if name != "terraform.tfvars.example")


def test_fmt_check(tmp_path: Path, spec: ClusterSpec) -> None:
    if not (tools.find("terraform") or tools.find("tofu")):
        pytest.skip("neither terraform nor tofu is installed (`make tools` builds tofu); nothing to check with")
    write_terraform(spec, tmp_path)
    result = fmt_check(tmp_path)
    assert result.ok, result.output
    (tmp_path / "bad.tf").write_text('variable "x" {\ndefault="a"\n}\n')
    assert fmt_check(tmp_path).ok is False
