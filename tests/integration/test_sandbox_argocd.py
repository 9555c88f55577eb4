"""Argo CD's real controllers on the sandbox: sync, a change in Git, self-heal, prune, manual sync.

Each loop is driven against the real processes (redis, repo-server, application controller, ApplicationSet
controller) acting on the sandbox's kube-apiserver, from a real local Git repository (``file://``). One test stops
the application controller and shows that then nothing syncs; the last one checks ``down`` leaves no process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import cluster as kc
from course_lib import gitops
from course_lib import manifests as m
from course_lib.errors import ClusterError
from course_lib.sandbox import _argocd, _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.tools,
    pytest.mark.skipif(not _controlplane.available(), reason="the control plane is not built: run `make tools`"),
    pytest.mark.skipif(
        not _argocd.available(), reason=f"Argo CD cannot run on the sandbox: missing {', '.join(_argocd.missing())}"
    ),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[kc.Cluster]:
    from course_lib.sandbox import crds

    plane = _controlplane.cluster_up(nodes=3)
    c = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
    crds.install(c)  # Argo CD's CRDs, as the session installs them
    yield c
    c.close()


@pytest.fixture(scope="module")
def argocd(cluster: kc.Cluster) -> _argocd.ArgoCD:
    return _argocd.up(str(cluster.kubeconfig))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> gitops.GitRepo:
    return gitops.GitRepo.init(tmp_path_factory.mktemp("gitops-repo"))


def _app(repo: gitops.GitRepo, *, replicas: int = 1, automated: bool = True):
    """A folder of its own in the repository (committed) and an Application for it into a namespace of its own."""
    name = f"gb-{uuid.uuid4().hex[:6]}"
    repo.write_objects(gitops.guestbook_manifests(replicas=replicas, namespace=name), folder=name)
    commit = repo.commit(f"{name}: {replicas} replica(s)")
    app = m.argo_application(
        name, repo_url=gitops.repo_url(repo, local=True), path=name, dest_namespace=name, automated=automated
    )
    return name, app, commit


def _replicas(cluster: kc.Cluster, ns: str) -> int | None:
    try:
        return int(cluster.get("Deployment", "guestbook-ui", namespace=ns)["spec"]["replicas"])
    except ClusterError:
        return None


def _until(check, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.2)
    return time.monotonic() - start


def test_components_run_and_listen_on_loopback_only(argocd: _argocd.ArgoCD) -> None:
    info = _argocd.status()
    assert info["recorded"] and info["healthy"], info
    assert {r["component"] for r in info["components"]} == set(_argocd.COMPONENTS)
    assert argocd.version.startswith("v3.2.11"), argocd.version
    listeners = _listeners({int(r["pid"]) for r in info["components"]})
    ports = argocd.ports
    assert ports["redis"] in listeners and ports["repo-server"] in listeners
    assert ports["application-controller-metrics"] in listeners
    exposed = {port: addr for port, addr in listeners.items() if addr != "127.0.0.1"}
    # Argo CD 3.2 hard-codes the application controller's metrics/health server to 0.0.0.0; `make tools` builds it
    # with that one line patched (ARGOCD_PATCH in pins.env), so every listener the course starts is on 127.0.0.1.
    assert exposed == {}, exposed


def _tcp_sockets(pids: set[int]) -> Iterator[list[str]]:
    """The /proc/net/tcp{,6} rows (split into fields) of the TCP sockets owned by ``pids``."""
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes:
                yield f


def _listeners(pids: set[int]) -> dict[int, str]:
    """port -> address of the TCP sockets in LISTEN state owned by ``pids`` (from /proc)."""
    out: dict[int, str] = {}
    for f in _tcp_sockets(pids):
        if f[3] == "0A":  # LISTEN
            addr, port = f[1].split(":")
            ip = ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0)) if len(addr) == 8 else addr
            out[int(port, 16)] = ip
    return out


def test_sync_creates_the_objects_synced_and_healthy(
    cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo
) -> None:
    name, app, commit = _app(repo, replicas=2)
    assert _replicas(cluster, name) is None  # nothing there before Argo CD acts
    cluster.apply(app)
    seconds, state = argocd.wait(name, sync="Synced", health="Healthy", timeout=60)
    assert state.revision == commit.sha
    assert _replicas(cluster, name) == 2
    svc = cluster.get("Service", "guestbook-ui", namespace=name)
    assert svc["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].startswith(f"{name}:")
    # Argo CD 3 tracks by annotation (<app>:<group>/<kind>:<namespace>/<name>), no longer by the instance label
    deployment = cluster.get("Deployment", "guestbook-ui", namespace=name)
    assert gitops.tracking(deployment) == {
        "tracking-id": f"{name}:apps/Deployment:{name}/guestbook-ui",
        "instance label": None,
    }
    live_cm = cluster.get("ConfigMap", "argocd-cm", namespace="argocd")
    assert "- Lease" in live_cm["data"]["resource.exclusions"]  # the install manifest's default exclusions


def test_a_commit_is_applied(cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo) -> None:
    name, app, _ = _app(repo, replicas=1)
    cluster.apply(app)
    argocd.wait(name, sync="Synced", timeout=60)
    repo.write_objects(gitops.guestbook_manifests(replicas=3, namespace=name), folder=name)
    second = repo.commit(f"{name}: 3 replicas")
    argocd.wait(name, sync="Synced", revision=second.sha, timeout=30)  # polled, no refresh asked for
    _until(lambda: _replicas(cluster, name) == 3)


def test_self_heal_undoes_scale_and_delete(cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo) -> None:
    name, app, _ = _app(repo, replicas=2)
    cluster.apply(app)
    argocd.wait(name, sync="Synced", health="Healthy", timeout=60)
    scaled = gitops.heal_after_scale(cluster, namespace=name, replicas=5, timeout=30)
    assert scaled.healed and _replicas(cluster, name) == 2, scaled
    deleted = gitops.heal_after_delete(cluster, namespace=name, timeout=30)
    assert deleted.healed, deleted
    assert _replicas(cluster, name) == 2


def test_prune_deletes_what_left_git(cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo) -> None:
    name = f"gb-{uuid.uuid4().hex[:6]}"
    banner = m.config_map("old-banner", namespace=name, data={"TEXT": "sale!"})
    repo.write_objects([*gitops.guestbook_manifests(namespace=name), banner], folder=name)
    repo.commit(f"{name}: guestbook and a banner")
    app = m.argo_application(name, repo_url=gitops.repo_url(repo, local=True), path=name, dest_namespace=name)
    cluster.apply(app)
    argocd.wait(name, sync="Synced", timeout=60)
    assert _exists_cm(cluster, name)
    (repo.path / name / gitops.file_name(banner)).unlink()
    third = repo.commit(f"{name}: remove the banner")
    argocd.wait(name, sync="Synced", revision=third.sha, timeout=30)
    _until(lambda: not _exists_cm(cluster, name))
    assert _replicas(cluster, name) == 1  # the rest stays


def _exists_cm(cluster: kc.Cluster, ns: str) -> bool:
    try:
        cluster.get("ConfigMap", "old-banner", namespace=ns)
    except ClusterError:
        return False
    return True


def test_manual_sync_waits_for_a_person(cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo) -> None:
    name, app, commit = _app(repo, replicas=2, automated=False)
    cluster.apply(app)
    _, state = argocd.wait(name, sync="OutOfSync", timeout=60)
    time.sleep(2 * _argocd.APP_RESYNC_SECONDS)  # two more comparisons: still nothing applied
    assert argocd.application(name).sync == "OutOfSync"
    assert _replicas(cluster, name) is None
    argocd.sync(name)  # what `argocd app sync` does
    _, state = argocd.wait(name, sync="Synced", timeout=60)
    assert state.revision == commit.sha and _replicas(cluster, name) == 2


def test_without_the_application_controller_nothing_syncs(
    cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo
) -> None:
    name, app, _ = _app(repo, replicas=1)
    cluster.apply(app)
    argocd.wait(name, sync="Synced", timeout=60)
    assert _argocd.stop_component("application-controller")
    try:
        repo.write_objects(gitops.guestbook_manifests(replicas=4, namespace=name), folder=name)
        repo.commit(f"{name}: 4 replicas while the controller is stopped")
        cluster.dynamic.patch(
            cluster.dynamic.resources.get(api_version="apps/v1", kind="Deployment"),
            name="guestbook-ui",
            namespace=name,
            body={"spec": {"replicas": 7}},
            content_type="application/merge-patch+json",
        )
        time.sleep(3 * _argocd.APP_RESYNC_SECONDS)
        assert _replicas(cluster, name) == 7  # neither the commit nor self-heal happened
        assert not _argocd.status()["healthy"]
    finally:
        again = _argocd.up(str(cluster.kubeconfig))  # restarts the set
    assert not again.reused
    _until(lambda: _replicas(cluster, name) == 4, timeout=60)


def test_sync_waves_of_child_applications_gate(
    cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo
) -> None:
    """App of apps: with argocd-cm's Application health check, the root creates a wave's child Applications only
    after the previous wave's children are Healthy (the capstone's ordering)."""
    from datetime import datetime

    tag = uuid.uuid4().hex[:5]
    url = gitops.repo_url(repo, local=True)
    children = []
    for wave in (-1, 0, 1):
        name = f"w{wave + 1}-{tag}"
        repo.write_objects(gitops.guestbook_manifests(replicas=2, namespace=name), folder=f"waves-{tag}/{name}")
        child = m.argo_application(name, repo_url=url, path=f"waves-{tag}/{name}", dest_namespace=name)
        child["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
        children.append(child)
    repo.write_objects(children, folder=f"apps-{tag}")
    repo.commit(f"app of apps {tag}: three waves")
    root = m.argo_app_of_apps(f"root-{tag}", repo_url=url, path=f"apps-{tag}")
    root["metadata"].pop("finalizers")  # the test's clean-up does not wait for a cascade
    root["spec"]["source"].pop("directory")  # only this folder, not the guestbooks below the repository root
    cluster.apply(root)
    argocd.wait(f"root-{tag}", sync="Synced", health="Healthy", timeout=120)

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    apps = [
        cluster.get("Application", c["metadata"]["name"], namespace="argocd", api_version="argoproj.io/v1alpha1")
        for c in children
    ]
    for earlier, later in zip(apps, apps[1:], strict=False):
        # The end of the earlier child's *first* sync (its oldest history entry). Not operationState.finishedAt:
        # that is the latest operation's, and it is missing while a later auto-sync of the child is still running.
        healthy_at = when(earlier["status"]["history"][0]["deployedAt"])
        created_at = when(later["metadata"]["creationTimestamp"])
        assert created_at >= healthy_at, (
            earlier["metadata"]["name"],
            healthy_at,
            later["metadata"]["name"],
            created_at,
        )


def test_the_root_recreates_a_child_deleted_with_kubectl_but_not_while_its_controller_is_stopped(
    cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo
) -> None:
    """Notebook 10's step: ``kubectl -n argocd delete application <child>``, and the root's selfHeal creates the
    child again from Git (a new object); with the application controller stopped it stays deleted."""
    tag = uuid.uuid4().hex[:5]
    url = gitops.repo_url(repo, local=True)
    child_name = f"child-{tag}"
    repo.write_objects(gitops.guestbook_manifests(namespace=child_name), folder=f"kids-{tag}/{child_name}")
    child = m.argo_application(child_name, repo_url=url, path=f"kids-{tag}/{child_name}", dest_namespace=child_name)
    repo.write_objects([child], folder=f"apps-{tag}")
    repo.commit(f"app of apps {tag}: one child")
    root = m.argo_app_of_apps(f"root-{tag}", repo_url=url, path=f"apps-{tag}")
    root["metadata"].pop("finalizers")  # the test's clean-up does not wait for a cascade
    root["spec"]["source"].pop("directory")
    cluster.apply(root)
    argocd.wait(f"root-{tag}", sync="Synced", health="Healthy", timeout=120)
    argocd.wait(child_name, sync="Synced", health="Healthy", timeout=120)

    def uid() -> str | None:
        try:
            got = cluster.get("Application", child_name, namespace="argocd", api_version="argoproj.io/v1alpha1")
        except ClusterError:
            return None
        return str(got["metadata"]["uid"])

    first = uid()
    argocd.kubectl("-n", "argocd", "delete", "applications.argoproj.io", child_name)
    _until(lambda: uid() not in (None, first), timeout=60)
    argocd.wait(child_name, sync="Synced", health="Healthy", timeout=120)

    assert _argocd.stop_component("application-controller")
    try:
        argocd.kubectl("-n", "argocd", "delete", "applications.argoproj.io", child_name)
        time.sleep(3 * _argocd.APP_RESYNC_SECONDS)
        assert uid() is None  # nobody put it back
    finally:
        _argocd.up(str(cluster.kubeconfig))  # restarts the set
    _until(lambda: uid() is not None, timeout=60)


def test_nothing_outside_the_machine_is_contacted(cluster: kc.Cluster, argocd: _argocd.ArgoCD) -> None:
    """An Application naming GitHub, and one naming a registered cluster on DigitalOcean (Part 9's demo fleet), are
    refused by the sandbox's AppProject; no socket of Argo CD's processes ever points off the machine."""
    from course_lib import regions as rg

    far = rg.example_clusters()[0]  # a cluster Secret whose server is https://<name>.k8s.ondigitalocean.com
    github = m.argo_application("t-github", repo_url=gitops.EXAMPLE_REPO, path="guestbook", dest_namespace="t-gh")
    remote = m.argo_application(
        "t-remote",
        repo_url="file:///nonexistent",
        path="x",
        dest_namespace="t-remote",
        dest_server=far["stringData"]["server"],
    )
    cluster.apply([{**far, "metadata": {**far["metadata"], "namespace": "argocd"}}, github, remote])
    try:
        for name, needle in (
            ("t-github", "is not permitted in project"),
            ("t-remote", "allowed destinations in project"),
        ):
            deadline = time.monotonic() + 30
            while True:
                conditions = (
                    cluster.get("Application", name, namespace="argocd", api_version="argoproj.io/v1alpha1").get(
                        "status"
                    )
                    or {}
                ).get("conditions") or []
                if any(needle in c.get("message", "") for c in conditions):
                    break
                assert time.monotonic() < deadline, conditions
                time.sleep(0.3)
        time.sleep(2)
        pids = {int(r["pid"]) for r in argocd.components()}
        assert not _remote_sockets(pids)
    finally:
        cluster.delete([github, remote, {**far, "metadata": {**far["metadata"], "namespace": "argocd"}}])


def _remote_sockets(pids: set[int]) -> list[str]:
    """Remote addresses of TCP sockets owned by ``pids`` that are not loopback (and not unconnected)."""
    out = []
    for f in _tcp_sockets(pids):
        remote = f[2].split(":")[0]
        if f[3] != "0A" and remote.strip("0") and not _loopback(remote):
            out.append(f[2])
    return out


def _loopback(hex_addr: str) -> bool:
    if len(hex_addr) == 8:
        return hex_addr.endswith("7F")  # little-endian 127.x.x.x
    return hex_addr in ("00000000000000000000000001000000", "0000000000000000FFFF00000100007F")


def test_applicationset_fans_out_to_two_local_clusters(
    cluster: kc.Cluster, argocd: _argocd.ArgoCD, repo: gitops.GitRepo
) -> None:
    """Part 9: the real ApplicationSet controller makes one Application per cluster labelled env=production (the
    sandbox as nyc1, a second local control plane as fra1); each cluster receives the guestbook; relabelling fra1
    removes its Application."""
    fra1 = _controlplane.extra_cluster_up("fra1", nodes=1)
    tag = uuid.uuid4().hex[:5]
    ns = f"gg-{tag}"
    secrets = [
        argocd.register_cluster("nyc1", labels={"env": "production", "region": "nyc1"}),
        argocd.register_cluster("fra1", labels={"env": "production", "region": "fra1"}, kubeconfig=fra1.kubeconfig),
    ]
    repo.write_objects(gitops.guestbook_manifests(namespace=ns), folder=f"global-{tag}")
    repo.commit(f"global guestbook {tag}")
    appset = m.argo_application_set(
        ns,
        repo_url=gitops.repo_url(repo, local=True),
        path=f"global-{tag}",
        app_namespace=ns,
        cluster_labels={"env": "production"},
    )
    remote = kc.connect("sandbox", kubeconfig=fra1.kubeconfig)
    try:
        cluster.apply(appset)
        for region in ("nyc1", "fra1"):
            argocd.wait(f"{ns}-{region}", sync="Synced", health="Healthy", timeout=90)
        assert _replicas(cluster, ns) == 1
        assert int(remote.get("Deployment", "guestbook-ui", namespace=ns)["spec"]["replicas"]) == 1
        argocd.register_cluster("fra1", labels={"env": "staging", "region": "fra1"}, kubeconfig=fra1.kubeconfig)
        _until(lambda: not _app_exists(cluster, f"{ns}-fra1"), timeout=60)
        assert _app_exists(cluster, f"{ns}-nyc1")
    finally:
        cluster.delete([appset, *secrets])
        remote.close()
        _controlplane.extra_clusters_down()


def _app_exists(cluster: kc.Cluster, name: str) -> bool:
    try:
        cluster.get("Application", name, namespace="argocd", api_version="argoproj.io/v1alpha1")
    except ClusterError:
        return False
    return True


def test_down_stops_every_process(cluster: kc.Cluster) -> None:
    handle = _argocd.up(str(cluster.kubeconfig))
    pids = [int(r["pid"]) for r in handle.components()]
    stopped = _argocd.down()
    assert len(stopped) >= len(_argocd.COMPONENTS), stopped
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] in "ZX"
    marker = f"COURSE_SANDBOX_STATE={_argocd.state_file()}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                env = (entry / "environ").read_bytes()
            except OSError:
                continue
            assert marker not in env.split(b"\0"), f"pid {entry.name} still runs"
    assert not _argocd.status()["recorded"]
