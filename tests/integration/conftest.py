"""Fixtures shared by the integration tests that need a real kube-apiserver."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from course_lib.cluster import Cluster, connect
from course_lib.config import Settings


@pytest.fixture(scope="module")
def apiserver_kubeconfig() -> str:
    """``COURSE_KUBECONFIG`` when it points at a disposable cluster, else the sandbox control plane's kubeconfig."""
    from course_lib.sandbox import _controlplane

    return os.environ.get("COURSE_KUBECONFIG") or _controlplane.cluster_up().kubeconfig


@pytest.fixture(scope="module")
def apiserver_cluster(apiserver_kubeconfig: str) -> Iterator[Cluster]:
    """A :class:`Cluster` on that API server, shared by a module's tests."""
    c = connect("kubeconfig", kubeconfig=apiserver_kubeconfig, settings=Settings(target="kubeconfig"))
    yield c
    c.close()
