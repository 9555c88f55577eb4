"""Benchmark: the sandbox's Kubernetes control plane, from a cold start.

Prints seconds for: control plane up → `kubectl get nodes` shows the simulated nodes Ready; a 3-replica
Deployment applied by course_lib → 3 ready pods. (The log store has its own benchmark: log_store_up.py.)
Uses a temporary state directory and stops everything it started. Needs `make tools`.
"""

from __future__ import annotations

import os
import tempfile
import time


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import cluster as kc
    from course_lib import sandbox
    from course_lib.sandbox import _controlplane as cp

    if not cp.available():
        print(f"control plane not built ({', '.join(cp.missing_binaries())}): run `make tools`")
        return
    try:
        t0 = time.perf_counter()
        plane = cp.cluster_up(nodes=3)
        print(f"control plane up, 3 nodes Ready:        {time.perf_counter() - t0:6.1f} s  ({plane.server})")
        cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
        deploy = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "bench"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        }
        t1 = time.perf_counter()
        cluster.apply([ns, deploy])
        cluster.rollout_status("web", namespace="bench", timeout=60)
        print(f"Deployment of 3 replicas → 3 ready pods: {time.perf_counter() - t1:6.1f} s")

    finally:
        sandbox.down()


if __name__ == "__main__":
    main()
