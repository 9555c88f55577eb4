"""Benchmark: Argo CD's real controllers on the sandbox, from a cold start.

Prints seconds for: the components up (redis, repo-server, application controller, ApplicationSet controller, with
the argocd namespace's settings applied and the API server primed for the controller's first cluster-cache sync,
see course_lib.sandbox.crds.prime) against a running control plane with upstream's CRDs; the first sync of the guestbook after its
Application is applied (Synced and Healthy); a commit applied (polled, no refresh asked for); self-heal after
`kubectl scale` and after `kubectl delete deployment`; an ApplicationSet fanning out to the sandbox and a second
local control plane. Uses a temporary state directory and stops everything it
started. Needs `make tools` (argocd, the control plane) and redis-server. Issue 18's targets: up <= 20 s, first sync
<= 10 s, self-heal after delete <= 10 s, fan-out to 2 clusters <= 15 s.
"""

from __future__ import annotations

import os
import tempfile
import time


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import cluster as kc
    from course_lib import gitops, sandbox
    from course_lib import manifests as m
    from course_lib.sandbox import _argocd, _controlplane, crds

    if not (_controlplane.available() and _argocd.available()):
        print(f"not runnable here: {', '.join(_controlplane.missing_binaries() + _argocd.missing())}")
        return
    try:
        plane = _controlplane.cluster_up(nodes=3)
        cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
        crds.install(cluster)
        t0 = time.perf_counter()
        argocd = _argocd.up(plane.kubeconfig)
        print(f"Argo CD components up:                     {time.perf_counter() - t0:6.1f} s  ({argocd.version})")

        repo = gitops.GitRepo.init(tempfile.mkdtemp(prefix="gitops-bench-"))
        repo.write_objects(gitops.guestbook_manifests(replicas=2), folder="guestbook")
        repo.commit("guestbook: 2 replicas")
        app = m.argo_application(
            "guestbook", repo_url=gitops.repo_url(repo, local=True), path="guestbook", dest_namespace="guestbook"
        )
        t1 = time.perf_counter()
        cluster.apply(app)
        argocd.wait("guestbook", sync="Synced", health="Healthy", timeout=60)
        print(f"first sync (Synced + Healthy):             {time.perf_counter() - t1:6.1f} s")

        repo.write_objects(gitops.guestbook_manifests(replicas=3), folder="guestbook")
        second = repo.commit("guestbook: 3 replicas")
        t2 = time.perf_counter()
        argocd.wait("guestbook", sync="Synced", revision=second.sha, timeout=60)
        took = time.perf_counter() - t2
        print(f"commit applied (polled every {_argocd.APP_RESYNC_SECONDS} s):         {took:6.1f} s")

        scaled = gitops.heal_after_scale(cluster, replicas=5, timeout=60)
        print(f"self-heal after kubectl scale:             {scaled.seconds:6.1f} s  (healed: {scaled.healed})")
        time.sleep(2)
        deleted = gitops.heal_after_delete(cluster, timeout=60)
        print(f"self-heal after kubectl delete deployment: {deleted.seconds:6.1f} s  (healed: {deleted.healed})")

        from course_lib import regions as rg

        t4 = time.perf_counter()
        fleet = rg.local_fleet(argocd, kubeconfig=plane.kubeconfig)
        print(f"second control plane (fra1) up, registered: {time.perf_counter() - t4:5.1f} s")
        repo.write_objects(gitops.guestbook_manifests(namespace="global"), folder="global")
        repo.commit("global guestbook")
        appset = m.argo_application_set(
            "global", repo_url=gitops.repo_url(repo, local=True), path="global", app_namespace="global",
            cluster_labels={"env": "production"},
        )  # fmt: skip
        t5 = time.perf_counter()
        cluster.apply(appset)
        rows = rg.fan_out(argocd, appset, fleet, timeout=120)
        took = time.perf_counter() - t5
        print(f"ApplicationSet fan-out to {len(rows)} clusters (Healthy): {took:5.1f} s")
    finally:
        t3 = time.perf_counter()
        sandbox.down()
        print(f"sandbox down (Argo CD and control plane):  {time.perf_counter() - t3:6.1f} s")


if __name__ == "__main__":
    main()
