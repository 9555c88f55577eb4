"""The capstone: the whole platform as one Git repository driven by an Argo CD App of Apps, and a checklist
that re-runs every validation of the course.

:func:`write_gitops_repo` writes a real local Git repository (the ``git`` program, not a simulation): a
``bootstrap/root-app.yaml`` (the App of Apps), one child Application per component under ``apps/`` (Helm
charts for the operators, folders of the course's own manifests for their configuration, the demo app), and a
``kustomization.yaml`` per folder. :func:`checklist` validates everything the course renders, runs ``promtool
test rules``, ``kubectl kustomize``, ``helm lint``, the cost guard and checks the repository is committed.

Example:
    >>> from course_lib import capstone as cap
    >>> [c.name for c in cap.DEFAULT_CHILDREN][:2]
    ['kube-prometheus-stack', 'istio-base']

Used in: notebook 10.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, CourseError
from .exercises import CheckResult, exercise
from .pins import (
    ARGOCD_CHART_VERSION,
    ISTIO_VERSION,
    KUBE_PROMETHEUS_STACK_VALUES,
    KUBE_PROMETHEUS_STACK_VERSION,
    KYVERNO_CHART,
)
from .pins import ISTIO_CHART_REPO as ISTIO_REPO
from .pins import PROMETHEUS_COMMUNITY_REPO as PROMETHEUS_REPO

#: The pins of parts 3-6, re-exported: one version of each chart across the course.
KYVERNO_CHART_VERSION = KYVERNO_CHART.version
KYVERNO_REPO = KYVERNO_CHART.repo_url
#: The seed's recommendation for this stack: three s-4vcpu-8gb nodes.
PLATFORM_NODE_SIZE = "s-4vcpu-8gb"
PLATFORM_NODES = 3
#: Fixed author and date, so the same files always give the same commit.


@dataclass(frozen=True)
class ChildApp:
    """One child Application of the App of Apps.

    Either a Helm ``chart`` (from ``repo`` at ``version``) or a Git folder ``path`` filled with the course's
    registered manifests named in ``course`` (e.g. ``"05/disallow-root"``).

    Attributes:
        component: what it is part of: ``monitoring``, ``mesh``, ``policy`` or ``demo app``.
        wave: Argo CD sync wave; lower waves sync (and become healthy) first.
    """

    name: str
    namespace: str
    component: str
    wave: int = 0
    chart: str | None = None
    repo: str | None = None
    version: str | None = None
    path: str | None = None
    course: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from .config import validate_name

        validate_name(self.name, what="child app name", max_len=63)
        if (self.chart is None) == (self.path is None):
            raise ConfigError(
                f"child {self.name!r} needs exactly one of chart= or path=",
                hint="a Helm chart (chart, repo, version) or a folder of manifests in the repo (path, course)",
            )
        if self.chart is not None and not (self.repo and self.version):
            raise ConfigError(
                f"chart child {self.name!r} needs repo= and a pinned version=", hint=f"e.g. {KYVERNO_CHART_VERSION!r}"
            )


DEFAULT_CHILDREN: tuple[ChildApp, ...] = (
    ChildApp(
        "kube-prometheus-stack",
        "monitoring",
        "monitoring",
        -1,
        chart="kube-prometheus-stack",
        repo=PROMETHEUS_REPO,
        version=KUBE_PROMETHEUS_STACK_VERSION,
    ),
    ChildApp("istio-base", "istio-system", "mesh", -2, chart="base", repo=ISTIO_REPO, version=ISTIO_VERSION),
    ChildApp("istiod", "istio-system", "mesh", -1, chart="istiod", repo=ISTIO_REPO, version=ISTIO_VERSION),
    ChildApp("kyverno", "kyverno", "policy", -1, chart="kyverno", repo=KYVERNO_REPO, version=KYVERNO_CHART_VERSION),
    ChildApp("monitoring", "monitoring", "monitoring", 0, path="platform/monitoring", course=("03/observability",)),
    ChildApp("mesh", "shop", "mesh", 0, path="platform/mesh", course=("04/shop-namespace", "04/checkout-mesh")),
    ChildApp("policy", "shop", "policy", 0, path="platform/policy", course=("05/disallow-root", "05/network-policies")),
    ChildApp("checkout", "shop", "demo app", 1, path="platform/checkout", course=("04/checkout-app",)),
)
REQUIRED_COMPONENTS = ("monitoring", "mesh", "policy", "demo app")


def starter_children() -> list[ChildApp]:
    """The App-of-Apps list of the exercise, with the policy component and the demo app still missing.

    Used in: notebook 10.
    """
    return [c for c in DEFAULT_CHILDREN if c.component not in ("policy", "demo app")]


# --- cluster and cost ------------------------------------------------------------------------------


def platform_spec(
    name: str, *, region: str = "nyc1", size: str = PLATFORM_NODE_SIZE, count: int = PLATFORM_NODES
) -> Any:
    """The capstone cluster as a part-1 ``ClusterSpec`` (three s-4vcpu-8gb nodes by default).

    Used in: notebook 10.
    """
    from .provision import ClusterSpec

    return ClusterSpec.single_pool(name, region=region, size=size, count=count)


# --- Argo CD manifests -----------------------------------------------------------------------------


def child_application(child: ChildApp, *, repo_url: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Application manifest of one child, with its sync wave (and server-side apply for big CRDs).

    Used in: notebook 10.
    """
    from .manifests import argo_application

    if child.chart is not None:
        app = argo_application(
            child.name, repo_url=str(child.repo), path="-", dest_namespace=child.namespace, labels=labels
        )
        app["spec"]["source"] = {"repoURL": child.repo, "chart": child.chart, "targetRevision": child.version}
        if child.chart == "kube-prometheus-stack":  # its Grafana (AGPL-3.0) stays off
            app["spec"]["source"]["helm"] = {
                "releaseName": "monitoring",
                "valuesObject": copy.deepcopy(KUBE_PROMETHEUS_STACK_VALUES),
            }
    else:
        app = argo_application(
            child.name, repo_url=repo_url, path=str(child.path), dest_namespace=child.namespace, labels=labels
        )
    app["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(child.wave)}
    options = app["spec"]["syncPolicy"].setdefault("syncOptions", [])
    if child.chart is not None:
        options.append("ServerSideApply=true")  # CRDs such as Prometheus' are too big for client-side apply
    return app


def _file_name(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


@dataclass(frozen=True)
class GitopsRepo:
    """A local Git repository holding the platform.

    Attributes:
        path: its folder.
        repo_url: where Argo CD will read it once pushed.
        files: tracked files, sorted.
        commit: the commit id of ``HEAD``.
    """

    path: Path
    repo_url: str
    files: tuple[str, ...]
    commit: str
    children: tuple[ChildApp, ...] = field(repr=False, default=())

    def git(self, *args: str) -> str:
        """Run ``git`` in the repository and return its output."""
        return _git(self.path, *args)

    def tree(self) -> str:
        """The tracked files as an indented tree (charts/ collapsed to their top folder)."""
        lines: list[str] = []
        seen: set[str] = set()
        for f in self.files:
            parts = f.split("/")
            if parts[0] == "charts" and len(parts) > 2:
                parts = [*parts[:2], "…"]
            for depth in range(len(parts)):
                key = "/".join(parts[: depth + 1])
                if key not in seen:
                    seen.add(key)
                    lines.append("  " * depth + parts[depth] + ("/" if depth < len(parts) - 1 else ""))
        return "\n".join(lines)

    def show(self, file: str) -> str:
        """The text of one file in the repository."""
        return (self.path / file).read_text(encoding="utf-8")

    def objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object in ``apps/``, ``bootstrap/`` and ``platform/`` (not the kustomization files)."""
        from .manifests import read_yaml_file

        objs: list[dict[str, Any]] = []
        for f in self.files:
            if f.startswith(("apps/", "bootstrap/", "platform/")) and not f.endswith("kustomization.yaml"):
                objs.extend(read_yaml_file(self.path / f))
        return objs


def _git(path: Path, *args: str) -> str:
    from .gitops import GitRepo  # one way to drive git: fixed author and date, no user or system config

    return GitRepo(path).git(*args)


def write_gitops_repo(
    directory: str | os.PathLike[str],
    *,
    children: Sequence[ChildApp] = DEFAULT_CHILDREN,
    repo_url: str = "https://github.com/your-username/course-platform.git",
    labels: Mapping[str, str] | None = None,
    chart: bool = True,
) -> GitopsRepo:
    """Write the platform into a new Git repository at ``directory`` and commit it.

    Layout: ``bootstrap/root-app.yaml`` (apply once; it watches ``apps/``), ``apps/<child>.yaml`` (one
    Application each), ``platform/<child>/`` (manifests + ``kustomization.yaml``), and with ``chart=True``
    (and ``helm`` installed) ``charts/checkout`` from ``helm create`` for part 6's packaging.

    Raises:
        ConfigError: ``directory`` exists and is not empty, or two children share a name.
        ToolMissingError: ``git`` is not installed.

    Used in: notebook 10.
    """
    import yaml

    from . import manifests as m

    root = Path(directory).expanduser()
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"{str(root)!r} is not empty", hint="pass a new or empty folder (e.g. tempfile.mkdtemp())")
    names = [c.name for c in children]
    if len(set(names)) != len(names):
        raise ConfigError(f"child names repeat: {names}", hint="give each child Application its own name")
    _import_all_parts()
    root.mkdir(parents=True, exist_ok=True)

    def dump(rel: str, objs: Sequence[Mapping[str, Any]]) -> None:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(m.to_yaml(list(objs)), encoding="utf-8")

    dump("bootstrap/root-app.yaml", [m.argo_app_of_apps("root", repo_url=repo_url, path="apps", labels=labels)])
    for child in children:
        dump(f"apps/{child.name}.yaml", [child_application(child, repo_url=repo_url, labels=labels)])
        if child.path:
            objs = [o for entry in child.course for o in m.render(entry, labels=labels)]
            for obj in objs:
                dump(f"{child.path}/{_file_name(obj)}", [obj])
            kustomization = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": sorted({_file_name(o) for o in objs}),
            }
            (root / child.path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    if chart:
        from .tools import available

        if available("helm"):
            from .cluster import helm_create

            helm_create("checkout", directory=root / "charts")
    (root / "README.md").write_text(
        "# Course platform\n\nApply `bootstrap/root-app.yaml` once; Argo CD syncs everything under `apps/`.\n",
        encoding="utf-8",
    )
    from .gitops import GitRepo

    GitRepo.init(root)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "platform: App of Apps with monitoring, mesh, policy and the demo app")
    return _repo_state(root, repo_url, tuple(children))


def _repo_state(root: Path, repo_url: str, children: tuple[ChildApp, ...]) -> GitopsRepo:
    files = tuple(sorted(_git(root, "ls-files").split()))
    return GitopsRepo(root, repo_url, files, _git(root, "rev-parse", "HEAD").strip(), children)


def canary_step(repo: GitopsRepo, *, weights: Mapping[str, int]) -> str:
    """The GitOps way to move a canary: change the VirtualService weights in Git and commit.

    Returns the commit's diff (``git show``), which is what Argo CD would apply on its next sync.

    Raises:
        ConfigError: weights are not whole percentages adding up to 100, or the repo has no mesh folder.

    Used in: notebook 10.
    """
    import yaml

    if sum(weights.values()) != 100 or any(not isinstance(w, int) or w < 0 for w in weights.values()):
        raise ConfigError(
            f"weights {dict(weights)} must be whole percentages adding up to 100", hint="e.g. v1=50, v2=50"
        )
    files = list((repo.path / "platform" / "mesh").glob("virtualservice-*.yaml"))
    if not files:
        raise ConfigError("the repository has no platform/mesh VirtualService", hint="include the 'mesh' child app")
    path = files[0]
    obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    for route in obj["spec"]["http"]:
        for dest in route["route"]:
            subset = dest["destination"].get("subset")
            if subset not in weights:
                raise ConfigError(f"no weight for subset {subset!r}", hint=f"give weights for {subset!r} too")
            dest["weight"] = weights[subset]
    from .manifests import to_yaml

    path.write_text(to_yaml([obj]), encoding="utf-8")
    split = ", ".join(f"{k}={v}%" for k, v in weights.items())
    _git(repo.path, "commit", "-q", "-am", f"canary: {split}")
    return _git(repo.path, "show", "--format=%s", "--no-color", "HEAD")


# --- verification and checklist --------------------------------------------------------------------


def verification_steps() -> Any:
    """How to verify the running platform on a cluster target (commands and what to expect).

    Used in: notebook 10.
    """
    import pandas as pd

    rows = [
        ("Argo CD: all apps synced", "kubectl get applications -n argocd", "every app Synced and Healthy"),
        (
            "Prometheus: every target up",
            "kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus 9090:9090",
            "http://127.0.0.1:9090/targets lists the course's ServiceMonitors, each target UP",
        ),
        (
            "Kiali: mesh graph",
            "istioctl dashboard kiali  (install the Kiali addon first)",
            "the shop namespace graph shows traffic to checkout v1 and v2",
        ),
        (
            "Canary: shift traffic",
            "commit new VirtualService weights (canary_step) and let Argo CD sync",
            "the v2 share moves to the new weight in Kiali / Prometheus",
        ),
        (
            "Policy: root is refused",
            "kubectl run root-test --image=nginx -n shop",
            "Kyverno rejects it (runAsNonRoot is required)",
        ),
    ]
    return pd.DataFrame(rows, columns=["check", "command", "expect"])


@dataclass(frozen=True)
class CheckRow:
    """One line of the checklist."""

    check: str
    status: str  # "pass", "fail" or "skip"
    detail: str


@dataclass(frozen=True)
class Checklist:
    """Every earlier validation, re-run over the platform."""

    rows: tuple[CheckRow, ...]

    @property
    def ok(self) -> bool:
        """No check failed (skipped ones, for a missing tool, do not count as failures)."""
        return all(r.status != "fail" for r in self.rows)

    def table(self) -> Any:
        import pandas as pd

        marks = {"pass": "✅ pass", "fail": "❌ FAIL", "skip": "⏭ skip"}
        return pd.DataFrame([{"check": r.check, "result": marks[r.status], "detail": r.detail} for r in self.rows])

    def __str__(self) -> str:
        return "\n".join(f"{r.status.upper():4}  {r.check}: {r.detail}" for r in self.rows)


def _import_all_parts() -> None:
    """Import the modules that register manifests of parts 8 and 9, so ``render_all`` covers them."""
    import importlib

    for name in ("course_lib.postgres", "course_lib.regions"):
        importlib.import_module(name)


def checklist(repo: GitopsRepo, *, spec: Any, max_hourly_cost: float, options: Any | None = None) -> Checklist:
    """Run every validation the course has over the platform and return a pass/fail table.

    Checks: ``course validate`` (render and validate every registered manifest), the repository's own
    manifests, ``kubectl kustomize`` of each platform folder, ``promtool test rules``, ``helm lint`` of the
    demo chart (skipped without helm), the cost guard, and a clean, committed working tree.

    Used in: notebook 10.
    """
    from . import manifests as m
    from .provision import check_cost, estimate_cost, get_options

    rows: list[CheckRow] = []

    def attempt(name: str, fn: Any) -> None:
        try:
            status, detail = fn()
        except CourseError as exc:
            status, detail = (
                ("skip", exc.message) if type(exc).__name__ == "ToolMissingError" else ("fail", exc.message)
            )
        rows.append(CheckRow(name, status, detail))

    def validate_all() -> tuple[str, str]:
        _import_all_parts()
        objs = [o for entry in m.render_all().values() for o in entry]
        report = m.validate(objs)
        if report.ok:
            return "pass", "every registered manifest renders and validates"
        bad = ", ".join(f"{r.kind}/{r.name}" for r in report.failures[:3])
        return "fail", f"{len(report.failures)} invalid, e.g. {bad}"

    def validate_repo() -> tuple[str, str]:
        report = m.validate(repo.objects())
        return ("pass" if report.ok else "fail"), f"{len(report.results)} objects in apps/, bootstrap/, platform/"

    def kustomize() -> tuple[str, str]:
        from .cluster import kustomize_build

        counts = [
            f"{c.path.split('/')[-1]}={len(kustomize_build(repo.path / c.path))}" for c in repo.children if c.path
        ]
        return "pass", "objects built: " + ", ".join(counts)

    def promtool() -> tuple[str, str]:
        from .sandbox import test_rules

        result = test_rules()
        return ("pass" if result.ok else "fail"), "promtool test rules: " + ("SUCCESS" if result.ok else "FAILED")

    def helm() -> tuple[str, str]:
        from .cluster import helm_lint
        from .errors import ToolMissingError

        chart = repo.path / "charts" / "checkout"
        if not chart.is_dir():
            raise ToolMissingError("no charts/checkout in the repo (helm was missing when it was written)")
        lint = helm_lint(chart)
        return "pass", f"1 chart linted, {len(lint.warnings)} warning(s)"

    def cost() -> tuple[str, str]:
        est = estimate_cost(spec, options=options or get_options(live=False))
        check_cost(est, max_hourly_cost=max_hourly_cost)
        return "pass", f"${est.max_hourly:.4f}/hour worst case ≤ ${max_hourly_cost:.2f}/hour"

    def git_clean() -> tuple[str, str]:
        dirty = repo.git("status", "--porcelain").strip()
        n = len(repo.git("log", "--format=%H").split())
        return ("fail", f"uncommitted changes: {dirty.splitlines()[0]}") if dirty else ("pass", f"clean, {n} commit(s)")

    attempt("course validate (everything rendered)", validate_all)
    attempt("GitOps repo manifests validate", validate_repo)
    attempt("kustomize build of each platform folder", kustomize)
    attempt("alert rules (promtool test rules)", promtool)
    attempt("helm lint charts/checkout", helm)
    attempt("cost under the limit", cost)
    attempt("Git: everything committed", git_clean)
    return Checklist(tuple(rows))


def argocd_helm_values() -> dict[str, Any]:
    """Values for the argo-cd chart that make the capstone's sync waves gate: ``configs.cm`` gets the health check
    of ``argoproj.io/Application`` (the sandbox's Argo CD has the same in its argocd-cm).

    Example:
        >>> "resource.customizations.health.argoproj.io_Application" in argocd_helm_values()["configs"]["cm"]
        True

    Used in: :func:`deploy_platform`.
    """
    from .sandbox._argocd import APPLICATION_HEALTH_LUA

    return {"configs": {"cm": {"resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA}}}


def deploy_platform(
    repo: GitopsRepo,
    *,
    settings: Any,
    spec: Any = None,
    confirm: bool = False,
    install_argocd: bool = True,
    cluster: Any = None,
) -> Any:
    """Deploy the whole platform on a cluster target: the cluster (``doks``: created or reused from ``spec``),
    Argo CD (pinned Helm chart), then the App of Apps' root Application. Argo CD syncs the children wave by wave.

    Push the repository to ``repo.repo_url`` first: Argo CD reads Git, not your disk.

    Args:
        settings: the session settings (target, kubeconfig/context, cost limit).
        spec: the cluster spec (required for ``doks``).
        confirm: must be ``True``: this creates billable resources and changes a cluster.
        install_argocd: run ``helm upgrade --install argocd`` first (skip when part 1's Terraform did it).
        cluster: an already connected cluster (tests, or a cluster you connected yourself).

    Returns:
        The :class:`~course_lib.cluster.ApplyReport` of the root Application.

    Raises:
        ConfigError: ``confirm`` is not True, the target is the sandbox, or ``doks`` without ``spec``
            (all checked before anything is sent).

    Used in: notebook 10 (cluster targets only).
    """
    target = getattr(cluster, "target", None) or settings.target
    if not confirm:
        raise ConfigError("deploy_platform changes a real cluster", hint="pass confirm=True when you mean it")
    if target == "sandbox":
        raise ConfigError(
            "the sandbox has no Argo CD controller to sync the App of Apps",
            hint="use target='doks' or 'kubeconfig' with a reachable cluster",
        )
    if target == "doks" and spec is None and cluster is None:
        raise ConfigError("target='doks' needs the cluster spec", hint="pass spec=cap.platform_spec(...)")
    from . import cluster as kc
    from .manifests import read_yaml_file

    kubeconfig, context = settings.kubeconfig, settings.context
    if cluster is None and target == "doks":
        from .provision import create_cluster
        from .provision import kubeconfig as write_kubeconfig

        info = create_cluster(spec, confirm=confirm, max_hourly_cost=settings.max_hourly_cost)
        kube = write_kubeconfig(info.id, f"~/.kube/{spec.name}.yaml")
        kubeconfig, context = str(kube.path), kube.context
    if install_argocd:
        import tempfile

        import yaml

        from .tools import run

        # Sync waves between child Applications gate only when Argo CD assesses an Application's health (removed
        # from its built-in checks in 1.8): the chart puts configs.cm into argocd-cm.
        values = tempfile.NamedTemporaryFile("w", suffix="-argocd-values.yaml", delete=False)  # noqa: SIM115
        with values:
            yaml.safe_dump(argocd_helm_values(), values)
        conn = [
            *(["--kubeconfig", kubeconfig] if kubeconfig else []),
            *(["--kube-context", context] if context else []),
        ]
        run(
            "helm",
            ["repo", "add", "argo", "https://argoproj.github.io/argo-helm", "--force-update"],
            what="helm repo add",
        )
        run(
            "helm",
            [
                "upgrade",
                "--install",
                "argocd",
                "argo/argo-cd",
                "--version",
                ARGOCD_CHART_VERSION,
                "--namespace",
                "argocd",
                "--create-namespace",
                "--wait",
                "--timeout",
                "600s",
                "--values",
                values.name,
                *conn,
            ],
            timeout=660,
            what="helm upgrade --install argocd",
        )
    if cluster is None:
        cluster = kc.connect(target, settings=settings, kubeconfig=kubeconfig, context=context)
    return cluster.apply(read_yaml_file(repo.path / "bootstrap" / "root-app.yaml"))


# --- sync waves on the sandbox's real Argo CD -------------------------------------------------------


def sandbox_waves(
    argocd: Any, cluster: Any, *, waves: Sequence[int] = (-2, -1, 0, 1), folder: str | Path = ".", timeout: float = 180
) -> Any:
    """Prove the wave order with the sandbox's real Argo CD: a root Application over a folder of child Applications
    (one guestbook each, with the capstone's waves), in a local Git repository. With argocd-cm's Application health
    check the root creates a wave's children only after the previous wave is Healthy.

    Returns ``(table, root, repo)``: a DataFrame with one row per child (wave, when the root created it, when its own
    sync started and finished: seconds after the root was applied, from ``metadata.creationTimestamp`` and
    ``status.operationState``, whole seconds as the API stores them), the root Application and the repository.

    Used in: notebook 10 (sandbox).
    """
    import tempfile
    from datetime import datetime

    import pandas as pd

    from . import gitops
    from .manifests import argo_app_of_apps, argo_application

    repo = gitops.GitRepo.init(tempfile.mkdtemp(prefix="waves-repo-", dir=str(folder)))
    url = gitops.repo_url(repo, local=True)
    children = []
    for wave in waves:
        name = f"wave{wave:+d}".replace("+", "p").replace("-", "m")
        repo.write_objects(gitops.guestbook_manifests(namespace=name), folder=f"platform/{name}")
        child = argo_application(name, repo_url=url, path=f"platform/{name}", dest_namespace=name)
        child["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
        children.append(child)
    repo.write_objects(children, folder="apps")
    repo.commit("platform: one guestbook per wave")
    root = argo_app_of_apps("waves-root", repo_url=url, path="apps")
    root["spec"]["source"].pop("directory")  # apps/ only
    started = datetime.now().astimezone()
    cluster.apply(root)
    argocd.wait("waves-root", sync="Synced", health="Healthy", timeout=timeout)
    for child in children:  # the last wave gates nothing: the root may be done before it is
        argocd.wait(child["metadata"]["name"], sync="Synced", health="Healthy", timeout=timeout)

    def secs(text: str | None) -> float | None:
        if not text:
            return None
        return round((datetime.fromisoformat(text.replace("Z", "+00:00")) - started).total_seconds(), 1)

    rows = []
    for child, wave in zip(children, waves, strict=True):
        live = cluster.get(
            "Application", child["metadata"]["name"], namespace="argocd", api_version="argoproj.io/v1alpha1"
        )
        op = (live.get("status") or {}).get("operationState") or {}
        rows.append({
            "child": child["metadata"]["name"], "wave": wave,
            "created by the root (s)": secs(live["metadata"].get("creationTimestamp")),
            "sync started (s)": secs(op.get("startedAt")), "sync finished (s)": secs(op.get("finishedAt")),
            "health": ((live.get("status") or {}).get("health") or {}).get("status"),
        })  # fmt: skip
    return pd.DataFrame(rows), root, repo


# --- exercise --------------------------------------------------------------------------------------

_NEEDS = {"monitoring": "kube-prometheus-stack", "istiod": "istio-base", "mesh": "istiod", "policy": "kyverno"}


def _as_child(item: Any) -> ChildApp:
    if isinstance(item, ChildApp):
        return item
    if isinstance(item, Mapping):
        data = dict(item)
        if "course" in data:
            data["course"] = tuple(data["course"])
        return ChildApp(**data)
    raise ConfigError(f"{item!r} is not a child app", hint="use cap.ChildApp(...) for each entry")


@exercise("10-app-of-apps")
def _check_app_of_apps(answer: Any) -> CheckResult:
    """Part 10: the App-of-Apps list covers monitoring, mesh, policy and the demo app, in a working wave order."""
    name = "10-app-of-apps"
    if not isinstance(answer, Sequence) or isinstance(answer, str | bytes):
        return CheckResult(
            name, False, "the answer should be a list of ChildApp entries.", "start from starter_children()"
        )
    try:
        children = [_as_child(a) for a in answer]
    except (ConfigError, TypeError) as exc:
        msg = exc.message if isinstance(exc, ConfigError) else str(exc)
        return CheckResult(name, False, f"one entry is not a valid child: {msg}", "see ChildApp's fields")
    by_name = {c.name: c for c in children}
    if len(by_name) != len(children):
        return CheckResult(name, False, "two children have the same name.", "Application names must be unique")
    missing = [comp for comp in REQUIRED_COMPONENTS if not any(c.component == comp for c in children)]
    if missing:
        return CheckResult(name, False, f"nothing deploys the {', '.join(missing)} component.", "add a ChildApp for it")
    for comp in REQUIRED_COMPONENTS:
        if comp != "demo app" and not any(c.component == comp and c.chart for c in children):
            return CheckResult(
                name,
                False,
                f"the {comp} component has no operator chart.",
                "its custom resources need their controller (and CRDs) installed by a Helm chart",
            )
    for child, needed in _NEEDS.items():
        if child in by_name and needed in by_name and by_name[child].wave <= by_name[needed].wave:
            return CheckResult(
                name,
                False,
                f"{child} (wave {by_name[child].wave}) does not come after {needed} (wave {by_name[needed].wave}).",
                "its CRDs come from that chart: give it a higher sync wave",
            )
    app = [c for c in children if c.component == "demo app"]
    others = [c for c in children if c.component in ("mesh", "policy") and c.path]
    late = [o.name for o in others for a in app if a.wave <= o.wave]
    if late:
        return CheckResult(
            name,
            False,
            f"the demo app syncs no later than {', '.join(sorted(set(late)))}.",
            "sidecar injection and policies must exist before its pods start: use a higher wave",
        )
    for c in children:
        for entry in c.course:
            if not re.fullmatch(r"\d\d/[a-z0-9-]+", entry):
                return CheckResult(name, False, f"{entry!r} is not a course manifest name.", "e.g. '05/disallow-root'")
    return CheckResult(name, True, f"{len(children)} child apps cover {', '.join(REQUIRED_COMPONENTS)} in wave order.")


def _register_manifests() -> None:
    from .manifests import register

    repo_url = "https://github.com/your-username/course-platform.git"
    register(
        "10/platform-apps",
        lambda lb: [child_application(c, repo_url=repo_url, labels=lb) for c in DEFAULT_CHILDREN],
        replace=True,
    )


_register_manifests()

__all__ = [
    "DEFAULT_CHILDREN",
    "REQUIRED_COMPONENTS",
    "CheckRow",
    "ChildApp",
    "Checklist",
    "GitopsRepo",
    "canary_step",
    "checklist",
    "child_application",
    "deploy_platform",
    "platform_spec",
    "starter_children",
    "verification_steps",
    "write_gitops_repo",
]
