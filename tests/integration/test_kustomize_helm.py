"""Real Kustomize (kubectl kustomize) and real Helm (built by `make tools`) on charts and overlays made here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from course_lib import tools
from course_lib.cluster import (
    connect,
    helm_create,
    helm_install_dry_run,
    helm_lint,
    helm_template,
    kustomize_build,
)
from course_lib.errors import ConfigError, ToolError

pytestmark = pytest.mark.integration

_helm_missing = pytest.mark.skipif(not tools.available("helm"), reason="helm is not built: run `make tools`")


def needs_helm(test: Any) -> Any:
    """Mark a test as needing the helm binary from `make tools` (skipped without it)."""
    return pytest.mark.tools(_helm_missing(test))


BASE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        envFrom:
        - configMapRef: {name: web-config}
"""
BASE_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture()
def kustomize_tree(tmp_path: Path) -> Path:
    write(tmp_path / "base" / "deployment.yaml", BASE_DEPLOYMENT)
    write(tmp_path / "base" / "service.yaml", BASE_SERVICE)
    write(
        tmp_path / "base" / "kustomization.yaml",
        "resources: [deployment.yaml, service.yaml]\n"
        "configMapGenerator:\n- name: web-config\n  literals: [LOG_LEVEL=info]\n",
    )
    write(
        tmp_path / "overlays" / "prod" / "kustomization.yaml",
        "resources: [../../base]\n"
        "namePrefix: prod-\n"
        "commonLabels: {env: prod}\n"
        "images:\n- name: nginx\n  newTag: '1.27'\n"
        "configMapGenerator:\n- name: web-config\n  behavior: merge\n  literals: [LOG_LEVEL=warn]\n",
    )
    return tmp_path


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects}


def test_kustomize_overlay(kustomize_tree: Path) -> None:
    base = by_kind(kustomize_build(kustomize_tree / "base"))
    prod = by_kind(kustomize_build(kustomize_tree / "overlays" / "prod"))
    assert set(prod) == {"ConfigMap", "Service", "Deployment"}
    cm_name = prod["ConfigMap"]["metadata"]["name"]
    assert cm_name.startswith("prod-web-config-") and len(cm_name) > len("prod-web-config-")
    assert cm_name != "prod-" + base["ConfigMap"]["metadata"]["name"]  # merged data, different hash
    assert prod["ConfigMap"]["data"] == {"LOG_LEVEL": "warn"}
    deploy = prod["Deployment"]
    assert deploy["metadata"]["name"] == "prod-web"
    assert deploy["spec"]["selector"]["matchLabels"] == {"app": "web", "env": "prod"}
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["envFrom"][0]["configMapRef"]["name"] == cm_name  # reference follows the hash
    assert prod["Service"]["spec"]["selector"] == {"app": "web", "env": "prod"}


def test_kustomize_output_applies_as_dry_run(kustomize_tree: Path) -> None:
    report = connect("sandbox", dry_run=True).apply(
        kustomize_build(kustomize_tree / "overlays" / "prod"), namespace="shop"
    )
    assert [r.kind for r in report] == ["ConfigMap", "Service", "Deployment"]
    assert report.dry_run and report.actions == ["created"] * 3


def test_kustomize_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kustomization.yaml"):
        kustomize_build(tmp_path)
    write(tmp_path / "kustomization.yaml", "resources: [missing.yaml]\n")
    with pytest.raises(ToolError) as info:
        kustomize_build(tmp_path)
    assert "missing.yaml" in info.value.message


@needs_helm
def test_helm_version_is_pinned() -> None:
    assert tools.version("helm") == tools.read_pins()["HELM_VERSION"]


@needs_helm
def test_helm_create_lint_template(tmp_path: Path) -> None:
    chart = helm_create("shop", directory=tmp_path)
    write(
        chart / "templates" / "kubeversion.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-kube}\n"
        "data: {minor: {{ .Capabilities.KubeVersion.Minor | quote }}}\n",
    )
    lint = helm_lint(chart)
    assert lint.ok and any("1 chart(s) linted, 0 chart(s) failed" in line for line in lint.output.splitlines())

    objects = helm_template(chart, {"replicaCount": 3, "service": {"port": 8080}}, release="demo", namespace="shop")
    kinds = by_kind(objects)
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap"} <= set(kinds)
    assert kinds["Deployment"]["metadata"]["name"] == "demo-shop"
    assert kinds["Deployment"]["spec"]["replicas"] == 3
    assert kinds["Service"]["spec"]["ports"][0]["port"] == 8080
    assert int(kinds["ConfigMap"]["data"]["minor"].rstrip("+")) >= 30  # not helm's old 1.20 default
    pinned = helm_template(chart, release="demo", namespace="shop", kube_version="v1.31.0")
    assert by_kind(pinned)["ConfigMap"]["data"]["minor"] == "31"

    # `helm create` scaffolds a test Pod (helm.sh/hook: test): applied with the rest it would run at once
    assert "Pod" not in kinds
    with_tests = by_kind(helm_template(chart, release="demo", namespace="shop", include_tests=True))
    assert with_tests["Pod"]["metadata"]["annotations"]["helm.sh/hook"] == "test"


@needs_helm
def test_helm_install_dry_run_and_errors(tmp_path: Path) -> None:
    chart = helm_create("shop", directory=tmp_path)
    release = helm_install_dry_run(chart, {"replicaCount": 2}, release="demo", namespace="shop")
    assert release.chart == "shop-0.1.0" and "DRY RUN" in repr(release)
    assert by_kind(list(release.objects))["Deployment"]["spec"]["replicas"] == 2
    assert "demo" in release.notes
    with pytest.raises(ConfigError, match="exists already"):
        helm_create("shop", directory=tmp_path)
    write(chart / "templates" / "broken.yaml", "kind: {{ .Values.nope.deeper }}\n")
    with pytest.raises(ToolError) as info:
        helm_lint(chart)
    assert "broken.yaml" in info.value.message
    with pytest.raises(ToolError, match="nil pointer|nope"):
        helm_template(chart, release="demo", namespace="shop")
    with pytest.raises(ConfigError, match="no Chart.yaml"):
        helm_template(tmp_path, release="demo", namespace="shop")
