"""One code path, three targets (#16): the course run in order, twice, against one existing cluster.

The "existing cluster" is a fresh kube-apiserver of its own (a second sandbox control plane in a private state
folder) reached as ``--target kubeconfig``: to the course it is a learner's cluster, so the session installs nothing
there (no placeholder CRDs, no upstream CRDs). The parts that need only Kubernetes run clean both times (no name or
namespace collides between parts or between runs), and after their cleanup cells the cluster holds what it held
before the first run; the parts whose custom kinds need an add-on stop before any change, with an error that names
the add-on and its pinned command; Part 3 without ``prometheus_url`` says which port-forward to run.

The snapshot is ``kubectl get all,cm,secret -A`` plus the namespaces, by identity and uid (an object deleted and
created again is a change). Left out, because the control plane itself makes them, not the course: the system
namespaces (``kube-system``, ``kube-public``, ``kube-node-lease``: the API server creates them and the controllers
keep their objects there) and the ``kube-root-ca.crt`` ConfigMap that kube-controller-manager's root-ca-cert-publisher
puts into every namespace (it comes and goes with the namespace, which is compared).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import cluster as kc
from course_lib import runner, tools
from course_lib._prerequisites import AddOn, install_add_on
from course_lib._resources import data_path
from course_lib.cluster._rollout import rollout_progress
from course_lib.config import using_state_dir
from course_lib.pins import HelmChart
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.notebooks,
    pytest.mark.skipif(not _controlplane.available(), reason="needs a kube-apiserver: run `make tools`"),
]

#: Parts that deploy only Kubernetes objects (or nothing) when no add-on is installed.
PLAIN = "2,4,5,6,7,10"
#: Parts whose objects need an add-on's CRDs, and the add-on the error must name.
NEEDS_ADD_ONS = {"08_postgres_cnpg.ipynb": "CloudNativePG", "09_multi_region.ipynb": "Argo CD"}


#: ``kubectl get all`` (its kinds), ConfigMaps, Secrets, and the namespaces themselves.
SNAPSHOT_KINDS = (
    ("v1", "Namespace"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "ReplicationController"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
)
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
#: (kind, name) the control plane creates in every namespace.
CONTROL_PLANE_MADE = frozenset({("ConfigMap", "kube-root-ca.crt")})

Snapshot = frozenset[tuple[str, str, str, str]]


def snapshot(kubeconfig: str) -> Snapshot:
    """(kind, namespace, name, uid) of every object the course could leave behind (see the module docstring)."""
    cluster = kc.connect("kubeconfig", kubeconfig=kubeconfig)
    try:
        found = set()
        for api_version, kind in SNAPSHOT_KINDS:
            for obj in cluster.list(kind, api_version=api_version):
                meta = obj["metadata"]
                ns = meta.get("namespace") or ""
                name = meta["name"]
                if (ns or (name if kind == "Namespace" else "")) in SYSTEM_NAMESPACES:
                    continue
                if (kind, name) in CONTROL_PLANE_MADE:
                    continue
                found.add((kind, ns, name, meta["uid"]))
        return frozenset(found)
    finally:
        cluster.close()


def same_as(before: Snapshot, kubeconfig: str, *, timeout: float = 120.0) -> dict[str, list[tuple[str, ...]]]:
    """Wait (a namespace deleted with ``--wait=false`` takes its objects with it a few seconds later) until the
    cluster holds ``before`` again; returns what is still left over and what went missing (empty when equal)."""
    deadline = time.monotonic() + timeout
    while True:
        now = snapshot(kubeconfig)
        if now == before or time.monotonic() >= deadline:
            return {
                k: v
                for k, v in (
                    ("left over", sorted(now - before)),
                    ("missing", sorted(before - now)),
                )
                if v
            }
        time.sleep(3)


@pytest.fixture(scope="module")
def existing_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("existing-cluster")
    with using_state_dir(state):
        kubeconfig = _controlplane.cluster_up(nodes=2).kubeconfig
    try:
        yield kubeconfig
    finally:
        with using_state_dir(state):
            _controlplane.cluster_down()


def _run(parts: str, kubeconfig: str, out: Path, params: dict[str, object] | None = None) -> runner.RunReport:
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = kubeconfig
    try:
        return runner.run_parts(parts, target="kubeconfig", out=out, params=params, progress=False, html=False)
    finally:
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old


def test_the_plain_parts_run_twice_in_order_and_leave_the_cluster_as_they_found_it(
    existing_cluster: str, tmp_path: Path
) -> None:
    before = snapshot(existing_cluster)
    assert any(kind == "Namespace" and name == "default" for kind, _, name, _ in before)  # the snapshot sees objects
    changes = {}
    for attempt in ("first", "second"):
        report = _run(PLAIN, existing_cluster, tmp_path / attempt)
        failures = [(r.notebook, r.error) for r in report.results if r.status != "ok"]
        assert not failures, (attempt, failures)
        changes[attempt] = same_as(before, existing_cluster)
    assert not changes["first"] and not changes["second"], changes


def test_parts_that_need_an_add_on_say_which_before_changing_anything(existing_cluster: str, tmp_path: Path) -> None:
    before = snapshot(existing_cluster)
    # Part 8 changes a cluster only with confirm = True (without it, it shows the commands and applies nothing):
    # the learner who confirms is the one who must be stopped before the first change.
    report = _run("3,8,9", existing_cluster, tmp_path, params={"confirm": True})
    by_name = {r.notebook: r for r in report.results}
    for notebook, add_on in NEEDS_ADD_ONS.items():
        result = by_name[notebook]
        assert result.status == "failed", notebook
        error = str(result.error)
        assert "does not serve the custom kinds" in error and add_on in error, error
        assert "install_prerequisites = True" in error and "helm upgrade --install" in error, error
    part3 = by_name["03_observability.ipynb"]
    assert part3.status == "failed"
    assert "kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus 9090" in str(part3.error)
    assert 'prometheus_url = "http://127.0.0.1:9090"' in str(part3.error), part3.error
    assert not same_as(before, existing_cluster, timeout=30)


@pytest.mark.skipif(not tools.find("helm"), reason="needs helm: run `make tools`")
def test_the_install_path_runs_the_real_helm_and_waits_until_the_release_is_ready(
    existing_cluster: str, tmp_path: Path
) -> None:
    """``install_prerequisites=True``'s path, with the course's own chart folder in place of a chart repository
    (no chart can be downloaded here): the same ``helm upgrade --install`` argv and the same readiness wait."""
    before = snapshot(existing_cluster)
    chart = HelmChart("prereq-demo", "prereq-demo", "course", "", "checkout", "0.1.0", "0.1.0")
    demo = AddOn("checkout", "the course's checkout chart", "", chart)
    cluster = kc.connect("kubeconfig", kubeconfig=existing_cluster)
    try:
        seconds = install_add_on(cluster, demo, chart_ref=str(data_path() / "charts" / "checkout"), timeout=180)
        deployments = cluster.list("Deployment", namespace="prereq-demo")
        assert deployments and all(rollout_progress(d)[0] for d in deployments), deployments
        assert seconds > 0
    finally:
        tools.run("helm", ["uninstall", "prereq-demo", "-n", "prereq-demo", "--wait", "--kubeconfig", existing_cluster])
        cluster.delete([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prereq-demo"}}])
        cluster.close()
    assert not same_as(before, existing_cluster)
