"""Kyverno's admission controller as a real process on the sandbox: registered with the sandbox kube-apiserver as a
webhook at https://127.0.0.1:PORT, it rejects the root Pod with Kyverno's own message and admits the non-root one
(for a ValidatingPolicy and for the older ClusterPolicy); without Kyverno nothing enforces the policy; stopped like
a crash, with failurePolicy Fail, the API server refuses even the good Pod because the webhook does not answer;
and the stop that `course sandbox down` performs leaves no process and no webhook configuration behind."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib import manifests as m
from course_lib import policy, sandbox, tools
from course_lib.cluster import Cluster
from course_lib.sandbox import _controlplane, _kyverno, _ondemand
from tests.conftest import pids_running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
    pytest.mark.skipif(not _kyverno.available(), reason="needs Kyverno's admission controller: `make tools`"),
]

MESSAGE = "Running as root is not allowed. Set spec.securityContext.runAsNonRoot to true."


@pytest.fixture(scope="module")
def kyverno(apiserver_kubeconfig: str, apiserver_cluster: Cluster) -> Iterator[_kyverno.KyvernoEndpoints]:
    if os.environ.get("COURSE_KUBECONFIG"):
        pytest.skip("Kyverno on the sandbox serves only the sandbox control plane")
    up = sandbox.kyverno_up(kubeconfig=apiserver_kubeconfig)
    yield up
    sandbox.kyverno_down()


@pytest.fixture()
def namespace(apiserver_cluster: Cluster) -> Iterator[str]:
    name = f"course-kyv-{uuid.uuid4().hex[:8]}"
    apiserver_cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    apiserver_cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


@pytest.fixture()
def vpol(apiserver_cluster: Cluster, kyverno: _kyverno.KyvernoEndpoints, namespace: str) -> Iterator[dict[str, Any]]:
    obj = m.kyverno_validating_policy(f"no-root-{namespace[-8:]}", namespaces=[namespace])
    apiserver_cluster.apply(obj)
    policy.wait_kyverno_ready(apiserver_cluster, obj)
    yield obj
    apiserver_cluster.delete(obj)


def _pods(namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    root = policy.sample_pods(namespace=namespace)[1]  # no securityContext: runs as root
    good = policy.sample_pods(namespace=namespace)[0]  # runAsNonRoot: true
    return root, good


def _verdicts(cluster: Cluster, objects: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    frame = policy.admission_attempts(cluster, objects)
    return {row["object"].split("/", 1)[1]: (row["API server says"], row["message"]) for _, row in frame.iterrows()}


def _kubectl_apply(kubeconfig: str, obj: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{obj['metadata']['name']}.yaml"
    path.write_text(m.to_yaml(obj))
    return subprocess.run(
        [tools.which("kubectl"), "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_every_listener_and_every_webhook_url_is_loopback(kyverno: _kyverno.KyvernoEndpoints) -> None:
    entry = _ondemand.recorded("kyverno")
    assert entry is not None
    listening = _kyverno.listening_addresses(int(entry["children"][0]["pid"]))
    assert f"127.0.0.1:{kyverno.ports['webhook']}" in listening
    assert listening and all(a.startswith("127.0.0.1:") for a in listening), listening
    names = {c["metadata"]["name"] for c in _kyverno._live_configurations(kyverno.kubeconfig)}
    assert {"kyverno-resource-validating-webhook-cfg", "kyverno-policy-validating-webhook-cfg"} <= names
    rows = _kyverno.webhook_configurations(kyverno.kubeconfig)
    assert rows and all(str(r["url"]).startswith(f"https://127.0.0.1:{kyverno.ports['webhook']}/") for r in rows), rows


def test_validating_policy_rejects_root_with_kyvernos_message_and_admits_non_root(
    apiserver_cluster: Cluster, vpol: dict[str, Any], namespace: str, tmp_path: Path
) -> None:
    root, good = _pods(namespace)
    got = _verdicts(apiserver_cluster, [root, good])
    verdict, message = got[root["metadata"]["name"]]
    assert verdict == "reject" and MESSAGE in message, message
    assert "admission webhook" in message and "vpol.validate.kyverno.svc" in message
    assert got[good["metadata"]["name"]] == ("admit", "")
    done = _kubectl_apply(str(apiserver_cluster.kubeconfig), root, tmp_path)  # what the learner types
    assert done.returncode != 0 and MESSAGE in done.stderr, done.stderr
    assert "created (server dry run)" in _kubectl_apply(str(apiserver_cluster.kubeconfig), good, tmp_path).stdout


def test_cluster_policy_rejects_root_through_kyvernos_legacy_webhook(
    apiserver_cluster: Cluster, kyverno: _kyverno.KyvernoEndpoints, namespace: str
) -> None:
    cpol = m.kyverno_disallow_root(f"disallow-root-{namespace[-8:]}")
    cpol["spec"]["rules"][0]["match"]["any"][0]["resources"]["namespaces"] = [namespace]
    apiserver_cluster.apply(cpol)
    try:
        policy.wait_kyverno_ready(apiserver_cluster, cpol)
        root, good = _pods(namespace)
        got = _verdicts(apiserver_cluster, [root, good])
        verdict, message = got[root["metadata"]["name"]]
        assert verdict == "reject" and MESSAGE in message and "validate.kyverno.svc-fail" in message, message
        assert cpol["metadata"]["name"] in message
        assert got[good["metadata"]["name"]][0] == "admit"
    finally:
        apiserver_cluster.delete(cpol)


def test_stopped_kyverno_with_fail_refuses_even_the_good_pod_then_without_webhooks_nothing_enforces(
    apiserver_cluster: Cluster, vpol: dict[str, Any], namespace: str, kyverno: _kyverno.KyvernoEndpoints
) -> None:
    root, good = _pods(namespace)
    port = kyverno.ports["webhook"]
    assert "kyverno-admission-controller" in sandbox.kyverno_down(cleanup=False)  # like a crash: webhooks stay
    got = _verdicts(apiserver_cluster, [good, root])
    for name in (good["metadata"]["name"], root["metadata"]["name"]):
        verdict, message = got[name]
        assert verdict == "reject", got
        assert "failed calling webhook" in message and f"https://127.0.0.1:{port}/" in message, message
        assert "connection refused" in message, message
    # the clean stop (what `course sandbox down` does) removes the webhooks: the policy object stays, unenforced
    restarted = sandbox.kyverno_up(kubeconfig=kyverno.kubeconfig)
    assert not restarted.reused
    policy.wait_kyverno_ready(apiserver_cluster, vpol)
    assert _verdicts(apiserver_cluster, [root])[root["metadata"]["name"]][0] == "reject"
    sandbox.kyverno_down()
    assert _kyverno._live_configurations(kyverno.kubeconfig) == []
    after = _verdicts(apiserver_cluster, [root, good])
    assert after[root["metadata"]["name"]] == ("admit", "") and after[good["metadata"]["name"]] == ("admit", "")
    sandbox.kyverno_up(kubeconfig=kyverno.kubeconfig)  # for the tests after this one


def test_down_leaves_no_kyverno_process_and_no_webhook_configuration(
    apiserver_cluster: Cluster, kyverno: _kyverno.KyvernoEndpoints
) -> None:
    running = sandbox.kyverno_endpoints() or sandbox.kyverno_up(kubeconfig=kyverno.kubeconfig)
    program = os.path.realpath(_kyverno.binary())
    reports = os.path.realpath(_kyverno.binary(_kyverno.REPORTS_PROGRAM))
    assert pids_running(program) and pids_running(reports)
    assert _kyverno.webhook_configurations(running.kubeconfig)
    from course_lib.sandbox._stack import _locked

    with _locked():  # the first step of `course sandbox down`, while the API server still answers
        _ondemand.stop_all()
    assert not pids_running(program) and not pids_running(reports)
    assert _kyverno._live_configurations(running.kubeconfig) == []
    sandbox.kyverno_up(kubeconfig=running.kubeconfig)
    assert pids_running(program)
    sandbox.down()
    assert not pids_running(program) and not pids_running(reports)
