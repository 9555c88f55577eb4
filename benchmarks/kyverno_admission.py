"""Benchmark: Kyverno's admission webhook on the sandbox — start-up and admission latency.

1. Seconds from ``sandbox.kyverno_up()`` to its webhooks registered with the API server (the first start also
   applies its CRDs).
2. Median and 95th percentile of N server-side dry-run creates (``POST ...?dryRun=All``, admission runs in full,
   nothing is stored) of a non-root Pod: with no Kyverno policy (the API server does not call Kyverno), then with
   the course's ValidatingPolicy (every create goes through Kyverno's webhook at https://127.0.0.1:PORT), then with
   the ClusterPolicy. The difference is what the webhook adds; Kyverno writes ``timeoutSeconds: 10`` into its
   webhooks, the budget it must stay far below.

Uses a temporary state directory (its own control plane) and stops everything it started.
Needs `make tools` (the control plane and Kyverno's admission controller). Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

N = 50


def _latencies(cluster, pod, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        cluster.apply(pod, dry_run=True)
        out.append(time.perf_counter() - t0)
    return out


def _summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"median {1000 * statistics.median(times):.1f} ms, p95 {1000 * q[18]:.1f} ms (n={len(times)})"


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import manifests as m
    from course_lib import policy, sandbox
    from course_lib.cluster import connect
    from course_lib.config import Settings
    from course_lib.sandbox import _controlplane, _kyverno

    if not _kyverno.available() or not _controlplane.available():
        print("Kyverno's admission controller or the control plane is not built: run `make tools`")
        return
    plane = _controlplane.cluster_up()
    cluster = connect("kubeconfig", kubeconfig=plane.kubeconfig, settings=Settings(target="kubeconfig"))
    ns = "bench-kyverno"
    try:
        t0 = time.perf_counter()
        k = sandbox.kyverno_up(kubeconfig=plane.kubeconfig)
        print(f"kyverno up → webhooks registered (first start, with CRDs): {time.perf_counter() - t0:.2f} s")
        sandbox.kyverno_down()
        t0 = time.perf_counter()
        k = sandbox.kyverno_up(kubeconfig=plane.kubeconfig)
        print(f"kyverno up → webhooks registered (restart): {time.perf_counter() - t0:.2f} s")
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        pod = policy.sample_pods(namespace=ns)[0]
        policy.admission_attempts(cluster, [pod])  # waits for the namespace's default ServiceAccount
        _latencies(cluster, pod, 5)
        print(f"dry-run create, no Kyverno policy: {_summary(_latencies(cluster, pod, N))}")
        vpol = m.kyverno_validating_policy("bench-no-root", namespaces=[ns])
        cluster.apply(vpol)
        policy.wait_kyverno_ready(cluster, vpol)
        _latencies(cluster, pod, 5)
        print(f"dry-run create through Kyverno (ValidatingPolicy): {_summary(_latencies(cluster, pod, N))}")
        cluster.delete(vpol)
        cpol = m.kyverno_disallow_root("bench-disallow-root")
        cluster.apply(cpol)
        policy.wait_kyverno_ready(cluster, cpol)
        _latencies(cluster, pod, 5)
        print(f"dry-run create through Kyverno (ClusterPolicy): {_summary(_latencies(cluster, pod, N))}")
        timeouts = {r["timeoutSeconds"] for r in _kyverno.webhook_configurations(k.kubeconfig)}
        print(f"webhook timeoutSeconds written by Kyverno: {sorted(t for t in timeouts if t is not None)}")
    finally:
        cluster.close()
        sandbox.down()


if __name__ == "__main__":
    main()
