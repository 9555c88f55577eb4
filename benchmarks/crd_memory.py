"""What upstream's CRDs cost the sandbox's kube-apiserver in memory, project by project.

Run: ``.venv/bin/python benchmarks/crd_memory.py [--alone] [SETTLE_SECONDS]`` (default 30; about five minutes). It starts the
control plane in a temporary COURSE_STATE_DIR (``cluster_up``, not a session, so no CRD is installed yet), reads
the kube-apiserver's PSS with no CRD, then installs the fetched CRDs one project at a time (the biggest YAML first)
and prints the PSS after each, with the increment. The sandbox is stopped at the end. Numbers, not a test.

What it answers: whether installing only a part's CRDs (instead of all of them at session start) would bring a
notebook's peak under the 1.5 GiB budget (benchmarks/notebook_memory.py).

``--alone``: each project's CRDs on a control plane of their own (a fresh one per project, about 40 s each), and
then Argo CD's ApplicationSet CRD by itself: what each costs without the others before it. One after another, the
increments depend on the order (the first big project pays for much the others then share); alone they say what
leaving one project out saves. Each line also gives the Go heap in use from the server's own ``/metrics``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from _memory import sandbox_processes

if TYPE_CHECKING:  # pragma: no cover
    from course_lib.cluster import Cluster


def _apiserver_pss(state: str) -> float:
    return sum(mib for _pid, name, mib in sandbox_processes(state) if name == "kube-apiserver")


def _heap_inuse_mib(cluster: Cluster) -> float:
    """The kube-apiserver's Go heap in use, from its own ``/metrics``."""
    for line in cluster.get_raw("/metrics").text.splitlines():
        if line.startswith("go_memstats_heap_inuse_bytes "):
            return float(line.split()[1]) / 2**20
    return 0.0


def _down() -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("course")), "sandbox", "down"],
        env=os.environ,
        capture_output=True,
        check=False,
    )


def _by_project() -> dict[str, list[dict]]:
    """The fetched CRDs by the project they come from (``crds.manifest``)."""
    from course_lib.sandbox import crds

    by_group: dict[str, str] = {e.group: e.project for e in crds.manifest()}
    objects: dict[str, list[dict]] = defaultdict(list)
    for crd in crds.load():
        objects[by_group.get(crd["spec"]["group"], "other")].append(crd)
    return objects


def alone(settle: float) -> None:
    """Each project's CRDs (and the ApplicationSet CRD) on a fresh control plane of its own."""
    from course_lib import cluster as kc
    from course_lib.sandbox import _controlplane

    by_project = _by_project()
    by_project["ApplicationSet CRD only"] = [
        c for c in by_project.get("Argo CD", []) if c["metadata"]["name"] == "applicationsets.argoproj.io"
    ]
    for project, docs in by_project.items():
        os.environ["COURSE_STATE_DIR"] = state = tempfile.mkdtemp(prefix="course-bench-crds-")
        try:
            plane = _controlplane.cluster_up(nodes=3)
            cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
            time.sleep(settle)
            bare, bare_heap = _apiserver_pss(state), _heap_inuse_mib(cluster)
            cluster.apply(docs, force=True)
            time.sleep(settle)
            now, heap = _apiserver_pss(state), _heap_inuse_mib(cluster)
            print(
                f"{project:<26} {bare:5.0f} -> {now:5.0f} MiB PSS ({now - bare:+5.0f}), heap in use {bare_heap:4.0f} -> "
                f"{heap:4.0f} MiB; {len(docs)} CRDs, {len(json.dumps(docs)) / 1e6:.2f} MB",
                flush=True,
            )
        finally:
            _down()


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--alone"]
    settle = float(args[0]) if args else 30.0
    from course_lib import cluster as kc
    from course_lib.sandbox import _controlplane, crds

    if not crds.available():
        print("no fetched CRDs (run `make tools` first)")
        return
    if "--alone" in sys.argv[1:]:
        alone(settle)
        return
    state = tempfile.mkdtemp(prefix="course-bench-crds-")
    os.environ["COURSE_STATE_DIR"] = state
    objects = _by_project()
    order = sorted(objects, key=lambda p: -len(json.dumps(objects[p])))
    try:
        plane = _controlplane.cluster_up(nodes=3)
        cluster = kc.connect("sandbox", kubeconfig=plane.kubeconfig)
        time.sleep(settle)
        before = _apiserver_pss(state)
        print(f"{'no CRD':<28} {before:6.0f} MiB", flush=True)
        for project in order:
            cluster.apply(objects[project], force=True)
            time.sleep(settle)
            now = _apiserver_pss(state)
            size = len(json.dumps(objects[project])) / 1e6
            print(
                f"+ {project:<26} {now:6.0f} MiB  ({now - before:+5.0f}; {len(objects[project])} CRDs, {size:.1f} MB)",
                flush=True,
            )
            before = now
    finally:
        _down()


if __name__ == "__main__":
    main()
