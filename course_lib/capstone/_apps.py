"""Part 10's App of Apps as data: the child Applications (ChildApp, the default list and the exercise's starter),
the platform's cluster spec, each child's Application manifest, exercise 10-app-of-apps and the part's registered
manifests. See :mod:`course_lib.capstone`."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..exercises import CheckResult, exercise
from ..pins import ISTIO_CHART_REPO as ISTIO_REPO
from ..pins import (
    ISTIO_VERSION,
    KUBE_PROMETHEUS_STACK_VALUES,
    KUBE_PROMETHEUS_STACK_VERSION,
    KYVERNO_CHART,
)
from ..pins import PROMETHEUS_COMMUNITY_REPO as PROMETHEUS_REPO

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
        from ..config import validate_name

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
    from ..provision import ClusterSpec

    return ClusterSpec.single_pool(name, region=region, size=size, count=count)


# --- Argo CD manifests -----------------------------------------------------------------------------


def child_application(child: ChildApp, *, repo_url: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Application manifest of one child, with its sync wave (and server-side apply for big CRDs).

    Used in: notebook 10.
    """
    from ..manifests import argo_application

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
    from ..manifests import register

    repo_url = "https://github.com/your-username/course-platform.git"
    register(
        "10/platform-apps",
        lambda lb: [child_application(c, repo_url=repo_url, labels=lb) for c in DEFAULT_CHILDREN],
        replace=True,
    )


_register_manifests()
