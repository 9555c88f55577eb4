"""Drill 09-cluster-label-drift on the sandbox's real API server: the drill stores a fleet of Argo CD cluster
Secrets (one with a drifted `env` label) and an ApplicationSet; the check evaluates the live selector over the live
Secrets. Untouched it is not attempted; a selector that picks everything is attempted and wrong; the solution's
`kubectl label` fixes it; with the API server stopped the check fails; clean removes the namespace."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

import course_lib as cl
from course_lib import drills, solutions, tools
from course_lib.drills import _regions as d
from course_lib.errors import ClusterError
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
]


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    s = cl.start(target="sandbox")
    try:
        assert not s.cluster.dry_run
        yield s
    finally:
        s.close()  # stops the control plane if this session started it (the test stops it anyway)


def _kubectl(session: Any, *args: str) -> None:
    done = subprocess.run(
        [tools.which("kubectl"), "--kubeconfig", str(session.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_break_check_wrong_fix_right_fix_clean_and_no_api_server(session: Any) -> None:
    run = drills.start("09-cluster-label-drift", session)
    assert not run.unavailable, run.unavailable
    first = run.check()
    assert not first.passed and not first.attempted and "picks prod-nyc1" in first.message, first

    # a wrong fix: a selector on the region only also picks staging
    wide = {"spec": {"generators": [{"clusters": {"selector": {"matchLabels": {"region": "fra1"}}}}]}}
    _kubectl(session, "-n", d.NAMESPACE, "patch", "applicationset", d.APPSET, "--type=merge", "-p", json.dumps(wide))
    second = run.check()
    assert not second.passed and second.attempted and "staging-fra1" in second.message, second
    narrow = {"spec": {"generators": [{"clusters": {"selector": {"matchLabels": {"env": "production"}}}}]}}
    _kubectl(session, "-n", d.NAMESPACE, "patch", "applicationset", d.APPSET, "--type=merge", "-p", json.dumps(narrow))

    # the solution's own command
    code = solutions.load(9)["09-cluster-label-drift"].code
    line = next(ln.strip() for ln in code.splitlines() if "kubectl" in ln)
    _kubectl(session, *line.removeprefix("!kubectl ").split())
    third = run.check()
    assert third.passed and "prod-fra1, prod-nyc1" in third.message, third

    assert "removed" in run.clean()
    with pytest.raises(ClusterError):
        session.cluster.get("Namespace", d.NAMESPACE)

    # the verdict comes from the API server: stopped, the check fails
    run = drills.start("09-cluster-label-drift", session)
    _kubectl(session, *line.removeprefix("!kubectl ").split())
    assert run.check().passed
    _controlplane.cluster_down()
    assert not run.check().passed
