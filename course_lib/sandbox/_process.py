"""Child processes of the sandbox: binaries, free ports, spawning, readiness and stopping.

Every child runs in its own session (``start_new_session=True``) so that it outlives the notebook kernel
that started it and can be stopped as a whole process group: SIGTERM → deadline → SIGKILL. A process is
identified by its pid *and* its start time (``/proc/<pid>/stat``), so a recycled pid is never killed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import tools
from ..errors import PortInUseError, SandboxError, ToolMissingError

#: program → Debian package that provides it.
DEBIAN_PACKAGES: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "node": "nodejs",  # Part 3's checkout app
}

#: Debian program → the newer program ``make tools`` builds from Go modules for the same job
#: (``data/tools/pins.env``): Prometheus 3 and its promtool, a current Alertmanager and its amtool. The Go build
#: is used when it exists, Debian's package is the fallback (no Go, or ``make tools`` not run yet).
GO_BUILDS: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "promtool",
    "prometheus-alertmanager": "alertmanager",
    "amtool": "amtool",
}

# Popen objects of children started by *this* process, so they are reaped (no zombies) when stopped here.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
# Children started by an ``up`` that has not finished: the atexit fallback stops them.
_STARTING: set[int] = set()


@dataclass(frozen=True)
class Program:
    """Which binary the sandbox runs for one of its programs, and where it came from.

    Attributes:
        name: the program's Debian name (``prometheus``, ``prometheus-alertmanager``, ``promtool`` ...).
        path: the binary that runs.
        origin: ``"make tools"`` (built from the pinned Go module) or ``"Debian"`` (the package on ``PATH``).
    """

    name: str
    path: str
    origin: Literal["make tools", "Debian"]


def program(name: str) -> Program:
    """Choose the binary for a sandbox program: the Go build from ``make tools``, else Debian's on ``PATH``.

    Raises:
        ToolMissingError: neither exists; the hint names the Debian package and ``make tools``.

    Example:
        >>> program("prometheus").origin  # doctest: +SKIP
        'make tools'

    Used in: notebook 03 (through ``sandbox.up``), ``course doctor``.
    """
    from .. import tools

    built = GO_BUILDS.get(name)
    if built is not None:
        path = tools.built(built)
        if path is not None:
            return Program(name, str(path), "make tools")
    found = shutil.which(name)
    if found is None:
        package = DEBIAN_PACKAGES.get(name, name)
        newer = f", or `make tools` (builds a newer {built} from Go modules)" if built else ""
        raise ToolMissingError(
            f"`{name}` is not installed (Debian package {package!r})",
            hint=f"run `make setup` (it installs the sandbox's Debian packages) or `sudo apt-get install {package}`"
            + newer,
            program=name,
        )
    return Program(name, found, "Debian")


def find_binary(name: str) -> str:
    """Return the path of a sandbox program (see :func:`program`) or raise :class:`ToolMissingError`.

    Example:
        >>> find_binary("promtool")  # doctest: +SKIP
        '/root/.cache/course-lib/tools/prometheus-e1ae27f2f0b6/bin/promtool'
    """
    return program(name).path


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on ``host:port`` (or the port cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1", *, exclude: set[int] | None = None) -> int:
    """Ask the kernel for a free port by binding port 0 (a bind probe)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if not exclude or port not in exclude:
            return port
    raise SandboxError("could not find a free port", hint="close some programs or pass fixed ports")


def check_port(service: str, port: int) -> None:
    """Raise :class:`PortInUseError` when a port requested for ``service`` is taken."""
    if port_in_use(port):
        raise PortInUseError(
            f"port {port} wanted by {service} is already in use",
            hint=f"stop what listens there (`ss -ltnp 'sport = :{port}'`), run `course sandbox down`, "
            f"or let the sandbox pick a free port by not fixing one for {service}",
            service=service,
            port=port,
        )


def proc_start_time(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def proc_state(pid: int) -> str | None:
    """One-letter state of a process (R, S, Z ...), or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def is_running(pid: int, start_time: int | None = None) -> bool:
    """True when ``pid`` exists, is not a zombie, and (if given) started at ``start_time``."""
    reap(pid)
    state = proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    return start_time is None or proc_start_time(pid) == start_time


def reap(pid: int) -> None:
    """Collect the exit status of ``pid`` when it is a child of this process that has exited (no zombie left)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)


def reap_exited() -> None:
    """:func:`reap` every child this process started that has exited since (another program may have stopped it:
    ``kwokctl delete cluster`` stops a control-plane component the course started again)."""
    for pid in list(_CHILDREN):
        reap(pid)


def group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


@dataclass
class Spawned:
    """A started child: pid (= process group id), start time, log file."""

    name: str
    pid: int
    start_time: int | None
    log: Path


def spawn(
    name: str, argv: list[str], *, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Spawned:
    """Start ``argv`` in its own session with stdout+stderr to ``log``, in ``env`` (default: this process's) with
    the course's Go collector target (:func:`course_lib.tools.go_env`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=tools.go_env(env),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise SandboxError(
                f"could not start {name}: {exc}", hint="check that the program runs", command=argv[0]
            ) from None
    _CHILDREN[proc.pid] = proc
    _STARTING.add(proc.pid)
    return Spawned(name=name, pid=proc.pid, start_time=proc_start_time(proc.pid), log=log)


def committed(pids: list[int]) -> None:
    """Mark children as recorded in the state file: the atexit fallback leaves them running."""
    _STARTING.difference_update(pids)


def stop(pid: int, start_time: int | None, *, timeout: float = 5.0, done: Callable[[], bool] | None = None) -> bool:
    """Stop process group ``pid``: SIGTERM, wait up to ``timeout`` (or until ``done()`` says the group need not be
    waited for any more), then SIGKILL. True if something was stopped."""
    if not is_running(pid, start_time):
        _STARTING.discard(pid)
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (is_running(pid) or group_members(pid)) and not (done and done()):
        time.sleep(0.05)
    if is_running(pid) or group_members(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        kill_deadline = time.monotonic() + 2.0
        while time.monotonic() < kill_deadline and (is_running(pid) or group_members(pid)):
            time.sleep(0.05)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)
    _STARTING.discard(pid)
    return True


def http_ok(url: str, *, timeout: float = 1.0, verify_tls: bool = True) -> bool:
    """True when ``GET url`` answers 2xx within ``timeout`` seconds.

    ``verify_tls=False`` probes an ``https://`` URL the way the kubelet's ``httpGet`` probe with ``scheme: HTTPS``
    does: without checking the certificate (for a child that makes its own, e.g. Kyverno's webhook server).
    """
    context = None
    if not verify_tls and url.startswith("https://"):
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:  # noqa: S310 (local URLs only)
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file (empty when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(check: Callable[[], bool], *, deadline: float, interval: float = 0.05) -> bool:
    """Poll ``check`` until it is true or the monotonic ``deadline`` passes."""
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@atexit.register
def _stop_half_started() -> None:  # pragma: no cover - exercised by interpreter exit
    for pid in list(_STARTING):
        stop(pid, None, timeout=2.0)


#: The environment variable every sandbox process carries, valued with the state file that recorded it.
MARKER_ENV = "COURSE_SANDBOX_STATE"


def marked_pids(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``COURSE_SANDBOX_STATE=<marker>``."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0") and is_running(int(entry.name)):
            found.append(int(entry.name))
    return found


class StateFile:
    """A sandbox service's JSON state file, written atomically, with a lock file next to it (``flock``): up and down
    of the same service serialise across kernels and processes. One mechanism for the stack, the control plane,
    PostgreSQL and the processes started on demand.

    Example:
        >>> import tempfile
        >>> state = StateFile(Path(tempfile.mkdtemp()) / "state.json", version=2)
        >>> with state.locked():
        ...     state.write({"version": 2, "pids": [1]})
        >>> state.read()["pids"], StateFile(state.path, version=3).read()
        ([1], None)
    """

    def __init__(self, path: Path, *, lock: Path | None = None, version: int | None = None) -> None:
        self.path = path
        self.lock = lock or path.with_name("lock")
        self.version = version

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        import fcntl

        self.lock.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read(self) -> dict[str, Any] | None:
        """The recorded data; ``None`` when there is none, it is unreadable, or of another version."""
        import json

        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or (self.version is not None and data.get("version") != self.version):
            return None
        return data

    def write(self, data: Mapping[str, Any]) -> None:
        import json

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, self.path)


__all__ = [
    "DEBIAN_PACKAGES",
    "GO_BUILDS",
    "Program",
    "Spawned",
    "check_port",
    "committed",
    "find_binary",
    "free_port",
    "group_members",
    "http_ok",
    "is_running",
    "port_in_use",
    "proc_start_time",
    "program",
    "proc_state",
    "spawn",
    "stop",
    "tail",
    "wait_until",
]
