"""How the control plane restarts one component: read it from kwokctl's pid file and ``/proc``, stop it, start it
again the same way. Real processes (a Python child standing in for a component), no control plane: the
integration test ``tests/integration/test_part_crds.py`` restarts the real kube-apiserver."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib.sandbox import _controlplane as cp
from course_lib.sandbox import _process as proc

#: listens on the port it is given; on SIGTERM it closes its listener and lingers, as a kube-apiserver with open
#: watches does
_LINGERS = """
import signal, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
def term(*_):
    s.close()
signal.signal(signal.SIGTERM, term)
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "clusters" / "c"
    (folder / "pids").mkdir(parents=True)
    (folder / "logs").mkdir()
    started: list[int] = []
    yield folder
    for pid_file in (folder / "pids").glob("*.pid"):
        started.append(int(pid_file.read_text()))
    for pid in started:
        proc.stop(pid, None, timeout=1)


def _component(folder: Path, name: str, argv: list[str], *, env: dict[str, str]) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(argv, cwd=folder, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    (folder / "pids" / f"{name}.pid").write_text(str(child.pid))  # kwokctl's format: the pid, no newline
    # until the child has exec'd, /proc shows the forked test process's argv (a busy machine makes that visible);
    # kwokctl's components have long since exec'd when the course reads them
    cmdline = Path(f"/proc/{child.pid}/cmdline")
    expected = "\0".join(argv).encode()
    assert proc.wait_until(lambda: cmdline.read_bytes().rstrip(b"\0") == expected, deadline=time.monotonic() + 10)
    return child


def test_a_component_is_read_stopped_and_started_again_as_it_was(cluster: Path) -> None:
    child = _component(cluster, "kube-scheduler", [sys.executable, "-c", "import time; time.sleep(300)"],
                       env={"COURSE_T": "kept", "PATH": "/usr/bin:/bin"})  # fmt: skip
    (cluster / "pids" / "gone.pid").write_text("999999999")  # a component that is not running is left out

    found = cp._components(cluster)

    assert set(found) == {"kube-scheduler"}
    was = found["kube-scheduler"]
    assert (was.pid, was.argv[1:], was.cwd) == (child.pid, ["-c", "import time; time.sleep(300)"], str(cluster))
    assert was.env["COURSE_T"] == "kept"

    cp._stop_component(was, timeout=5)
    child.wait(timeout=5)
    cp._start_component(cluster, was)

    again = cp._components(cluster)["kube-scheduler"]
    assert again.pid != was.pid and proc.is_running(again.pid)
    assert (again.argv, again.cwd, again.env["COURSE_T"]) == (was.argv, was.cwd, "kept")
    assert int((cluster / "pids" / "kube-scheduler.pid").read_text()) == again.pid  # what kwokctl delete stops
    assert (cluster / "logs" / "kube-scheduler.log").exists()


def test_a_server_that_stops_listening_but_lingers_is_killed_then_not_at_the_deadline(cluster: Path) -> None:
    port = proc.free_port()
    child = _component(cluster, "kube-apiserver", [sys.executable, "-c", _LINGERS, str(port)], env={})
    assert proc.wait_until(lambda: cp._listening(port), deadline=time.monotonic() + 10)
    server = cp._components(cluster)["kube-apiserver"]

    began = time.monotonic()
    cp._stop_component(server, timeout=60, port=port)

    assert child.wait(timeout=5) == -9  # it would have lingered: SIGKILL, once the port was closed
    assert time.monotonic() - began < 30  # long before the 60 s deadline
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # a new server can listen there
