"""Part 6's releases: the course's Helm releases with pinned charts, as a table and as one ``helmfile.yaml``, and a
release's ``helm history``. See :mod:`course_lib.charts`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ._files import write_chart

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


# --- Helmfile ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One Helm release of the course, with its chart pinned.

    Attributes:
        name: release name.
        namespace: where it is installed.
        chart: ``repo/chart`` or a local path such as ``./charts/checkout``.
        version: the pinned chart version (empty for a local chart).
        part: the course part that installs it.
        values: inline values (kept short; big ones live in files).
        values_files: values files, relative to the helmfile.
        needs: releases that must be installed first (``namespace/name``).
        labels: Helmfile labels, for selecting releases (``helmfile -l env=prod sync``).
    """

    name: str
    namespace: str
    chart: str
    version: str
    part: int
    values: Mapping[str, Any] = field(default_factory=dict)
    values_files: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


#: Where :func:`write_helmfile` puts the course's checkout chart, relative to the helmfile (a release's ``chart`` is
#: ``./`` + this, its values files are under it).
LOCAL_CHART = "charts/checkout"

#: Chart repositories of the course's releases.
REPOSITORIES: dict[str, str] = {
    "prometheus-community": "https://prometheus-community.github.io/helm-charts",
    "vm": "https://victoriametrics.github.io/helm-charts/",
    "argo": "https://argoproj.github.io/argo-helm",
    "traefik": "https://traefik.github.io/charts",
    "istio": "https://istio-release.storage.googleapis.com/charts",
    "kyverno": "https://kyverno.github.io/kyverno",
}


def course_releases() -> tuple[Release, ...]:
    """The Helm releases the course installs on a cluster, chart versions pinned where the course pins them.

    Used in: notebook 06.
    """
    from ..observe._install import KUBE_PROMETHEUS_STACK_VERSION
    from ..pins import (
        ARGOCD_CHART_VERSION,
        KUBE_PROMETHEUS_STACK_VALUES,
        VICTORIA_LOGS_CHART,
        VICTORIA_LOGS_COLLECTOR_CHART,
    )
    from ..policy import KYVERNO_CHART
    from ..traffic import ISTIO_VERSION, TRAEFIK_CHART_VERSION

    return (
        Release("argocd", "argocd", "argo/argo-cd", ARGOCD_CHART_VERSION, 2),
        Release(
            "monitoring",
            "monitoring",
            "prometheus-community/kube-prometheus-stack",
            KUBE_PROMETHEUS_STACK_VERSION,
            3,
            values=KUBE_PROMETHEUS_STACK_VALUES,  # Grafana (AGPL-3.0) stays off
        ),
        Release("vlogs", "monitoring", "vm/victoria-logs-single", VICTORIA_LOGS_CHART.version, 3),
        Release(
            "vlogs-collector",
            "monitoring",
            "vm/victoria-logs-collector",
            VICTORIA_LOGS_COLLECTOR_CHART.version,
            3,
            values={"remoteWrite": [{"url": dict(VICTORIA_LOGS_COLLECTOR_CHART.values)["remoteWrite[0].url"]}]},
            needs=("monitoring/vlogs",),
        ),
        Release(
            "traefik", "traefik", "traefik/traefik", TRAEFIK_CHART_VERSION, 4, values_files=("traefik-values.yaml",)
        ),
        Release("istio-base", "istio-system", "istio/base", ISTIO_VERSION, 4),
        Release("istiod", "istio-system", "istio/istiod", ISTIO_VERSION, 4, needs=("istio-system/istio-base",)),
        Release("kyverno", "kyverno", "kyverno/kyverno", KYVERNO_CHART.version, 5),
        Release(
            "checkout",
            "shop",
            f"./{LOCAL_CHART}",
            "",
            6,
            values_files=(f"{LOCAL_CHART}/values-prod.yaml",),
            needs=("traefik/traefik",),
        ),
    )


def environment_releases(learner: str, *, prod_values: Mapping[str, Any] | None = None) -> tuple[Release, ...]:
    """Two releases of the course's own checkout chart, dev then prod, each in a namespace of its own.

    What Part 6 runs with the real ``helmfile`` on any cluster: local charts only, so no chart repository is
    contacted. Namespaces ``hf-dev-<learner>`` and ``hf-prod-<learner>``; labels ``env: dev|prod`` for
    ``helmfile -l``; prod ``needs`` dev, so Helmfile installs dev first.

    Args:
        learner: the learner's name (part of both namespaces).
        prod_values: inline values for prod, on top of ``values-prod.yaml`` (an upgrade in the notebook).

    Raises:
        ConfigError: ``learner`` is not a DNS label.

    Example:
        >>> [(r.namespace, r.needs) for r in environment_releases("ada")]
        [('hf-dev-ada', ()), ('hf-prod-ada', ('hf-dev-ada/checkout',))]

    Used in: notebook 06.
    """
    from ..config import validate_name

    validate_name(learner, what="learner", max_len=63 - len("hf-prod-"))
    dev, prod = f"hf-dev-{learner}", f"hf-prod-{learner}"
    chart = f"./{LOCAL_CHART}"
    return (
        Release("checkout", dev, chart, "", 6, values_files=(f"{LOCAL_CHART}/values-dev.yaml",), labels={"env": "dev"}),
        Release(
            "checkout",
            prod,
            chart,
            "",
            6,
            values=dict(prod_values or {}),
            values_files=(f"{LOCAL_CHART}/values-prod.yaml",),
            needs=(f"{dev}/checkout",),
            labels={"env": "prod"},
        ),
    )


def releases_frame(releases: Sequence[Release] | None = None) -> pd.DataFrame:
    """The releases as a table: part, release, namespace, chart, version.

    Used in: notebook 06.
    """
    import pandas as pd

    rows = [
        {
            "part": r.part,
            "release": r.name,
            "namespace": r.namespace,
            "chart": r.chart,
            "version": r.version or "(local)",
        }
        for r in (releases if releases is not None else course_releases())
    ]
    return pd.DataFrame(rows)


def helmfile_yaml(releases: Sequence[Release] | None = None) -> str:
    """A ``helmfile.yaml`` for the releases: the repositories they use, then one entry per release.

    Raises:
        ConfigError: a release names a repository the course does not know, a remote chart has no pinned
            version, or two releases share a namespace/name.

    Example:
        >>> "version: 41.3.0" in helmfile_yaml()
        True

    Used in: notebook 06.
    """
    import yaml

    chosen = list(releases if releases is not None else course_releases())
    ids = [f"{r.namespace}/{r.name}" for r in chosen]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"releases {dupes} appear twice", hint="each namespace/name pair is one release")
    repos: dict[str, str] = {}
    entries = []
    for r in chosen:
        local = r.chart.startswith((".", "/"))
        if not local:
            repo = r.chart.split("/", 1)[0]
            if repo not in REPOSITORIES:
                raise ConfigError(f"unknown chart repository {repo!r}", hint=f"known: {', '.join(REPOSITORIES)}")
            if not r.version:
                raise ConfigError(f"release {r.name!r} has no pinned version", hint="pin every remote chart")
            repos[repo] = REPOSITORIES[repo]
        entry: dict[str, Any] = {"name": r.name, "namespace": r.namespace, "createNamespace": True, "chart": r.chart}
        if r.version:
            entry["version"] = r.version
        values: list[Any] = [*r.values_files, *([dict(r.values)] if r.values else [])]
        if values:
            entry["values"] = values
        if r.needs:
            entry["needs"] = list(r.needs)
        if r.labels:
            entry["labels"] = dict(r.labels)
        entries.append(entry)
    doc: dict[str, Any] = {"repositories": [{"name": k, "url": v} for k, v in repos.items()]} if repos else {}
    doc["releases"] = entries
    return yaml.safe_dump(doc, sort_keys=False)


def write_helmfile(directory: str | os.PathLike[str], releases: Sequence[Release] | None = None) -> Path:
    """Write ``helmfile.yaml`` (and the checkout chart under ``charts/`` it points at) into ``directory``.

    Used in: notebook 06.
    """
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / LOCAL_CHART
    if not chart.exists():
        write_chart(chart.parent, name=chart.name)
    path = folder / "helmfile.yaml"
    path.write_text(helmfile_yaml(releases))
    return path


def release_history(release: str, *, namespace: str) -> pd.DataFrame:
    """``helm history RELEASE -n NAMESPACE -o json`` as a frame: revision, status, chart, app version, description.

    Runs the real helm against the cluster ``KUBECONFIG`` points at (``Cluster.use_in_shell()`` sets it).

    Used in: notebook 06.
    """
    import json

    import pandas as pd

    from ..tools import run

    out = run("helm", ["history", release, "-n", namespace, "-o", "json"]).stdout
    rows = [
        {
            "revision": r.get("revision"),
            "status": r.get("status"),
            "chart": r.get("chart"),
            "app_version": r.get("app_version"),
            "description": r.get("description"),
        }
        for r in json.loads(out or "[]")
    ]
    return pd.DataFrame(rows, columns=["revision", "status", "chart", "app_version", "description"])
