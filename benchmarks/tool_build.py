"""Benchmark: a fresh-machine build of some pinned tools, one at a time against two at a time.

Each round builds the same tools with ``scripts/build_tools.sh`` into a private, empty tools cache with an empty Go
build cache and module cache (so modules are downloaded again through the proxy, as on a fresh machine), once with
``TOOLS_JOBS=1`` and once with ``TOOLS_JOBS=2``, and prints the wall seconds of each and their ratio. Run it on an
otherwise idle machine: other work on the 2 cores skews both figures.

Run: ``.venv/bin/python benchmarks/tool_build.py [TOOL ...]`` (default: etcd kwok kubeseal alertmanager, about
3 minutes a round on 2 idle cores). Prints seconds; asserts nothing.

``--goflags "FLAGS"`` compares instead ``scripts/build_tools.sh``'s default ``GOFLAGS`` with ``FLAGS``, both two at a
time (e.g. ``--goflags "-trimpath -gcflags=all=-dwarf=false"``: the binaries are stripped at link time anyway).
Each round downloads the modules again into an empty module cache, the same work in both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_tools.sh"
DEFAULT = ["etcd", "kwok", "kubeseal", "alertmanager"]


def fresh_build_seconds(tools: list[str], jobs: int, goflags: str | None = None) -> float:
    """Wall seconds of building ``tools`` with ``jobs`` at a time from empty caches (``GOFLAGS=goflags`` when
    given, else the script's default)."""
    root = Path(tempfile.mkdtemp(prefix=f"course-bench-tools-{jobs}-"))
    env = {
        **{k: v for k, v in os.environ.items() if k != "GOFLAGS"},
        "TOOLS_JOBS": str(jobs),
        "COURSE_CACHE_DIR": str(root / "cache"),
        "GOCACHE": str(root / "gocache"),
        "GOMODCACHE": str(root / "gomod"),
        **({"GOFLAGS": goflags} if goflags else {}),
    }
    try:
        started = time.perf_counter()
        done = subprocess.run(["bash", str(SCRIPT), *tools], env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"the build failed (TOOLS_JOBS={jobs}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return seconds
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)  # the module cache is read-only
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tools", nargs="*", default=DEFAULT)
    ap.add_argument("--goflags", help="compare the default GOFLAGS with these (two at a time) instead")
    args = ap.parse_args()
    if args.goflags:
        base = fresh_build_seconds(args.tools, 2)
        print(f"default GOFLAGS:        {base:7.1f} s  ({' '.join(args.tools)}, empty caches)", flush=True)
        other = fresh_build_seconds(args.tools, 2, args.goflags)
        print(f"GOFLAGS={args.goflags!r}: {other:7.1f} s")
        print(f"ratio: {other / base:.2f}")
        return
    one = fresh_build_seconds(args.tools, 1)
    print(f"TOOLS_JOBS=1: {one:7.1f} s  ({' '.join(args.tools)}, empty caches)", flush=True)
    two = fresh_build_seconds(args.tools, 2)
    print(f"TOOLS_JOBS=2: {two:7.1f} s")
    print(f"two at a time / one at a time: {two / one:.2f}")


if __name__ == "__main__":
    main()
