"""Benchmark: the real Sealed Secrets controller on the sandbox.

Prints seconds for: the controller up against a running control plane (a cold start makes its RSA 4096 key first;
a second start reuses the key Secret it left in kube-system), sealing one Secret with `kubeseal --cert` and the
controller's loopback certificate URL, and the Secret appearing after the SealedSecret is applied. Uses a temporary
state directory and stops everything it started. Needs `make tools` (kubeseal with the controller, the control
plane).
"""

from __future__ import annotations

import os
import tempfile
import time


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-")
    from course_lib import cluster as kc
    from course_lib import manifests as m
    from course_lib import sandbox, sealing
    from course_lib.sandbox import _controlplane, _sealed_secrets

    if not (_controlplane.available() and _sealed_secrets.available()):
        print("not runnable here: run `make tools` (the control plane and kubeseal's controller)")
        return
    try:
        plane = _controlplane.cluster_up()
        cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
        t0 = time.perf_counter()
        ctl = sandbox.sealed_secrets_up(kubeconfig=plane.kubeconfig)
        print(f"controller up (new key):        {time.perf_counter() - t0:6.2f} s  ({ctl.version})")
        sandbox.sealed_secrets_down()
        t0 = time.perf_counter()
        ctl = sandbox.sealed_secrets_up(kubeconfig=plane.kubeconfig)
        print(f"controller up (key kept):       {time.perf_counter() - t0:6.2f} s")
        cluster.apply(m.namespace("bench-sealed"))
        secret = m.secret("bench", namespace="bench-sealed", string_data={"password": os.urandom(12).hex()})
        t1 = time.perf_counter()
        sealed = sealing.seal(secret, cert=ctl.cert_url)
        print(f"kubeseal --cert URL (seal):     {time.perf_counter() - t1:6.2f} s")
        t2 = time.perf_counter()
        cluster.apply(sealed)
        got = sealing.wait_unsealed(cluster, "bench", namespace="bench-sealed", timeout=60, interval=0.05)
        print(f"SealedSecret applied -> Secret: {time.perf_counter() - t2:6.2f} s  ({got.owner})")
    finally:
        sandbox.down()


if __name__ == "__main__":
    main()
