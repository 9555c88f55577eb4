"""Prerequisites checked and offered: the add-ons whose custom kinds a part applies.

Before the first custom resource of a tool, a notebook asks ``session.prerequisites("argocd", install=...)``. For
each add-on the check asks the API server whether it serves the add-on's API group (its CRDs are installed):

- on the course's own control plane (the sandbox) the session installed upstream's CRDs already: nothing to do;
- on a cluster target that serves them: nothing to do;
- on a cluster target that does not: the report shows the exact pinned ``helm upgrade --install`` command, and runs
  it only when the learner set ``install_prerequisites = True`` (the ``install`` argument), then waits with a
  progress bar until the release's Deployments, StatefulSets and DaemonSets are ready and the CRDs are served.

Nothing is ever installed without that explicit parameter; an unknown add-on name is refused before anything runs.

Example:
    >>> ADD_ONS["argocd"].chart.release, ADD_ONS["argocd"].group
    ('argocd', 'argoproj.io')
    >>> print(install_commands("kyverno"))  # doctest: +NORMALIZE_WHITESPACE
    helm repo add kyverno https://kyverno.github.io/kyverno/
    helm repo update kyverno
    helm upgrade --install kyverno kyverno/kyverno --namespace kyverno --create-namespace --version 3.9.1

Used in: notebooks 02, 04, 05, 08, 09, 10 (through ``Session.prerequisites``).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import ClusterError, ConfigError
from .pins import (
    ARGOCD_CHART,
    CNPG_CHART,
    ESO_CHART,
    KYVERNO_CHART,
    SEALED_SECRETS_CHART,
    TRAEFIK_CHART,
    HelmChart,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .cluster import Cluster

#: The parameter a learner sets to let a notebook install what is missing (the name the messages use).
PARAMETER = "install_prerequisites"


@dataclass(frozen=True)
class AddOn:
    """One add-on a part needs on a cluster: its name in ``session.CONTROLLERS``, the API group its CRDs serve and
    the pinned chart that installs it (controller and CRDs)."""

    name: str
    project: str
    group: str
    chart: HelmChart


ADD_ONS: Mapping[str, AddOn] = {
    a.name: a
    for a in (
        AddOn("argocd", "Argo CD", "argoproj.io", ARGOCD_CHART),
        AddOn("sealed-secrets", "Sealed Secrets", "bitnami.com", SEALED_SECRETS_CHART),
        AddOn("kyverno", "Kyverno", "kyverno.io", KYVERNO_CHART),
        AddOn("external-secrets", "External Secrets Operator", "external-secrets.io", ESO_CHART),
        AddOn("traefik", "Traefik", "traefik.io", TRAEFIK_CHART),
        AddOn("cloudnative-pg", "CloudNativePG", "postgresql.cnpg.io", CNPG_CHART),
    )
}

#: API group → the add-on that brings it (for the error of ``Session.prepare`` on a cluster).
BY_GROUP: Mapping[str, AddOn] = {a.group: a for a in ADD_ONS.values()}


def add_on(name: str) -> AddOn:
    """The :class:`AddOn` called ``name``.

    Raises:
        ConfigError: an unknown name (the valid ones are listed).
    """
    try:
        return ADD_ONS[name]
    except KeyError:
        raise ConfigError(f"unknown add-on {name!r}", hint=f"one of: {', '.join(ADD_ONS)}") from None


def install_commands(name: str) -> str:
    """The pinned shell commands that install add-on ``name`` on a cluster (what ``install=True`` runs), one a line.

    Raises:
        ConfigError: an unknown add-on.
    """
    chart = add_on(name).chart
    return "\n".join(
        (
            f"helm repo add {chart.repo_name} {chart.repo_url}",
            f"helm repo update {chart.repo_name}",
            shlex.join(["helm", *chart.install_args()]),
        )
    )


Status = Literal["served", "installed", "missing", "no API server"]


@dataclass(frozen=True)
class PrerequisiteCheck:
    """What the check found for one add-on, and what it did.

    Attributes:
        name: the add-on's name (``argocd`` ...).
        project: its display name.
        group: the API group its CRDs serve.
        status: ``served`` (already there), ``installed`` (by this check, with ``install=True``), ``missing`` (not
            served, nothing installed) or ``no API server`` (a dry run: nothing to ask).
        commands: the pinned commands a cluster runs to install it.
        seconds: how long the install and the wait took (0 when nothing was installed).
    """

    name: str
    project: str
    group: str
    status: Status
    commands: str
    seconds: float = 0.0


@dataclass(frozen=True)
class PrerequisiteReport:
    """One row per add-on a part needs (``Session.prerequisites``). Displays as a table plus the commands."""

    checks: tuple[PrerequisiteCheck, ...]
    disposable: bool = False
    install: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every add-on is served (or was installed now)."""
        return all(c.status in ("served", "installed") for c in self.checks)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if c.status == "missing")

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(c.project, c.group, c.status, self._meaning(c)) for c in self.checks]
        return pd.DataFrame(rows, columns=["add-on", "API group", "status", "what it means"]).set_index("add-on")

    def _meaning(self, c: PrerequisiteCheck) -> str:
        if c.status == "served":
            return (
                "the session installed upstream's CRDs on the course's own control plane"
                if self.disposable
                else "its CRDs are installed: nothing to do"
            )
        if c.status == "installed":
            return f"installed now with the pinned chart, ready after {c.seconds:.0f} s"
        if c.status == "missing" and self.disposable:
            return (
                "no upstream CRD on the course's own control plane (`make tools` fetches it); nothing is installed here"
            )
        if c.status == "missing":
            return f"not installed: set {PARAMETER} = True to run the commands below"
        return "a dry run: no API server to ask"

    def __str__(self) -> str:
        lines = [f"{c.project} ({c.group}): {c.status} — {self._meaning(c)}" for c in self.checks]
        for c in self.checks:
            lines += ["", f"# {c.project}", c.commands]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        cmds = "".join(
            f"<p><b>{html.escape(c.project)}</b></p><pre>{html.escape(c.commands)}</pre>" for c in self.checks
        )
        return self.to_frame().to_html() + cmds


def check(
    cluster: Cluster | None,
    names: Sequence[str],
    *,
    install: bool = False,
    disposable: bool = False,
    timeout: float = 600.0,
    progress: bool = True,
    chart_ref: Mapping[str, str] | None = None,
    run: Callable[..., Any] | None = None,
) -> PrerequisiteReport:
    """Check that ``cluster`` serves each add-on's API group; with ``install=True`` install the missing ones.

    Args:
        cluster: the session's cluster (``None``: no API server to ask yet).
        names: add-on names (see :data:`ADD_ONS`); all are checked before anything is installed.
        install: run the pinned ``helm upgrade --install`` of each missing add-on (the notebook's
            ``install_prerequisites`` parameter). Never on the course's own control plane (``disposable``).
        disposable: the cluster is the course's own control plane (the session installed upstream's CRDs).
        timeout: seconds for each add-on's install and readiness wait together.
        progress: show a progress bar while waiting for readiness.
        chart_ref: add-on name → a local chart folder to install instead of the pinned chart (tests).
        run: the program runner (``course_lib.tools.run``; injectable for unit tests).

    Raises:
        ConfigError: an unknown add-on name (before anything is asked or installed).
        ClusterError: an install did not become ready within ``timeout``.
        ToolMissingError / ToolError: ``helm`` is missing or failed.
    """
    add_ons = [add_on(n) for n in names]  # every name checked first
    if not isinstance(install, bool):
        raise ConfigError(f"{PARAMETER} must be True or False, got {install!r}", hint=f"{PARAMETER} = True")
    if cluster is None or cluster.dry_run:
        asked = tuple(
            PrerequisiteCheck(a.name, a.project, a.group, "no API server", install_commands(a.name)) for a in add_ons
        )
        return PrerequisiteReport(asked, disposable=disposable, install=install)
    groups = cluster.api_groups()
    checks: list[PrerequisiteCheck] = []
    for a in add_ons:
        commands = install_commands(a.name)
        if a.group in groups:
            checks.append(PrerequisiteCheck(a.name, a.project, a.group, "served", commands))
        elif install and not disposable:
            ref = (chart_ref or {}).get(a.name)
            seconds = install_add_on(cluster, a, timeout=timeout, progress=progress, chart_ref=ref, run=run)
            checks.append(PrerequisiteCheck(a.name, a.project, a.group, "installed", commands, seconds))
        else:
            checks.append(PrerequisiteCheck(a.name, a.project, a.group, "missing", commands))
    return PrerequisiteReport(tuple(checks), disposable=disposable, install=install)


def helm_argv(cluster: Cluster, a: AddOn, *, chart_ref: str | None = None) -> list[list[str]]:
    """The ``helm`` argument lists :func:`install_add_on` runs against ``cluster`` (the shown commands plus the
    session's kubeconfig and context); a local ``chart_ref`` needs no repository."""
    conn = [*(["--kubeconfig", str(cluster.kubeconfig)] if cluster.kubeconfig else [])]
    conn += ["--kube-context", cluster.context] if cluster.context else []
    chart = a.chart
    steps = [] if chart_ref else [["repo", "add", chart.repo_name, chart.repo_url, "--force-update"]]
    steps += [] if chart_ref else [["repo", "update", chart.repo_name]]
    return [*steps, [*chart.install_args(chart_ref=chart_ref), *conn]]


def install_add_on(
    cluster: Cluster,
    a: AddOn,
    *,
    timeout: float = 600.0,
    progress: bool = True,
    chart_ref: str | None = None,
    run: Callable[..., Any] | None = None,
) -> float:
    """Install ``a`` with its pinned chart and wait until its workloads are ready and its CRDs are served.

    Returns the seconds it took. One deadline covers the install and the wait.
    """
    from . import tools

    runner = run or tools.run
    start = time.monotonic()
    for argv in helm_argv(cluster, a, chart_ref=chart_ref):
        runner("helm", argv, timeout=timeout, what=f"helm {' '.join(argv[:3])}")
    wait_ready(cluster, a, deadline=start + timeout, progress=progress, crds=chart_ref is None)
    return time.monotonic() - start


def wait_ready(
    cluster: Cluster, a: AddOn, *, deadline: float, progress: bool = True, crds: bool = True, poll: float = 2.0
) -> None:
    """Wait until the release's Deployments, StatefulSets and DaemonSets are ready (``kubectl rollout status`` on
    each) and, with ``crds``, the add-on's API group is served; a tqdm bar counts the ready workloads.

    Raises:
        ClusterError: not ready before ``deadline``; the message names what is not.
    """
    from .cluster._rollout import rollout_progress

    selector = f"app.kubernetes.io/instance={a.chart.release}"
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=1, desc=f"{a.project} ready", unit="workload", leave=False)
    try:
        while True:
            workloads = [
                w
                for kind in ("Deployment", "StatefulSet", "DaemonSet")
                for w in cluster.list(kind, namespace=a.chart.namespace, selector=selector)
            ]
            pending = [f"{w['kind']}/{w['metadata']['name']}" for w in workloads if not rollout_progress(w)[0]]
            if not workloads:
                pending = [f"the workloads of release {a.chart.release}"]
            elif crds and a.group not in cluster.api_groups():
                pending.append(f"the {a.group} CRDs")
            if bar is not None:
                bar.total = max(len(workloads), 1)
                bar.n = len(workloads) - len([p for p in pending if "/" in p])
                bar.refresh()
            if not pending:
                return
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"{a.project} is not ready: {', '.join(pending)}",
                    hint=f"kubectl -n {a.chart.namespace} get pods,events -l {selector}",
                    namespace=a.chart.namespace,
                )
            time.sleep(poll)
    finally:
        if bar is not None:
            bar.close()


__all__ = ["ADD_ONS", "PARAMETER", "AddOn", "PrerequisiteCheck", "PrerequisiteReport", "check", "install_commands"]
