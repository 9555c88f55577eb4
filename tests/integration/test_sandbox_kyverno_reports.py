"""Kyverno's reports controller as a real process on the sandbox, beside the admission controller: a ClusterPolicy
in Audit mode admits the root Pod (with the API server's warning) and a PolicyReport with a ``fail`` result naming
the policy and its rule appears in the Pod's namespace; with the reports controller stopped the admission
controller's EphemeralReport stays where it is and no PolicyReport appears, until the controller runs again; it
listens on 127.0.0.1 only, and stopping the group leaves no Kyverno process in /proc."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib import manifests as m
from course_lib import policy, sandbox, tools
from course_lib.cluster import Cluster
from course_lib.sandbox import _controlplane, _kyverno, _ondemand
from course_lib.sandbox import _process as proc
from tests.conftest import pids_running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _controlplane.available(), reason="needs the sandbox control plane: run `make tools`"),
    pytest.mark.skipif(
        not _kyverno.available(), reason="needs Kyverno's admission and reports controllers: `make tools`"
    ),
]

RULE = "check-runasnonroot"
MESSAGE = "Running as root is not allowed. Set spec.securityContext.runAsNonRoot to true."
#: Upstream's aggregate controller waits 10 s before each of its two queues (enqueueDelay), so a report takes
#: about 20 s; these bounds leave room for a loaded machine.
REPORT_TIMEOUT = 90.0
ABSENT_FOR = 35.0


@pytest.fixture(scope="module")
def kyverno(apiserver_kubeconfig: str) -> Iterator[_kyverno.KyvernoEndpoints]:
    if os.environ.get("COURSE_KUBECONFIG"):
        pytest.skip("Kyverno on the sandbox serves only the sandbox control plane")
    up = sandbox.kyverno_up(kubeconfig=apiserver_kubeconfig)
    yield up
    sandbox.kyverno_down()


@pytest.fixture()
def audit_namespace(apiserver_cluster: Cluster, kyverno: _kyverno.KyvernoEndpoints) -> Iterator[tuple[str, str]]:
    """A fresh namespace and an Audit ClusterPolicy (with emitWarning) limited to it: (namespace, policy name)."""
    name = f"course-polr-{uuid.uuid4().hex[:8]}"
    apiserver_cluster.apply(m.namespace(name))
    cpol = m.kyverno_disallow_root(
        f"audit-root-{name[-8:]}", failure_action="Audit", namespaces=[name], emit_warning=True
    )
    apiserver_cluster.apply(cpol)
    policy.wait_kyverno_ready(apiserver_cluster, cpol)
    yield name, cpol["metadata"]["name"]
    apiserver_cluster.delete(cpol)
    apiserver_cluster.delete(m.namespace(name))


def _apply_root_pod(kubeconfig: str, namespace: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """What the learner types: a real `kubectl apply` (no dry run: Kyverno writes no report for a dry run)."""
    root = policy.sample_pods(namespace=namespace)[1]  # no securityContext: runs as root
    path = tmp_path / "root-pod.yaml"
    path.write_text(m.to_yaml(root))
    return subprocess.run(
        [tools.which("kubectl"), "--kubeconfig", kubeconfig, "apply", "-f", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _child(name: str) -> dict[str, Any]:
    entry = _ondemand.recorded("kyverno")
    assert entry is not None
    return next(c for c in entry["children"] if c["name"] == name)


def test_reports_controller_listens_on_loopback_only(kyverno: _kyverno.KyvernoEndpoints) -> None:
    child = _child(_kyverno.REPORTS_PROGRAM)
    listening = _kyverno.listening_addresses(int(child["pid"]))
    assert f"127.0.0.1:{kyverno.ports['reports-metrics']}" in listening
    assert all(a.startswith("127.0.0.1:") for a in listening), listening
    assert "-metricsHost=127.0.0.1" in kyverno.reports_argv and "-admissionReports=true" in kyverno.argv
    assert proc.http_ok(f"http://127.0.0.1:{kyverno.ports['reports-metrics']}/metrics", timeout=5)


def test_audit_admits_the_root_pod_and_a_policy_report_fails_it(
    apiserver_cluster: Cluster, audit_namespace: tuple[str, str], tmp_path: Path
) -> None:
    namespace, name = audit_namespace
    done = _apply_root_pod(str(apiserver_cluster.kubeconfig), namespace, tmp_path)
    assert done.returncode == 0 and "created" in done.stdout, done.stderr
    assert f"Warning: policy {name}.{RULE}: validation error: {MESSAGE}" in done.stderr, done.stderr
    start = time.monotonic()
    rows = policy.wait_policy_report(apiserver_cluster, namespace, policy=name, timeout=REPORT_TIMEOUT)
    print(f"PolicyReport after {time.monotonic() - start:.1f} s")
    assert rows[["resource", "policy", "rule", "result"]].to_dict("records") == [
        {"resource": "Pod/pod-no-context", "policy": name, "rule": RULE, "result": "fail"}
    ]
    assert MESSAGE in rows.iloc[0]["message"], rows.iloc[0]["message"]
    pod = apiserver_cluster.get("Pod", "pod-no-context", namespace=namespace)
    assert rows.iloc[0]["report"] == pod["metadata"]["uid"]  # Kyverno names the report after the resource's UID


def test_without_the_reports_controller_no_policy_report_appears_until_it_runs_again(
    apiserver_cluster: Cluster, audit_namespace: tuple[str, str], kyverno: _kyverno.KyvernoEndpoints, tmp_path: Path
) -> None:
    namespace, name = audit_namespace
    reports, admission = _child(_kyverno.REPORTS_PROGRAM), _child(_kyverno.PROGRAM)
    assert proc.stop(int(reports["pid"]), reports.get("start_time"), timeout=5.0)  # the controller crashes
    assert proc.is_running(int(admission["pid"]), admission.get("start_time"))
    assert not pids_running(_kyverno.binary(_kyverno.REPORTS_PROGRAM))
    done = _apply_root_pod(str(apiserver_cluster.kubeconfig), namespace, tmp_path)
    assert done.returncode == 0 and f"policy {name}.{RULE}" in done.stderr, done.stderr
    # the admission controller did its part: an EphemeralReport for the Pod ...
    assert proc.wait_until(
        lambda: apiserver_cluster.list("EphemeralReport", namespace=namespace, api_version="reports.kyverno.io/v1"),
        deadline=time.monotonic() + 30,
        interval=0.5,
    )
    # ... which nobody aggregates: no PolicyReport, well past the ~20 s the aggregation takes
    deadline = time.monotonic() + ABSENT_FOR
    while time.monotonic() < deadline:
        assert policy.policy_reports(apiserver_cluster, namespace).empty
        time.sleep(1.0)
    assert apiserver_cluster.list("EphemeralReport", namespace=namespace, api_version="reports.kyverno.io/v1")
    again = sandbox.kyverno_up(kubeconfig=kyverno.kubeconfig)  # the group is restarted: both controllers
    assert not again.reused
    rows = policy.wait_policy_report(apiserver_cluster, namespace, policy=name, timeout=REPORT_TIMEOUT)
    assert list(rows[["resource", "rule", "result"]].itertuples(index=False, name=None)) == [
        ("Pod/pod-no-context", RULE, "fail")
    ]


def test_stopping_the_group_leaves_no_kyverno_process(kyverno: _kyverno.KyvernoEndpoints) -> None:
    running = sandbox.kyverno_endpoints() or sandbox.kyverno_up(kubeconfig=kyverno.kubeconfig)
    programs = [os.path.realpath(_kyverno.binary(p)) for p in (_kyverno.PROGRAM, _kyverno.REPORTS_PROGRAM)]
    assert all(pids_running(p) for p in programs)
    stopped = sandbox.kyverno_down()
    assert {_kyverno.PROGRAM, _kyverno.REPORTS_PROGRAM} <= set(stopped)
    assert not any(pids_running(p) for p in programs)
    sandbox.kyverno_up(kubeconfig=running.kubeconfig)
    assert all(pids_running(p) for p in programs)
    sandbox.down()
    assert not any(pids_running(p) for p in programs)
