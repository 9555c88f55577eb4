"""Memory of the course's processes, shared by the memory benchmarks.

``sandbox_rss()`` sums the memory per program name over every process of the sandbox whose state folder is
``COURSE_STATE_DIR``; ``kernel_rss()`` does the same for the Jupyter kernels started by this process.

The figure is the proportional set size (PSS, from /proc/PID/smaps_rollup): a page shared by N processes counts
1/N in each, so the sum over processes is what they really take together. The resident set (RSS) counts shared
pages once per process: for PostgreSQL's primary, two replicas and their shared buffers it overstated the total
by about a gigabyte. Where PSS cannot be read (another user's process), RSS is used.
"""

from __future__ import annotations

import os
from collections import defaultdict


def _mib(p: object, rss: int) -> float:
    """MiB of proportional set size of psutil process ``p``, or of ``rss`` bytes where PSS cannot be read."""
    import psutil

    try:
        return p.memory_full_info().pss / 2**20  # type: ignore[attr-defined]
    except (psutil.AccessDenied, AttributeError):
        return rss / 2**20


def sandbox_processes(state: str | None = None) -> list[tuple[int, str, float]]:
    """(pid, program name, MiB resident) of every process of this sandbox: those carrying its marker, and the
    control plane's (kwokctl starts them from the state folder, without the marker)."""
    import psutil

    state = state or os.environ["COURSE_STATE_DIR"]
    found = []
    for p in psutil.process_iter(["name", "environ", "cmdline", "memory_info"]):
        try:
            env = p.info["environ"] or {}
            ours = env.get("COURSE_SANDBOX_STATE", "").startswith(state) or state in " ".join(p.info["cmdline"] or ())
            if not ours or p.pid == os.getpid():
                continue
            found.append((p.pid, p.info["name"], _mib(p, p.info["memory_info"].rss)))
        except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError):
            continue
    return found


def sandbox_rss(state: str | None = None) -> dict[str, float]:
    """MiB of resident memory per program name over :func:`sandbox_processes`."""
    totals: dict[str, float] = defaultdict(float)
    for _pid, name, mib in sandbox_processes(state):
        totals[name] += mib
    return dict(totals)


def kernel_rss(exclude: set[int] | None = None) -> dict[str, float]:
    """MiB of resident memory of the Jupyter kernels (``ipykernel`` in the command line) among this process's
    descendants, skipping ``exclude`` (pids already counted as sandbox processes)."""
    import psutil

    exclude = exclude or set()
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            if p.pid in exclude or "ipykernel" not in " ".join(p.cmdline()):
                continue
            total += _mib(p, p.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return {"kernel (ipykernel)": total} if total else {}
