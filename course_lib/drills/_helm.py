"""Part 06's break-and-fix drills (notebook 06_helm): see :mod:`course_lib.drills`.

``06-failed-upgrade``: the course's checkout chart is installed as a real Helm release (revision 1, healthy), then
upgraded with a memory limit typed as ``256mb``, a quantity kube-apiserver refuses. Helm was not told to roll back
(no ``--rollback-on-failure``/``--atomic``), so revision 2 stays ``failed``: the next ``helm upgrade`` of the
pipeline starts from a broken release, and what runs is a mix of what was applied before the refusal. The learner
reads ``helm history`` and rolls back; the probe reads the release records (Helm's Secrets) and the live objects.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import tools
from ..config import state_dir
from ..errors import ToolError
from ..manifests import namespace
from . import Drill, Verdict, drill
from ._live import delete_namespace, generations, get_or_none

NAMESPACE = "drill-06"
RELEASE = "checkout"
#: the good release's values (revision 1) and the upgrade that fails (revision 2)
GOOD_SET: tuple[str, ...] = ("replicaCount=2", "environment=drill")
BAD_SET: tuple[str, ...] = ("replicaCount=3", "environment=drill-v2", "resources.limits.memory=256mb")


def workdir() -> Path:
    """Where the drill writes the chart the learner may open (in the course's state folder)."""
    return state_dir() / "drills" / "06-failed-upgrade"


def revisions(secrets: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """``(revision, status)`` of a release, oldest first, from Helm's release Secrets (labels ``version``, ``status``).

    Example:
        >>> revisions([{"metadata": {"labels": {"version": "2", "status": "failed"}}},
        ...            {"metadata": {"labels": {"version": "1", "status": "superseded"}}}])
        [(1, 'superseded'), (2, 'failed')]
    """
    found = []
    for secret in secrets:
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if str(labels.get("version", "")).isdigit():
            found.append((int(labels["version"]), str(labels.get("status", "?"))))
    return sorted(found)


def release_verdict(
    history: Sequence[tuple[int, str]],
    deployment: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    good: Mapping[str, Any],
) -> Verdict:
    """The release's latest revision is ``deployed`` (after the failed one) and the live Deployment and ConfigMap
    are the good release's (``good``: ``replicas``, ``config`` as recorded after revision 1).

    Example:
        >>> release_verdict([(1, "superseded"), (2, "failed")], None, None, {}).fixed
        False
    """
    if not history:
        return Verdict(False, f"release {RELEASE} is gone (uninstalled?)", "the release has to stay: roll it back")
    latest, status = history[-1]
    if status != "deployed" or latest <= int(good.get("failed_revision", 0)):
        return Verdict(
            False,
            f"release {RELEASE}: revision {latest} is {status}",
            "`helm history` shows which revision was the last good one; helm can return to it",
        )
    replicas = ((deployment or {}).get("spec") or {}).get("replicas")
    data = (config or {}).get("data") or {}
    if deployment is None or replicas != good.get("replicas") or dict(data) != dict(good.get("config") or {}):
        return Verdict(
            False,
            f"revision {latest} is deployed, but the live objects are not the good release's "
            f"(replicas {replicas}, ENVIRONMENT {data.get('ENVIRONMENT')!r})",
            "return to the revision that was healthy, not a new one with other values",
        )
    return Verdict(True, f"release {RELEASE}: revision {latest} deployed, {replicas} replicas, the good config")


@drill
class FailedUpgrade(Drill):
    """A Helm upgrade that the API server refused leaves the release ``failed``."""

    id = "06-failed-upgrade"
    title = "the checkout release is stuck after an upgrade"
    symptom = (
        f"the pipeline's `helm upgrade {RELEASE}` exited with an error; `helm list -n {NAMESPACE}` shows the release "
        "failed, and nobody knows what is running now"
    )
    first_look = f"helm history {RELEASE} -n {NAMESPACE}"
    needs = "kube-controller-manager"

    def unavailable(self) -> str:
        if not tools.available("helm"):
            return "this drill needs helm, which is not built: run `make tools`"
        return ""

    def _helm(self, *args: str, check: bool = True) -> tools.ToolResult:
        return tools.run(
            "helm",
            [*args, "-n", NAMESPACE],
            env={"KUBECONFIG": str(self.session.kubeconfig)},
            ok_codes=(0,) if check else None,
            timeout=120,
            what=f"helm {args[0]} {RELEASE}",
        )

    def _history(self) -> list[tuple[int, str]]:
        cluster = self.session.cluster
        return revisions(cluster.list("Secret", namespace=NAMESPACE, selector=f"owner=helm,name={RELEASE}"))

    def _refs(self) -> list[tuple[str, str, str | None]]:
        return [("Deployment", RELEASE, NAMESPACE), ("ConfigMap", RELEASE, NAMESPACE)]

    def break_(self) -> None:
        from ..charts import write_chart

        cluster = self.session.cluster
        chart = write_chart(workdir())
        self.state["chart"] = str(chart)
        cluster.apply(namespace(NAMESPACE))
        sets = [a for s in GOOD_SET for a in ("--set", s)]
        self._helm("upgrade", "--install", RELEASE, str(chart), *sets, "--wait", "--timeout", "60s")
        good_config = (cluster.get("ConfigMap", RELEASE, namespace=NAMESPACE).get("data")) or {}
        good_replicas = cluster.get("Deployment", RELEASE, namespace=NAMESPACE)["spec"]["replicas"]
        bad = [a for s in BAD_SET for a in ("--set", s)]
        failed = self._helm("upgrade", RELEASE, str(chart), *bad, check=False)
        history = self._history()
        if failed.returncode == 0 or not history or history[-1][1] != "failed":
            raise ToolError(
                f"the drill's bad upgrade did not fail as it should (history {history})",
                hint="report this: the chart or helm changed",
            )
        self.state["upgrade_error"] = (failed.stderr or failed.stdout).strip()
        self.state["good"] = {"replicas": good_replicas, "config": good_config, "failed_revision": history[-1][0]}
        self.state["history"] = history
        self.state["generations"] = generations(cluster, self._refs())

    def probe(self) -> Verdict:
        cluster = self.session.cluster
        history = self._history()
        verdict = release_verdict(
            history,
            get_or_none(cluster, "Deployment", RELEASE, NAMESPACE),
            get_or_none(cluster, "ConfigMap", RELEASE, NAMESPACE),
            self.state.get("good") or {},
        )
        untouched = history == self.state.get("history") and generations(cluster, self._refs()) == self.state.get(
            "generations"
        )
        return Verdict(verdict.fixed, verdict.message, verdict.hint, attempted=verdict.fixed or not untouched)

    def clean(self) -> None:
        delete_namespace(self.session.cluster, NAMESPACE)  # the release's Secrets go with it
        shutil.rmtree(workdir(), ignore_errors=True)
