"""Drill 04-route-wrong-port on the real thing: the sandbox API server and Traefik as a local process. The drill
breaks the route (Traefik answers 404 for its host), the check says broken and untouched; the fix is the solution's
own `kubectl patch`, after which a real request through Traefik (127.0.0.1) gets 200 from the loopback backend; the
check fails again once Traefik is stopped; clean removes the drill's namespace."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

import course_lib as cl
from course_lib import drills, sandbox, solutions, tools, traffic
from course_lib.drills import _traffic as d
from course_lib.errors import ClusterError
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
    pytest.mark.skipif(tools.find("traefik") is None, reason="needs Traefik: `scripts/build_tools.sh traefik`"),
]


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    if os.environ.get("COURSE_KUBECONFIG"):
        pytest.skip("Traefik on the sandbox reads only the sandbox control plane")
    s = cl.start(target="sandbox")
    assert not s.cluster.dry_run
    yield s
    sandbox.traefik_down()
    s.close()


def _kubectl(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools.which("kubectl"), "--kubeconfig", kubeconfig, *args], capture_output=True, text=True, timeout=60
    )


def test_break_check_fix_with_kubectl_check_and_clean(session: Any) -> None:
    run = drills.start("04-route-wrong-port", session)
    assert not run.unavailable, run.unavailable
    up = sandbox.traefik_endpoints()
    assert up is not None
    # broken for real: the route is stored, Traefik answers 404 for its host (the other routes would answer)
    route = session.cluster.get("IngressRoute", d.ROUTE, namespace=d.NAMESPACE)
    assert route["spec"]["routes"][0]["services"][0]["port"] == d.WRONG_PORT
    assert traffic.edge_request(up.web, d.HOST, "/").status == 404
    first = run.check()
    assert not first.passed and not first.attempted and "404" in first.message, first
    # every server Traefik knows stays on 127.0.0.0/8
    assert traffic.traefik_servers(up.api).dropna(subset=["loopback"])["loopback"].all()

    # a wrong fix (the route now names port 81, which the Service lacks too) is attempted, and still red
    wrong = '[{"op": "replace", "path": "/spec/routes/0/services/0/port", "value": 81}]'
    done = _kubectl(session.kubeconfig, "-n", d.NAMESPACE, "patch", "ingressroute", d.ROUTE, "--type=json", "-p", wrong)
    assert done.returncode == 0, done.stderr
    second = run.check()
    assert not second.passed and second.attempted, second

    # the solution's fix, as the solved notebook runs it
    code = solutions.load(4)["04-route-wrong-port"].code
    patch = code.split("port_patch = ", 1)[1].splitlines()[0].strip().strip("'")
    done = _kubectl(session.kubeconfig, "-n", d.NAMESPACE, "patch", "ingressroute", d.ROUTE, "--type=json", "-p", patch)
    assert done.returncode == 0, done.stderr
    third = run.check()
    assert third.passed, third
    assert "HTTP 200" in third.message and "checkout v1" in third.message
    got = traffic.edge_request(up.web, d.HOST, "/orders/7")
    assert (got.status, got.version) == (200, "v1")
    assert traffic.traefik_servers(up.api).dropna(subset=["loopback"])["loopback"].all()

    # the verdict comes from Traefik: stopped, the same fixed objects fail the check
    sandbox.traefik_down()
    stopped = run.check()
    assert not stopped.passed and "Traefik" in stopped.message, stopped

    assert "removed" in run.clean()
    with pytest.raises(ClusterError):
        session.cluster.get("Namespace", d.NAMESPACE)


def test_the_drill_starts_traefik_when_none_runs_and_stops_it_with_its_clean(session: Any) -> None:
    sandbox.traefik_down()
    run = drills.start("04-route-wrong-port", session)
    assert sandbox.traefik_endpoints() is not None
    assert not run.check().passed
    run.clean()
    assert sandbox.traefik_endpoints() is None
