"""What upstream's CRDs cost the sandbox's kube-apiserver in memory, project by project.

Run: ``.venv/bin/python benchmarks/crd_memory.py [SETTLE_SECONDS]`` (default 30; about five minutes). It starts the
control plane in a temporary COURSE_STATE_DIR (``cluster_up``, not a session, so no CRD is installed yet), reads
the kube-apiserver's PSS with no CRD, then installs the fetched CRDs one project at a time (the biggest YAML first)
and prints the PSS after each, with the increment. The sandbox is stopped at the end. Numbers, not a test.

What it answers: whether installing only a part's CRDs (instead of all of them at session start) would bring a
notebook's peak under the 1.5 GiB budget (benchmarks/notebook_memory.py).
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

from _memory import sandbox_processes


def _apiserver_pss(state: str) -> float:
    return sum(mib for _pid, name, mib in sandbox_processes(state) if name == "kube-apiserver")


def main() -> None:
    settle = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    state = tempfile.mkdtemp(prefix="course-bench-crds-")
    os.environ["COURSE_STATE_DIR"] = state
    from course_lib import cluster as kc
    from course_lib.sandbox import _controlplane, crds

    if not crds.available():
        print("no fetched CRDs (run `make tools` first)")
        return
    by_group: dict[str, str] = {e.group: e.project for e in crds.manifest()}
    objects: dict[str, list[dict]] = defaultdict(list)
    for crd in crds.load():
        objects[by_group.get(crd["spec"]["group"], "other")].append(crd)
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
        subprocess.run(
            [str(Path(sys.executable).with_name("course")), "sandbox", "down"],
            env=os.environ,
            capture_output=True,
            check=False,
        )


if __name__ == "__main__":
    main()
