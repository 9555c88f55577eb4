"""``course run --executor kubernetes`` against a real API server: the sandbox's control plane (kube-apiserver,
etcd, kube-controller-manager with its Job, garbage-collector and namespace controllers, kube-scheduler, kwok
nodes) in a private state folder, reached as ``--target kubeconfig``.

What this shows: the Jobs are created with the planned labels and spec, scheduled onto the (kwok) nodes, followed
until the Job controller marks them Complete — kwok's ``pod-complete`` stage moves a Job's pod from Running to
Succeeded — and deleted with their pods and the namespace the run created. What it cannot show: no container runs
on kwok nodes, so no notebook is executed, the pods have no log and no learner report is collected; on a real
cluster the same Jobs run ``course run`` in the image and their reports come back from the pod logs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib.classroom import LearnerResources
from course_lib.config import RUN_ID_LABEL, using_state_dir
from course_lib.errors import ConfigError
from course_lib.runner import _kubernetes as k8s
from course_lib.sandbox import _controlplane
from tests.conftest import FAKE_TOKEN

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs a kube-apiserver and kwok: run `make tools`"),
]

IMAGE = "registry.example.com/class/k8s-course:abc123"


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("k8s-executor")
    with using_state_dir(state):
        cp = _controlplane.cluster_up(nodes=2, timeout=240)  # a shared 2-core machine can be slow to start it
    try:
        yield cp.kubeconfig
    finally:
        with using_state_dir(state):
            _controlplane.cluster_down()


@pytest.fixture
def api(kubeconfig: str) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    path = tmp_path / "learners.csv"
    path.write_text("learner\nada\nbob\ncy\n")
    return path


class Watcher(threading.Thread):
    """Lists the course's Jobs every 0.2 s with the plain client, keeping the last state of each it saw."""

    def __init__(self, api: Any, namespace: str) -> None:
        super().__init__(daemon=True)
        from kubernetes import client

        self.batch = client.BatchV1Api(api)
        self.namespace = namespace
        self.seen: dict[str, Any] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        from kubernetes.client.rest import ApiException

        while not self.stop.wait(0.2):
            try:
                for job in self.batch.list_namespaced_job(self.namespace).items:
                    self.seen[job.metadata.name] = job
            except ApiException:
                pass  # the namespace does not exist yet, or is being deleted


def _gone(check: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_jobs_are_created_followed_to_completion_and_cleaned_up(
    kubeconfig: str, api: Any, matrix: Path, tmp_path: Path
) -> None:
    from kubernetes import client
    from kubernetes.utils import parse_quantity

    namespace = f"course-runs-{uuid.uuid4().hex[:6]}"
    watcher = Watcher(api, namespace)
    watcher.start()
    try:
        report = k8s.run_on_kubernetes(
            "0", target="kubeconfig", image=IMAGE, matrix=matrix, namespace=namespace, kubeconfig=kubeconfig,
            out=tmp_path / "runs", progress=False, poll_seconds=0.5,
        )  # fmt: skip
    finally:
        watcher.stop.set()
        watcher.join()

    # created: one Job per learner, with the run's labels and the planned spec, as the API server stored them
    assert sorted(watcher.seen) == sorted(k8s.job_name(report.run_id, n) for n in ("ada", "bob", "cy"))
    requests = LearnerResources().kubernetes()["requests"]
    for name, job in watcher.seen.items():
        labels = job.metadata.labels
        assert labels[RUN_ID_LABEL] == report.run_id and name.endswith(labels[k8s.LEARNER_LABEL])
        assert job.spec.backoff_limit == 0 and job.spec.ttl_seconds_after_finished == k8s.TTL_SECONDS
        container = job.spec.template.spec.containers[0]
        assert container.image == IMAGE
        # the server stores quantities in canonical form (2048Mi as 2Gi): compare their values
        assert {k: parse_quantity(v) for k, v in container.resources.requests.items()} == {
            k: parse_quantity(v) for k, v in requests.items()
        }
        assert job.spec.template.metadata.labels[k8s.LEARNER_LABEL] == labels[k8s.LEARNER_LABEL]

    # followed to completion as kwok reports it: every pod Succeeded, so the Job controller marked each Complete
    nodes = {n.metadata.name for n in client.CoreV1Api(api).list_node().items}
    assert report.ok, report.jobs
    for job in report.jobs:
        assert job.status == "succeeded" and job.node in nodes
        assert job.report is None and job.log_note and job.log_note.startswith("no log")  # no container ran
    assert (Path(report.out_dir) / "report.json").is_file()

    # cleaned up: the Jobs, their pods and the namespace the run created
    core = client.CoreV1Api(api)
    selector = f"{RUN_ID_LABEL}={report.run_id}"
    assert f"Namespace/{namespace}" in report.cleaned_up and len(report.cleaned_up) == 4
    assert _gone(lambda: not core.list_pod_for_all_namespaces(label_selector=selector).items)
    assert _gone(lambda: not client.BatchV1Api(api).list_job_for_all_namespaces(label_selector=selector).items)
    assert _gone(lambda: namespace not in {n.metadata.name for n in core.list_namespace().items})


def test_the_token_secret_is_referenced_and_its_value_never_reaches_a_job(
    kubeconfig: str, api: Any, matrix: Path, tmp_path: Path
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(api)
    namespace = f"course-runs-{uuid.uuid4().hex[:6]}"
    # a missing Secret stops the run before any Job, and the namespace the run made is removed again
    with pytest.raises(ConfigError, match="does not exist"):
        k8s.run_on_kubernetes(
            "0", target="kubeconfig", image=IMAGE, matrix=matrix, namespace=namespace, kubeconfig=kubeconfig,
            token_secret="do-token", out=tmp_path / "runs", progress=False,
        )  # fmt: skip
    assert _gone(lambda: namespace not in {n.metadata.name for n in core.list_namespace().items})

    core.create_namespace({"metadata": {"name": namespace}})
    try:
        core.create_namespaced_secret(
            namespace, {"metadata": {"name": "do-token"}, "stringData": {k8s.TOKEN_KEY: FAKE_TOKEN}}
        )
        watcher = Watcher(api, namespace)
        watcher.start()
        try:
            report = k8s.run_on_kubernetes(
                "0", target="kubeconfig", image=IMAGE, matrix=matrix, namespace=namespace, kubeconfig=kubeconfig,
                token_secret="do-token", out=tmp_path / "runs2", progress=False, poll_seconds=0.5,
            )  # fmt: skip
        finally:
            watcher.stop.set()
            watcher.join()
        assert report.ok and watcher.seen
        for job in watcher.seen.values():
            text = str(api.sanitize_for_serialization(job))
            assert FAKE_TOKEN not in text
            env = {e.name: e for e in job.spec.template.spec.containers[0].env}
            ref = env[k8s.TOKEN_ENV].value_from.secret_key_ref
            assert (ref.name, ref.key) == ("do-token", k8s.TOKEN_KEY) and env[k8s.TOKEN_ENV].value is None
        assert FAKE_TOKEN not in (Path(report.out_dir) / "report.json").read_text()
        # the run did not create this namespace, so it leaves it (and the instructor's Secret) in place
        assert f"Namespace/{namespace}" not in report.cleaned_up
        assert core.read_namespaced_secret("do-token", namespace).metadata.name == "do-token"
    finally:
        core.delete_namespace(namespace)
