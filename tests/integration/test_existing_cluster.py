"""One code path, three targets (#16): the course run in order, twice, against one existing cluster.

The "existing cluster" is a fresh kube-apiserver of its own (a second sandbox control plane in a private state
folder) reached as ``--target kubeconfig``: to the course it is a learner's cluster, so the session installs nothing
there (no placeholder CRDs, no upstream CRDs). The parts that need only Kubernetes run clean both times (no name or
namespace collides between parts or between runs); the parts whose custom kinds need an add-on stop before any
change, with an error that names the add-on to install.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import runner
from course_lib.config import using_state_dir
from course_lib.sandbox import _controlplane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.notebooks,
    pytest.mark.skipif(not _controlplane.available(), reason="needs a kube-apiserver: run `make tools`"),
]

#: Parts that deploy only Kubernetes objects (or nothing) when no add-on is installed.
PLAIN = "2,4,5,6,7,10"
#: Parts whose objects need an add-on's CRDs, and the add-on the error must name.
NEEDS_ADD_ONS = {"08_postgres_cnpg.ipynb": "CloudNativePG", "09_multi_region.ipynb": "Argo CD"}


@pytest.fixture(scope="module")
def existing_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("existing-cluster")
    with using_state_dir(state):
        kubeconfig = _controlplane.cluster_up(nodes=2).kubeconfig
    try:
        yield kubeconfig
    finally:
        with using_state_dir(state):
            _controlplane.cluster_down()


def _run(parts: str, kubeconfig: str, out: Path) -> runner.RunReport:
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = kubeconfig
    try:
        return runner.run_parts(parts, target="kubeconfig", out=out, progress=False, html=False)
    finally:
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old


def test_the_plain_parts_run_twice_in_order_on_one_cluster(existing_cluster: str, tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        report = _run(PLAIN, existing_cluster, tmp_path / attempt)
        failures = [(r.notebook, r.error) for r in report.results if r.status != "ok"]
        assert not failures, (attempt, failures)


def test_parts_that_need_an_add_on_say_which_before_changing_anything(existing_cluster: str, tmp_path: Path) -> None:
    report = _run("8,9", existing_cluster, tmp_path)
    for result in report.results:
        assert result.status == "failed", result.notebook
        assert "does not serve the custom kinds" in str(result.error) and NEEDS_ADD_ONS[result.notebook] in str(
            result.error
        ), result.error
