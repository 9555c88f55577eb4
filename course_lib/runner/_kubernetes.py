"""``course run --executor kubernetes``: one Kubernetes Job per learner of a matrix, on a cluster.

The local executor (:func:`course_lib.runner.run_parts`) runs every learner on this machine. This one hands the
same batch to a cluster's own scheduler: each learner becomes a ``batch/v1`` Job whose single container runs
``course run`` for that learner's row of the matrix inside the single-user image (the one repo2docker builds for
``course classroom plan``), on that pod's own sandbox — local processes inside the container, as on Binder and
JupyterHub. The run follows the Jobs until each has succeeded or failed, collects what the cluster keeps, and
deletes what it created.

What is collected: each Job's outcome (succeeded / failed / deadline exceeded, with times and the node it ran
on) from the API server, and — on a real cluster — the learner's report, which the container prints as one line of
JSON at the end of its log (``REPORT_MARKER``) and the run reads back from the pod's log. What is not: the executed
notebooks stay in the pod's filesystem and disappear with it, unless ``runs_pvc`` names a PersistentVolumeClaim
(ReadWriteMany, e.g. an NFS provisioner; DigitalOcean's block storage is ReadWriteOnce, so on DOKS one Job per node
can mount it) mounted at ``/course-runs``, where each learner's notebooks are written under ``<run-id>/``.

On the sandbox's control plane (kwok nodes), no container runs: kwok reports each Job's pod Running and then
Succeeded (its ``pod-complete`` stage completes pods owned by a Job), so the Jobs round-trip — created, labelled,
scheduled, completed, deleted — but no notebook is executed and there is no log to collect.

Secrets: the DigitalOcean token is never in a Job. With ``token_secret`` the container gets ``DIGITALOCEAN_TOKEN``
from that Kubernetes Secret by reference (``valueFrom.secretKeyRef``); the Secret is created by the instructor
(``kubectl create secret generic ... --from-literal=token="$DIGITALOCEAN_TOKEN"``, the shell expands it).

Used in: ``course run --executor kubernetes`` (README, "Running a class").
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import COURSE_LABEL, COURSE_LABEL_VALUE, RUN_ID_LABEL, validate_name, validate_target
from ..errors import ClusterError, ConfigError, CourseError, redact

#: Label with the learner's name on every Job and pod of a run (beside the run id's ``course-lib/run-id``).
LEARNER_LABEL = "course-lib/learner"
#: The line the container prints before its report (one line of JSON), read back from the pod's log.
REPORT_MARKER = "course-run-report: "
#: Finished Jobs are removed by the cluster after an hour even if this run is interrupted before its clean-up.
TTL_SECONDS = 3600
#: A learner's notebooks failing is a result, not something to retry.
BACKOFF_LIMIT = 0
#: Where a ``runs_pvc`` is mounted in the container.
RUNS_MOUNT = "/course-runs"
#: The Secret key that holds the DigitalOcean token.
TOKEN_KEY = "token"
TOKEN_ENV = "DIGITALOCEAN_TOKEN"
EXECUTORS = ("local", "kubernetes")


@dataclass(frozen=True)
class LearnerJob:
    """What one learner's Job ran and how it ended."""

    learner: str
    job: str
    status: str  # succeeded | failed | running (when the run's deadline passed)
    reason: str | None = None
    node: str | None = None
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    #: the learner's report read from the pod's log, or None (``log_note`` says why)
    report: dict[str, Any] | None = None
    log_note: str | None = None


@dataclass(frozen=True)
class KubernetesRunReport:
    """A batch run on a cluster: one :class:`LearnerJob` per learner."""

    run_id: str
    target: str
    namespace: str
    image: str
    started: str
    seconds: float
    out_dir: str
    jobs: list[LearnerJob] = field(default_factory=list)
    cleaned_up: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.jobs) and all(j.status == "succeeded" for j in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        return {"executor": "kubernetes", **asdict(self), "ok": self.ok}


def job_name(run_id: str, learner: str) -> str:
    """The Job's name: ``course-<run id's random part>-<learner>`` (a DNS label of at most 63 characters)."""
    short = run_id.rsplit("-", 1)[-1]
    return validate_name(f"course-{short}-{learner}", what="Job name", max_len=63)


def _scalar(value: Any) -> str:
    """A parameter value as ``course run -p name=value`` reads it back (YAML scalars)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def job_manifest(
    *,
    run_id: str,
    learner: str,
    parts: Sequence[int],
    parameters: Mapping[str, Any],
    image: str,
    namespace: str,
    resources: Mapping[str, Any],
    token_secret: str | None = None,
    deadline_seconds: int = 7200,
    runs_pvc: str | None = None,
    solutions: bool = False,
) -> dict[str, Any]:
    """The ``batch/v1`` Job that runs one learner's notebooks in ``image`` (no secret value in it, ever).

    Example:
        >>> job = job_manifest(run_id="20260101-000000-abc123", learner="ada", parts=[0], parameters={},
        ...                    image="registry.example.com/k8s-course:abc123", namespace="course-runs",
        ...                    resources={"requests": {"cpu": "500m", "memory": "2048Mi"}})
        >>> job["metadata"]["name"], job["spec"]["backoffLimit"]
        ('course-abc123-ada', 0)
    """
    name = job_name(run_id, learner)
    labels = {COURSE_LABEL: COURSE_LABEL_VALUE, RUN_ID_LABEL: run_id, LEARNER_LABEL: learner}
    out = f"{RUNS_MOUNT}/{run_id}" if runs_pvc else "/tmp/course-runs"
    args = ["run", "--parts", ",".join(map(str, parts)), "--target", "sandbox", "--no-build-tools", "--no-html"]
    args += ["--out", out, "--print-report"]
    if solutions:
        args.append("--solutions")
    for key, value in sorted(parameters.items()):
        if key != "target":
            args += ["-p", f"{key}={_scalar(value)}"]
    env: list[dict[str, Any]] = [
        {"name": "COURSE_RUN_ID", "value": run_id},
        {"name": "COURSE_LEARNER", "value": learner},
    ]
    if token_secret:
        env.append(
            {
                "name": TOKEN_ENV,
                "valueFrom": {"secretKeyRef": {"name": token_secret, "key": TOKEN_KEY, "optional": False}},
            }
        )
    container: dict[str, Any] = {
        "name": "course",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["course"],
        "args": args,
        "env": env,
        "resources": {k: dict(v) for k, v in resources.items()},
        # the sandbox needs no privileges: every program it starts is an ordinary process of this user
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        # the notebooks talk to their own sandbox inside the pod, never to this cluster's API
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    if runs_pvc:
        pod["volumes"] = [{"name": "runs", "persistentVolumeClaim": {"claimName": runs_pvc}}]
        container["volumeMounts"] = [{"name": "runs", "mountPath": RUNS_MOUNT}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "activeDeadlineSeconds": int(deadline_seconds),
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }


def _check_options(
    *, target: str, image: str, namespace: str, token_secret: str | None, deadline_seconds: int, runs_pvc: str | None
) -> None:
    from ..classroom import split_image

    if target not in ("kubeconfig", "doks"):
        raise ConfigError(
            f"--executor kubernetes submits Jobs to a cluster, but the target is {target!r}",
            hint="use --target kubeconfig (the cluster of $KUBECONFIG or --kubeconfig) or --target doks",
        )
    split_image(image)
    validate_name(namespace, what="namespace")
    if token_secret is not None:
        validate_name(token_secret, what="token Secret name")
    if runs_pvc is not None:
        validate_name(runs_pvc, what="PersistentVolumeClaim name")
    if isinstance(deadline_seconds, bool) or not isinstance(deadline_seconds, int) or deadline_seconds < 60:
        raise ConfigError(
            f"the Job timeout must be at least 60 seconds, got {deadline_seconds!r}",
            hint="e.g. --job-timeout 7200 (two hours for the whole course)",
        )


def _finished(job: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """``(status, reason)`` once a Job has a true ``Complete`` or ``Failed`` condition, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return ("succeeded" if cond["type"] == "Complete" else "failed"), cond.get("reason")
    return None


def _seconds(start: Any, end: Any) -> float | None:
    if not start or not end:
        return None
    a, b = (
        v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        for v in (start, end)
    )
    return round((b - a).total_seconds(), 1)


def _read_report(log: str) -> dict[str, Any] | None:
    for line in reversed(log.splitlines()):
        if line.startswith(REPORT_MARKER):
            try:
                data = json.loads(line[len(REPORT_MARKER) :])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def plan_kubernetes_jobs(
    parts: str | Iterable[int] | None,
    *,
    target: str,
    image: str,
    matrix: str | Path | None,
    params: Mapping[str, Any] | None = None,
    namespace: str = "course-runs",
    token_secret: str | None = None,
    deadline_seconds: int = 7200,
    runs_pvc: str | None = None,
    solutions: bool = False,
    out: str | Path = "runs",
) -> tuple[str, Path, list[dict[str, Any]]]:
    """Check everything and return ``(run_id, run_dir, Job manifests)``, one Job per learner; contacts nothing.

    The learners' parameters get every check of the local executor (:func:`course_lib.runner.plan_jobs`): names
    that look like secrets, unknown parameters, values a notebook would refuse.
    """
    from ..classroom import LearnerResources
    from ._plan import _check_job_parameters, _learner_params, plan_jobs

    if target == "doks" and not token_secret:
        raise ConfigError(
            "--target doks gives each Job the DigitalOcean token by Secret reference: name the Secret",
            hint="create it once with `kubectl -n NAMESPACE create secret generic digitalocean-token "
            '--from-literal=token="$DIGITALOCEAN_TOKEN"`, then pass --token-secret digitalocean-token',
        )
    _check_options(
        target=target,
        image=image,
        namespace=namespace,
        token_secret=token_secret,
        deadline_seconds=deadline_seconds,
        runs_pvc=runs_pvc,
    )
    if matrix is None:
        raise ConfigError(
            "--executor kubernetes runs one Job per learner: give the learners with --matrix",
            hint="a CSV with a `learner` column (and any notebook parameters), e.g. `learner,region` then `ada,nyc1`",
        )
    run_id, run_dir, planned = plan_jobs(parts=parts, target="sandbox", params=params, matrix=matrix, out=out)
    _check_job_parameters(planned)
    if any(not job.learner for job in planned):
        raise ConfigError(
            "the matrix file has no `learner` column", hint="add one: it names each learner's Job and labels"
        )
    numbers = sorted({job.part.number for job in planned})
    by_learner = _learner_params(planned)
    resources = LearnerResources().kubernetes()
    manifests = [
        job_manifest(
            run_id=run_id,
            learner=learner,
            parts=numbers,
            parameters=by_learner[learner],
            image=image,
            namespace=namespace,
            resources=resources,
            token_secret=token_secret,
            deadline_seconds=deadline_seconds,
            runs_pvc=runs_pvc,
            solutions=solutions,
        )
        for learner in sorted(by_learner)
    ]
    return run_id, run_dir, manifests


def run_on_kubernetes(
    parts: str | Iterable[int] | None,
    *,
    target: str,
    image: str,
    matrix: str | Path | None,
    params: Mapping[str, Any] | None = None,
    namespace: str = "course-runs",
    kubeconfig: str | None = None,
    token_secret: str | None = None,
    deadline_seconds: int = 7200,
    runs_pvc: str | None = None,
    solutions: bool = False,
    out: str | Path = "runs",
    poll_seconds: float = 1.0,
    progress: bool = True,
) -> KubernetesRunReport:
    """Run each learner of ``matrix`` as a Kubernetes Job on the target's cluster; follow, collect, clean up.

    Everything is checked before anything is created (options, parts, parameters, the matrix, the cluster, the
    token Secret). Jobs, their pods and a namespace the run had to create are deleted at the end, also after an
    error or Ctrl-C; ``ttlSecondsAfterFinished`` removes finished Jobs even if the run is killed.

    Args:
        parts: ``"all"``, ``"0,3"`` or numbers.
        target: ``kubeconfig`` or ``doks``: the cluster the Jobs go to (``kubeconfig``: ``--kubeconfig`` or
            ``$KUBECONFIG``; ``doks``: the kubeconfig provisioning wrote, as ``--kubeconfig``).
        image: the single-user image (``name:tag``), as for ``course classroom plan``.
        matrix: the learners CSV (a ``learner`` column; the other columns are notebook parameters).
        token_secret: a Secret in ``namespace`` whose key ``token`` holds the DigitalOcean token, given to the
            container by reference; required on ``doks``.
        deadline_seconds: each Job's ``activeDeadlineSeconds``; the run stops following after it (plus a minute).
        runs_pvc: a PersistentVolumeClaim to keep the executed notebooks on (see the module docstring).

    Used in: ``course run --executor kubernetes``.
    """
    from tqdm.auto import tqdm

    from ..cluster import connect
    from ..config import Settings

    run_id, run_dir, manifests = plan_kubernetes_jobs(
        parts,
        target=target,
        image=image,
        matrix=matrix,
        params=params,
        namespace=namespace,
        token_secret=token_secret,
        deadline_seconds=deadline_seconds,
        runs_pvc=runs_pvc,
        solutions=solutions,
        out=out,
    )
    # the course labels every object it applies with the session's run id: this run's
    kc = connect(target, kubeconfig=kubeconfig, settings=Settings(target=validate_target(target), run_id=run_id))
    if kc.dry_run:
        raise ConfigError(
            f"the {target} cluster is a dry run ({kc.reason}); Jobs need a real API server",
            hint="point --kubeconfig (or $KUBECONFIG) at a running cluster",
        )
    created_namespace = _ensure_namespace(kc, namespace, run_id)
    if token_secret:
        _require_secret(kc, token_secret, namespace, created_namespace)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    results: dict[str, LearnerJob] = {}
    cleaned: list[str] = []
    bar = tqdm(total=len(manifests), desc=f"course run {run_id} (Jobs)", unit="learner", disable=not progress)
    try:
        kc.apply(manifests)
        results = _follow(kc, manifests, namespace, run_id, deadline_seconds, poll_seconds, bar)
    finally:
        bar.close()
        cleaned = _clean_up(kc, manifests, namespace, created_namespace)
    report = KubernetesRunReport(
        run_id=run_id,
        target=target,
        namespace=namespace,
        image=image,
        started=started.isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - t0, 2),
        out_dir=str(run_dir),
        jobs=[results[m["metadata"]["labels"][LEARNER_LABEL]] for m in manifests],
        cleaned_up=cleaned,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report.json").write_text(redact(json.dumps(report.to_dict(), indent=2, default=str)) + "\n")
    return report


def _ensure_namespace(kc: Any, namespace: str, run_id: str) -> bool:
    """Create ``namespace`` if it does not exist (labelled with the run); True when this run created it."""
    try:
        kc.get("Namespace", namespace)
        return False
    except ClusterError as exc:
        if exc.context.get("reason") != "NotFound":
            raise
    kc.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {COURSE_LABEL: COURSE_LABEL_VALUE, RUN_ID_LABEL: run_id}},
        }
    )
    return True


def _require_secret(kc: Any, name: str, namespace: str, created_namespace: bool) -> None:
    """Stop before any Job when the token Secret is missing (its value is never read into a message)."""
    hint = (
        f'create it with `kubectl -n {namespace} create secret generic {name} --from-literal={TOKEN_KEY}="$'
        f'{TOKEN_ENV}"` (the shell reads the token from your environment), then run again'
    )
    try:
        kc.get("Secret", name, namespace=namespace)
    except ClusterError as exc:
        if exc.context.get("reason") != "NotFound":
            raise
        if created_namespace:
            kc.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        raise ConfigError(f"Secret {namespace}/{name} does not exist", hint=hint) from None


def _follow(
    kc: Any, manifests: list[dict[str, Any]], namespace: str, run_id: str, deadline_s: int, poll: float, bar: Any
) -> dict[str, LearnerJob]:
    """Poll the run's Jobs until each has finished (or the deadline passed); collect each learner's outcome."""
    deadline = time.monotonic() + deadline_s + 60
    learners = {m["metadata"]["name"]: m["metadata"]["labels"][LEARNER_LABEL] for m in manifests}
    done: dict[str, tuple[str, str | None, dict[str, Any]]] = {}
    while len(done) < len(learners) and time.monotonic() < deadline:
        for job in kc.list("Job", namespace=namespace, selector=f"{RUN_ID_LABEL}={run_id}"):
            name = job["metadata"]["name"]
            outcome = _finished(job)
            if name in learners and name not in done and outcome is not None:
                done[name] = (*outcome, job)
                bar.update()
                bar.set_postfix_str(f"{learners[name]}: {outcome[0]}")
        if len(done) < len(learners):
            time.sleep(poll)
    results: dict[str, LearnerJob] = {}
    for name, learner in learners.items():
        status, reason, job = done.get(name, ("running", "the run's deadline passed", {}))
        st = job.get("status") or {}
        node, report, note = _collect(kc, name, namespace)
        results[learner] = LearnerJob(
            learner=learner,
            job=name,
            status=status,
            reason=reason,
            node=node,
            started=str(st.get("startTime")) if st.get("startTime") else None,
            finished=str(st.get("completionTime")) if st.get("completionTime") else None,
            seconds=_seconds(st.get("startTime"), st.get("completionTime")),
            report=report,
            log_note=note,
        )
    return results


def _collect(kc: Any, job: str, namespace: str) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """The node the Job's pod ran on, and the learner's report from its log (or why there is none)."""
    pods = kc.list("Pod", namespace=namespace, selector=f"batch.kubernetes.io/job-name={job}")
    if not pods:
        return None, None, "no pod was created (see `kubectl describe job`)"
    pod = pods[-1]
    node = (pod.get("spec") or {}).get("node_name") or (pod.get("spec") or {}).get("nodeName")
    try:
        log = kc.logs(pod["metadata"]["name"], namespace=namespace, tail=200)
    except CourseError as exc:
        return node, None, f"no log: {exc.message.splitlines()[0][:200]}"
    report = _read_report(log)
    return node, report, None if report else "the log has no report line (the container did not finish its run)"


def _clean_up(kc: Any, manifests: list[dict[str, Any]], namespace: str, created_namespace: bool) -> list[str]:
    """Delete the run's Jobs (their pods go with them) and the namespace if this run created it."""
    gone = [f"Job/{r.ref.name}" for r in kc.delete(manifests).results if r.action == "deleted"]
    if created_namespace:
        kc.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        gone.append(f"Namespace/{namespace}")
    return gone


__all__ = [
    "EXECUTORS",
    "KubernetesRunReport",
    "LearnerJob",
    "job_manifest",
    "job_name",
    "plan_kubernetes_jobs",
    "run_on_kubernetes",
]
