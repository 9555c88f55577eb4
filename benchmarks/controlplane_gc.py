"""What the control plane's Go memory limit costs in CPU: the sandbox's kube-apiserver, idle, holding upstream's
CRDs, under each ``GOMEMLIMIT`` given (default: ``300MiB 450MiB 600MiB off``; the course sets 600MiB).

Run: ``.venv/bin/python benchmarks/controlplane_gc.py [--argocd] [LIMIT ...]`` (a temporary COURSE_STATE_DIR per limit; about
two minutes each). For each limit it starts the control plane the way a session does (``session.cluster``, which
installs upstream's CRDs), lets it settle, then reads the kube-apiserver's CPU time (utime + stime in /proc) over a
window with nothing asking it anything, and prints the CPU share of one core and the memory (RSS and PSS) at the
end. ``default`` measures the course's own limits (no ``GOMEMLIMIT`` in the environment); ``--argocd`` also starts
Argo CD's components (their own limit, ``ARGOCD_GOMEMLIMIT``, unless a LIMIT is given; starting them primes the
API server, which then holds the handlers of every CRD, see ``sandbox.crds.prime``) and measures each. A soft
limit below the live heap makes Go's collector run back to back: CPU rises while memory barely falls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _memory import sandbox_processes

SETTLE_SECONDS = 30
WINDOW_SECONDS = 40


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _label(pid: int, name: str) -> str:
    """The program's name; Argo CD's components are one binary told apart by ``ARGOCD_BINARY_NAME``."""
    try:
        env = dict(e.split("=", 1) for e in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in e)
    except OSError:
        return name
    return env.get("ARGOCD_BINARY_NAME", name)


def measure(limit: str, *, argocd: bool = False) -> list[str]:
    """One limit (``default``: the course's own), in a child interpreter of its own (the processes read GOMEMLIMIT
    when they start); with ``argocd`` the session also starts Argo CD's components."""
    state = tempfile.mkdtemp(prefix="course-bench-gc-")
    env = {**os.environ, "COURSE_STATE_DIR": state}
    env.pop("GOMEMLIMIT", None)
    if limit != "default":
        env["GOMEMLIMIT"] = limit
    code = (
        "import course_lib as cl; s = cl.start(target='sandbox'); s.cluster; "
        + ("s.gitops(); " if argocd else "")
        + "print('up', flush=True); import sys; sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "up":
            return [f"{limit:>8}: the sandbox did not start"]
        time.sleep(SETTLE_SECONDS)
        procs = {pid: _label(pid, name) for pid, name, _mib in sandbox_processes(state)}
        watched = {
            pid: label for pid, label in procs.items() if label == "kube-apiserver" or label.startswith("argocd")
        }
        before, t0 = {pid: _cpu_seconds(pid) for pid in watched}, time.monotonic()
        time.sleep(WINDOW_SECONDS)
        seconds = time.monotonic() - t0
        pss = {pid: mib for pid, _name, mib in sandbox_processes(state)}
        return [
            f"{limit:>8}: {label:<34} idle CPU {(_cpu_seconds(pid) - before[pid]) / seconds * 100:5.1f} % of a core"
            f"   RSS {_rss_mib(pid):5.0f} MiB   PSS {pss.get(pid, 0):5.0f} MiB"
            for pid, label in sorted(watched.items(), key=lambda kv: kv[1])
        ]
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(timeout=60)
        subprocess.run(
            [str(Path(sys.executable).with_name("course")), "sandbox", "down"],
            env=env,
            capture_output=True,
            check=False,
        )


def main() -> None:
    args = sys.argv[1:]
    argocd = "--argocd" in args
    limits = [a for a in args if a != "--argocd"] or ["300MiB", "450MiB", "600MiB", "off"]
    print(f"load average before: {os.getloadavg()[0]:.1f} (CPU shares are of one core; other load slows, not adds)")
    for limit in limits:
        print("\n".join(measure(limit, argocd=argocd)), flush=True)


if __name__ == "__main__":
    main()
