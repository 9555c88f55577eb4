"""Resident memory of the sandbox, service by service, as it grows through the course (Binder: 1 GB guaranteed,
the kernel is restarted above 2 GB).

Run: ``.venv/bin/python benchmarks/sandbox_memory.py`` (a temporary COURSE_STATE_DIR; about a minute). It starts
the monitoring stack, then the control plane (with upstream's CRDs), then Traefik, then PostgreSQL, and after
each step prints every sandbox process's resident set (processes carrying the sandbox's marker) and the total.
Argo CD is added when `make tools` built it (``session.gitops()``).
"""

from __future__ import annotations

import os
import tempfile
import time

from _memory import sandbox_rss


def _report(step: str) -> float:
    time.sleep(3)  # let the processes settle after start-up
    rss = sandbox_rss()
    total = sum(rss.values())
    top = ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(rss.items(), key=lambda kv: -kv[1])[:8])
    print(f"{step:<40} total {total:7.1f} MiB   ({top})")
    return total


def main() -> None:
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-mem-")
    import course_lib as cl
    from course_lib import sandbox, traffic

    session = cl.start(target="sandbox")
    try:
        session.stack()
        _report("stack (Part 3)")
        cluster = session.cluster
        _report("+ control plane, upstream CRDs")
        if session.capabilities.runs("traefik"):
            traffic.start_edge(cluster)
            _report("+ Traefik and two backends (Part 4)")
        if session.postgres() is not None:
            _report("+ PostgreSQL x3 and PgBouncer (Part 8)")
        gitops = getattr(session, "gitops", None)
        if gitops is not None and gitops() is not None:
            _report("+ Argo CD and redis (Part 2)")
    finally:
        stopped = sandbox.down()
        print(f"down: {len(stopped)} stopped")


if __name__ == "__main__":
    main()
