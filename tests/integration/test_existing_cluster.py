"""One code path, three targets (#16): the course run in order, twice, against one existing cluster.

The "existing cluster" is a fresh kube-apiserver of its own (a second sandbox control plane in a private state
folder) reached as ``--target kubeconfig``: to the course it is a learner's cluster, so the session installs nothing
there. Two such clusters:

- one as a learner has it after installing the add-ons' CRDs (upstream's own, the ones the sandbox serves; no
  operator runs, as on a cluster whose operators are not the course's business), plus a Prometheus and a
  VictoriaLogs on 127.0.0.1 standing in for the port-forwards Part 3 asks for: **every part runs, in order, twice,
  clean** (no name or namespace collides between parts or between runs), and after their cleanup cells the cluster
  holds what it held before the first run;
- one with nothing installed: the parts whose custom kinds need an add-on stop before any change, with an error that
  names the add-on and its pinned command; Part 3 without ``prometheus_url`` says which port-forward to run.

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
from course_lib import errors as cl_errors
from course_lib import runner, sandbox, tools
from course_lib._prerequisites import ADD_ONS, AddOn, install_add_on
from course_lib._resources import data_path
from course_lib.cluster._rollout import rollout_progress
from course_lib.config import using_state_dir
from course_lib.pins import HelmChart
from course_lib.sandbox import _controlplane, _kyverno, crds

pytestmark = [
    pytest.mark.integration,
    pytest.mark.notebooks,
    pytest.mark.skipif(not _controlplane.available(), reason="needs a kube-apiserver: run `make tools`"),
]

#: Parts whose objects need an add-on's CRDs, and the add-on the error must name.
NEEDS_ADD_ONS = {"08_postgres_cnpg.ipynb": "CloudNativePG", "09_multi_region.ipynb": "Argo CD"}


#: How the API server passes on a rejection by Kyverno's ValidatingPolicy webhook (notebook 05's root Pod).
KYVERNO_DENIED = 'admission webhook "vpol.validate.kyverno.svc-fail" denied the request'

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


def printed(notebook: str) -> str:
    """Everything an executed notebook's cells printed or showed as text (stdout, stderr, plain-text results)."""
    import nbformat

    texts = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        for out in cell.get("outputs", []):
            text = out.get("text") or (out.get("data") or {}).get("text/plain") or ""
            texts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(texts)


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


def install_add_ons_crds(kubeconfig: str) -> None:
    """What installing the course's add-ons leaves on a cluster, minus their controllers: the CRDs the sandbox
    serves (upstream's, Kyverno's and Traefik's full sets) and each add-on's namespace (``helm --create-namespace``;
    ``monitoring`` for kube-prometheus-stack).
    External Secrets Operator's CRDs cannot be fetched here (see ``pins.UPSTREAM_CRDS``): open CRDs of its kinds
    stand in for them, as on the sandbox."""
    from course_lib.manifests import render_all
    from course_lib.sandbox import _kyverno, _traefik

    cluster = kc.connect("kubeconfig", kubeconfig=kubeconfig)
    try:
        crds.install(cluster)
        _kyverno.install_crds(kubeconfig)
        _traefik.install_crds(kubeconfig)
        course_objects = [obj for objects in render_all().values() for obj in objects]
        missing = crds.placeholders(course_objects, known=crds.served_names(kubeconfig))
        assert {c["spec"]["group"] for c in missing} <= {"external-secrets.io"}, missing
        # and kube-prometheus-stack's, where the Prometheus of Part 3's port-forward runs
        namespaces = sorted({a.chart.namespace for a in ADD_ONS.values()} | {"monitoring"})
        cluster.apply(
            [*missing, *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces)]
        )
    finally:
        cluster.close()


@pytest.fixture
def cluster_with_add_ons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A control plane with the add-ons' CRDs and namespaces (:func:`install_add_ons_crds`), Kyverno's real
    admission controller acting on it, and a Prometheus and a log store on 127.0.0.1 as the port-forwards Part 3
    asks for would give them: ``(kubeconfig, Prometheus URL, log store URL)``.

    Kyverno runs as the sandbox runs it (a local process, its webhooks at ``https://127.0.0.1:PORT``), started
    here against this cluster and not by the notebooks: to the course it is the cluster's own Kyverno, found by the
    leader Lease it holds (``course_lib._controllers.CONTROLLER_LEASES``), never stopped by a notebook on a cluster target.
    Function-scoped and first in this file, so it is down again before ``existing_cluster`` starts its own
    control plane."""
    if not crds.available():
        pytest.skip("needs upstream's CRDs: run `make crds`")
    if not _kyverno.available():
        pytest.skip("needs Kyverno's admission and reports controllers: run `make tools`")
    state = tmp_path_factory.mktemp("cluster-with-add-ons")
    try:
        with using_state_dir(state):  # not around the yield: the notebooks' kernels must not inherit it
            kubeconfig = _controlplane.cluster_up(nodes=2).kubeconfig
            install_add_ons_crds(kubeconfig)
            stack = sandbox.up()
            _kyverno.kyverno_up(kubeconfig=kubeconfig)
        yield kubeconfig, stack.endpoints.prometheus, stack.endpoints.victorialogs
    finally:
        with using_state_dir(state):
            sandbox.down()


@pytest.mark.timeout(2400)  # twenty-four notebooks (each cell has its own timeout): a hang guard, not a timing
def test_every_part_runs_twice_in_order_and_leaves_the_cluster_as_it_found_it(
    cluster_with_add_ons: tuple[str, str, str], tmp_path: Path
) -> None:
    """Every part in order, twice. ``confirm = True`` goes to Part 8 (without it, it applies nothing on a cluster);
    not to Part 10, whose confirmed deploy installs Argo CD's chart from its repository on the internet."""
    kubeconfig, prometheus, logs = cluster_with_add_ons
    urls: dict[str, object] = {"prometheus_url": prometheus, **({"logs_url": logs} if logs else {})}
    steps = (("0,1,2,3,4,5,6,7", urls), ("8", {"confirm": True}), ("9,10,11", {}))
    before = snapshot(kubeconfig)
    assert any(kind == "Namespace" and name == "default" for kind, _, name, _ in before)  # the snapshot sees objects
    changes = {}
    for attempt in ("first", "second"):
        with using_state_dir(tmp_path / "learner-state"):  # Part 11 stops "the sandbox": the learner's, not this one
            results = [
                r
                for i, (parts, params) in enumerate(steps)
                for r in _run(parts, kubeconfig, tmp_path / attempt / str(i), params=params).results
            ]
        assert [r.notebook[:2] for r in results] == [f"{n:02d}" for n in range(12)], [r.notebook for r in results]
        failures = [(r.notebook, r.error) for r in results if r.status != "ok"]
        assert not failures, (attempt, failures)
        # the cluster's Kyverno judged Part 5's root Pod: its message, as the API server passed it on
        part5 = printed(next(r.output for r in results if r.notebook.startswith("05")))
        assert KYVERNO_DENIED in part5 and "Policy disallow-root-user failed" in part5, attempt
        changes[attempt] = same_as(before, kubeconfig)
    assert not changes["first"] and not changes["second"], changes


#: The workload Argo CD's chart installs that shows a cluster runs it (``course_lib._controllers.CONTROLLER_WORKLOADS``).
ARGOCD_CHART_WORKLOAD = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "argocd-application-controller", "namespace": "argocd"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "argocd-application-controller"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "argocd-application-controller"}},
            "spec": {"containers": [{"name": "application-controller", "image": "quay.io/argoproj/argocd:v3.2.11"}]},
        },
    },
}


@pytest.fixture
def cluster_with_argocd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A control plane with the add-ons' CRDs and **Argo CD's real controllers** acting on it (the sandbox's local
    processes, started here and not by the notebook: to the course they are the cluster's own Argo CD), and an empty
    bare repository as the learner's remote: ``(kubeconfig, state folder)``.

    On a cluster the chart's ``argocd-application-controller`` StatefulSet is how the course finds Argo CD; here it
    is applied as the chart would (kwok reports its pod ready; nothing runs in it), while the work is done by the
    local application controller. The repo-server is on this machine too, so it reads the ``file://`` remote the
    notebook pushes to, as a cluster's reads a GitHub repository."""
    from course_lib.sandbox import _argocd

    if not crds.available():
        pytest.skip("needs upstream's CRDs: run `make crds`")
    if not _argocd.available():
        pytest.skip("needs Argo CD: run `make tools`")
    state = tmp_path_factory.mktemp("cluster-with-argocd")
    try:
        with using_state_dir(state):
            kubeconfig = _controlplane.cluster_up(nodes=2).kubeconfig
            install_add_ons_crds(kubeconfig)
            _argocd.up(kubeconfig)
            cluster = kc.connect("kubeconfig", kubeconfig=kubeconfig)
            cluster.apply(ARGOCD_CHART_WORKLOAD)
            cluster.rollout_status(
                "argocd-application-controller", namespace="argocd", kind="StatefulSet", timeout=60, progress=False
            )
            cluster.close()
        yield kubeconfig, state
    finally:
        with using_state_dir(state):
            _argocd.down()
            _controlplane.cluster_down()


@pytest.mark.timeout(900)  # two runs of Part 2 (each cell has its own timeout): a hang guard, not a timing
def test_a_clusters_argo_cd_syncs_the_learners_pushed_commits_twice_over_and_not_once_stopped(
    cluster_with_argocd: tuple[str, Path], tmp_path: Path
) -> None:
    """Part 2 on a cluster whose Argo CD runs, with ``repo_remote``: each commit is pushed, and the cluster's Argo CD
    (not the course) creates, scales and prunes the guestbook; the second run sets the remote back to the part's
    first commit and does it all again; the cluster is left as it was. Then, with the application controller
    stopped, a pushed commit is never synced."""
    from course_lib import gitops
    from course_lib.sandbox import _argocd

    kubeconfig, state = cluster_with_argocd

    def empty_remote(name: str) -> Path:  # as GitHub makes an empty repository: bare, HEAD at main
        (tmp_path / name).mkdir()
        gitops.GitRepo(tmp_path / name).git("init", "--quiet", "--bare", "--initial-branch=main")
        return tmp_path / name

    remote = empty_remote("guestbook-gitops.git")
    before = snapshot(kubeconfig)
    for attempt in ("first", "second"):
        with using_state_dir(tmp_path / "learner-state"):
            (result,) = _run("2", kubeconfig, tmp_path / attempt, params={"repo_remote": remote.as_uri()}).results
        assert result.status == "ok", (attempt, result.error)
        text = printed(result.output)
        assert "Synced, Healthy" in text and "after the Application was applied" in text, attempt
        assert "the commit was applied" in text, attempt  # section 5: Synced at the pushed second commit
        assert "guestbook-manual: OutOfSync" in text and "after the approval" in text, attempt
        assert "no Argo CD" not in text and "set repo_remote" not in text, attempt
        assert same_as(before, kubeconfig) == {}, attempt
    shas = gitops.GitRepo(remote).git("log", "--format=%s", "main").splitlines()
    assert shas[-1] == "guestbook: first version, 1 replica" and len(shas) >= 5, shas

    # the same on the cluster by hand, with the application controller stopped: nothing syncs a pushed commit
    work = gitops.GitRepo.init(tmp_path / "by-hand")
    work.write_objects(gitops.guestbook_manifests(replicas=1, namespace="by-hand"), folder="guestbook")
    work.commit("guestbook: first version, 1 replica")
    by_hand = empty_remote("by-hand.git").as_uri()  # the part's remote holds its own history, which this is not
    work.publish(by_hand)
    from course_lib import manifests as m

    app = m.argo_application("by-hand", repo_url=by_hand, path="guestbook", dest_namespace="by-hand")
    cluster = kc.connect("kubeconfig", kubeconfig=kubeconfig)
    try:
        apps = gitops.Applications(cluster)
        cluster.apply(app)
        apps.wait("by-hand", sync="Synced", health="Healthy", timeout=60)
        with using_state_dir(state):
            assert _argocd.stop_component("application-controller")
        work.write_objects(gitops.guestbook_manifests(replicas=3, namespace="by-hand"), folder="guestbook")
        pushed = work.commit("guestbook: scale to 3 replicas")
        with pytest.raises(cl_errors.ClusterError, match="did not reach"):
            apps.wait("by-hand", revision=pushed.sha, timeout=20, refresh=True)
        assert cluster.get("Deployment", "guestbook-ui", namespace="by-hand")["spec"]["replicas"] == 1
    finally:
        cluster.delete([app, m.namespace("by-hand")])
        cluster.close()


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
