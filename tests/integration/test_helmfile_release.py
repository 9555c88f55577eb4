"""The real helmfile (built by `make tools`) on a real kube-apiserver (the sandbox control plane): two releases of
the course chart installed in `needs` order, one upgraded by label selection, both destroyed; what Part 6 runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import charts, tools
from course_lib.cluster import Cluster
from course_lib.errors import ToolError
from course_lib.sandbox import _controlplane
from tests.conftest import shell_env_kept

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _controlplane.available() or not tools.available("helm") or not tools.available("helmfile"),
        reason="needs the sandbox control plane, helm and helmfile: run `make tools`",
    ),
]


@pytest.fixture(scope="module")
def cluster(apiserver_cluster: Cluster, apiserver_kubeconfig: str) -> Iterator[Cluster]:
    from course_lib.sandbox import _traefik

    # prod's values enable the chart's IngressRoute: Traefik's CRDs, as the session installs them on the sandbox
    _traefik.install_crds(apiserver_kubeconfig, gateway=False)
    with shell_env_kept():
        apiserver_cluster.use_in_shell()  # helmfile runs the helm it finds on PATH against $KUBECONFIG
        yield apiserver_cluster


def _helmfile(path: Path, *args: str) -> str:
    result = tools.run("helmfile", ["-f", str(path), *args], timeout=180)
    return result.stdout + result.stderr


def _revision(namespace: str) -> tuple[int, str]:
    history = charts.release_history("checkout", namespace=namespace)
    return int(history["revision"].iloc[-1]), str(history["status"].iloc[-1])


def test_sync_in_needs_order_then_a_labelled_upgrade_then_destroy(cluster: Cluster, tmp_path: Path) -> None:
    learner = f"t{uuid.uuid4().hex[:8]}"
    releases = charts.environment_releases(learner)
    dev, prod = (r.namespace for r in releases)
    path = charts.write_helmfile(tmp_path, releases)
    try:
        out = _helmfile(path, "sync", "--wait")
        assert out.index(f"namespace={dev}") < out.index(f"namespace={prod}")  # prod needs dev
        assert (_revision(dev), _revision(prod)) == ((1, "deployed"), (1, "deployed"))
        assert cluster.get("Deployment", "checkout", namespace=prod)["spec"]["replicas"] == 3  # values-prod.yaml

        charts.write_helmfile(tmp_path, charts.environment_releases(learner, prod_values={"replicaCount": 4}))
        out = _helmfile(path, "-l", "env=prod", "sync", "--wait")
        assert f"namespace={dev}" not in out
        assert (_revision(dev), _revision(prod)) == ((1, "deployed"), (2, "deployed"))
        assert cluster.get("Deployment", "checkout", namespace=prod)["spec"]["replicas"] == 4
        assert cluster.get("Deployment", "checkout", namespace=dev)["spec"]["replicas"] == 1

        _helmfile(path, "destroy")
        for ns in (dev, prod):
            assert cluster.list("Secret", namespace=ns, selector="owner=helm") == []
            assert cluster.list("Deployment", namespace=ns) == []
    finally:
        for ns in (dev, prod):
            cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})


def test_lint_fails_on_the_broken_template_and_an_undefined_need_stops_before_any_release(
    cluster: Cluster, tmp_path: Path
) -> None:
    charts.write_chart(tmp_path / "charts", broken=True)
    releases = charts.environment_releases(f"t{uuid.uuid4().hex[:8]}")
    path = charts.write_helmfile(tmp_path, releases)
    with pytest.raises(ToolError, match="parse error"):
        _helmfile(path, "lint")

    dev, prod = releases
    orphan = charts.Release(prod.name, prod.namespace, prod.chart, "", 6, needs=("nowhere/checkout",))
    path.write_text(charts.helmfile_yaml([dev, orphan]))
    with pytest.raises(ToolError, match='undefined release "nowhere/checkout"'):
        _helmfile(path, "sync")
    assert cluster.list("Secret", namespace=dev.namespace, selector="owner=helm") == []  # nothing was installed
