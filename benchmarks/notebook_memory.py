"""Peak memory (PSS, see _memory.py) per notebook of everything the course runs: the sandbox's processes and the notebook's
kernel (Binder guarantees 1 GB and restarts the kernel above 2 GB; the course's budget is 1.5 GiB per notebook).

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/notebook_memory.py [03 04 ...]`` (all notebooks by default).
The notebooks run in course order through the course's own runner (``run_parts``, with the exercises' solutions
unless ``--placeholders``), one after the other on one shared sandbox in a temporary COURSE_STATE_DIR, like a
learner's session; the sandbox is stopped at the end. A sampler thread reads /proc every 0.5 s: the memory (PSS)
of every sandbox process (``_memory.sandbox_processes``) plus the ipykernel processes this run started. Prints per
notebook the peak total, the five biggest programs at that peak and the sandbox-only peak, then the maximum.
Numbers, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _memory import kernel_rss, sandbox_processes

BUDGET_MIB = 1536.0
INTERVAL = 0.5


@dataclass
class Peak:
    total: float = 0.0
    mix: dict[str, float] = field(default_factory=dict)
    sandbox: float = 0.0
    samples: int = 0


class Sampler(threading.Thread):
    """Samples every ``INTERVAL`` seconds into the peak of the notebook named by ``label``."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.label = "(start)"
        self.peaks: dict[str, Peak] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        procs = sandbox_processes()
        mix: dict[str, float] = {}
        for _pid, name, mib in procs:
            mix[name] = mix.get(name, 0.0) + mib
        sandbox = sum(mix.values())
        mix.update(kernel_rss(exclude={pid for pid, _n, _m in procs}))
        total = sum(mix.values())
        peak = self.peaks.setdefault(self.label, Peak())
        peak.samples += 1
        peak.sandbox = max(peak.sandbox, sandbox)
        if total > peak.total:
            peak.total, peak.mix = total, mix

    def run(self) -> None:
        while not self._halt.wait(INTERVAL):
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a benchmark keeps sampling; say what went wrong
                print(f"sampler: {exc!r}")

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _course_notebooks(root: Path) -> list[tuple[int, str]]:
    found = []
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        found.append((int(nb.name[:2]), nb.stem))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", help="notebook numbers, e.g. 03 04 (default: all)")
    ap.add_argument("--placeholders", action="store_true", help="run the learners' placeholders, not the solutions")
    args = ap.parse_args()
    os.environ["COURSE_STATE_DIR"] = tempfile.mkdtemp(prefix="course-bench-nbmem-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`/kill: still stop the sandbox (finally)
    from course_lib import sandbox
    from course_lib.runner import run_parts

    notebooks = _course_notebooks(Path(__file__).resolve().parent.parent)
    if args.parts:
        wanted = {int(re.sub(r"\D", "", p)) for p in args.parts}
        notebooks = [nb for nb in notebooks if nb[0] in wanted]
    sampler = Sampler()
    sampler.start()
    statuses: dict[str, str] = {}
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="course-bench-nbmem-out-") as out:
            for number, name in notebooks:
                sampler.label = name
                started = time.perf_counter()
                report = run_parts(
                    [number], target="sandbox", out=out, progress=False, html=False, solutions=not args.placeholders
                )
                status = ",".join(r.status for r in report.results) or "none"
                statuses[name] = f"{status} {time.perf_counter() - started:.0f} s"
                print(f"ran {name}: {statuses[name]}", flush=True)
                for r in report.results:
                    if r.status != "ok":
                        print(f"  cell {r.failing_cell}: {(r.error or '')[-600:]}", flush=True)
    finally:
        sampler.label = "(sandbox down)"
        stopped = sandbox.down()
        sampler.stop()
        print(f"down: {len(stopped)} stopped; {time.perf_counter() - t0:.0f} s in all")
    print()
    print(f"{'notebook':<34} {'status':<12} {'peak MiB':>9} {'sandbox':>8} {'<=1536':>6}  top 5 programs at the peak")
    for _number, name in notebooks:
        peak = sampler.peaks.get(name, Peak())
        top = ", ".join(f"{n} {m:.0f}" for n, m in sorted(peak.mix.items(), key=lambda kv: -kv[1])[:5])
        ok = "yes" if peak.total <= BUDGET_MIB else "NO"
        print(f"{name:<34} {statuses.get(name, '-'):<12} {peak.total:9.0f} {peak.sandbox:8.0f} {ok:>6}  {top}")
    worst = max((sampler.peaks.get(n, Peak()) for _x, n in notebooks), key=lambda p: p.total, default=Peak())
    verdict = "within" if worst.total <= BUDGET_MIB else "ABOVE"
    print(f"maximum: {worst.total:.0f} MiB ({verdict} the {BUDGET_MIB:.0f} MiB budget)")


if __name__ == "__main__":
    main()
