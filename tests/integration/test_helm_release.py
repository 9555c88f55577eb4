"""A real Helm release on a real kube-apiserver (the sandbox control plane): install, upgrade, a failing upgrade
that Helm rolls back by itself, rollback, the release Secrets, uninstall."""

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
        not _controlplane.available() or not tools.available("helm"),
        reason="needs the sandbox control plane and helm: run `make tools`",
    ),
]


@pytest.fixture(scope="module")
def cluster(apiserver_cluster: Cluster) -> Iterator[Cluster]:
    with shell_env_kept():
        apiserver_cluster.use_in_shell()
        yield apiserver_cluster


def _helm(*args: str) -> str:
    return tools.run("helm", list(args)).stdout


def test_history_failed_upgrade_rolls_back_and_rollback(cluster: Cluster, tmp_path: Path) -> None:
    chart = charts.write_chart(tmp_path)
    ns = f"course-helm-{uuid.uuid4().hex[:8]}"
    base = ["checkout", str(chart), "-n", ns, "-f", str(chart / "values-dev.yaml"), "--wait", "--timeout", "60s"]
    try:
        _helm("upgrade", "--install", *base, "--create-namespace")
        _helm("upgrade", "--install", *base, "--set", "replicaCount=3")
        deploy = cluster.get("Deployment", "checkout", namespace=ns)
        assert deploy["spec"]["replicas"] == 3
        with pytest.raises(ToolError, match="rolled back due to rollback-on-failure"):
            _helm("upgrade", "--install", *base, "--set", "replicaCount=-1", "--rollback-on-failure")
        history = charts.release_history("checkout", namespace=ns)
        assert history["status"].tolist() == ["superseded", "superseded", "failed", "deployed"]
        assert "Rollback to 2" in history["description"].iloc[-1]
        _helm("rollback", "checkout", "1", "-n", ns, "--wait")
        history = charts.release_history("checkout", namespace=ns)
        assert history["status"].iloc[-1] == "deployed" and "Rollback to 1" in history["description"].iloc[-1]
        assert cluster.get("Deployment", "checkout", namespace=ns)["spec"]["replicas"] != 3
        secrets = cluster.list("Secret", namespace=ns, selector="owner=helm")
        assert len(secrets) == 5 and {s["type"] for s in secrets} == {"helm.sh/release.v1"}
        _helm("uninstall", "checkout", "-n", ns, "--wait")
        assert cluster.list("Secret", namespace=ns, selector="owner=helm") == []
    finally:
        cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
