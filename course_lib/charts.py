"""The course's Helm chart and Kustomize tree as real files, plus diffs, a Helmfile and two "Your turn" checks.

The chart (``data/charts/checkout``) and the kustomize base and overlays (``data/kustomize``) are ordinary
files in the repository; :func:`write_chart` and :func:`write_kustomize_tree` copy them into a working directory
where the real ``helm`` and ``kubectl kustomize`` (see :mod:`course_lib.cluster`) read them. :func:`diff_rows`
and :func:`unified_diff` compare two renderings (dev against prod), and :func:`helmfile_yaml` writes the
course's releases, with pinned chart versions, as one ``helmfile.yaml``.

Example:
    >>> import tempfile, course_lib.cluster as kc
    >>> chart = write_chart(tempfile.mkdtemp())
    >>> [o["kind"] for o in kc.helm_template(chart, environment_values(chart, "dev"), release="checkout",
    ...                                      namespace="shop")]  # doctest: +SKIP
    ['ConfigMap', 'Service', 'Deployment']

Used in: notebooks 06 and 07.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._resources import data_path
from .errors import ConfigError, CourseError
from .exercises import CheckResult, exercise

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DATA_DIR = data_path()
CHART_SOURCE = DATA_DIR / "charts" / "checkout"
KUSTOMIZE_SOURCE = DATA_DIR / "kustomize"
ENVIRONMENTS = ("dev", "prod")

#: The configmap template with its ``range`` never closed: what ``helm lint`` reports in the exercise of Part 6.
BROKEN_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "checkout.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "checkout.labels" . | nindent 4 }}
data:
  ENVIRONMENT: {{ .Values.environment | quote }}
  {{- range $key, $value := .Values.config }}
  {{ $key }}: {{ $value | quote }}
"""


# --- files ------------------------------------------------------------------------------------------


def _fresh(target: Path) -> Path:
    if target.exists():
        raise ConfigError(f"{str(target)!r} exists already", hint="choose another directory or name, or delete it")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def write_chart(directory: str | os.PathLike[str], *, name: str = "checkout", broken: bool = False) -> Path:
    """Copy the course's checkout chart into ``directory/name`` and return the chart folder.

    Args:
        directory: the working directory.
        name: the folder name (the chart's own name stays ``checkout``).
        broken: replace ``templates/configmap.yaml`` with :data:`BROKEN_CONFIGMAP` (for the exercise).

    Raises:
        ConfigError: ``directory/name`` exists already.

    Used in: notebook 06.
    """
    from .config import validate_name

    target = _fresh(Path(directory).expanduser() / validate_name(name, what="chart folder"))
    shutil.copytree(CHART_SOURCE, target)
    if broken:
        (target / "templates" / "configmap.yaml").write_text(BROKEN_CONFIGMAP)
    return target


@dataclass(frozen=True)
class KustomizeTree:
    """A kustomize base with its overlays, written into a working directory.

    Attributes:
        root: the folder holding ``base/`` and ``overlays/``.
    """

    root: Path

    @property
    def base(self) -> Path:
        return self.root / "base"

    def overlay(self, name: str) -> Path:
        """The folder of one overlay, e.g. ``tree.overlay("prod")``.

        Raises:
            ConfigError: no such overlay (the valid names are listed).
        """
        path = self.root / "overlays" / name
        if not path.is_dir():
            names = sorted(p.name for p in (self.root / "overlays").iterdir() if p.is_dir())
            raise ConfigError(f"no overlay named {name!r}", hint=f"choose one of: {', '.join(names)}")
        return path

    def __str__(self) -> str:
        return listing(self.root)


def write_kustomize_tree(directory: str | os.PathLike[str], *, name: str = "kustomize") -> KustomizeTree:
    """Copy the course's kustomize base and dev/prod overlays into ``directory/name``.

    Raises:
        ConfigError: ``directory/name`` exists already.

    Used in: notebook 07.
    """
    target = _fresh(Path(directory).expanduser() / name)
    shutil.copytree(KUSTOMIZE_SOURCE, target)
    return KustomizeTree(target)


def listing(root: str | os.PathLike[str]) -> str:
    """A ``tree``-like listing of the files under ``root`` (files first, then folders, each sorted by name).

    Example:
        >>> print(listing(CHART_SOURCE).splitlines()[0])
        checkout/
    """
    base = Path(root)
    lines = [f"{base.name}/"]

    def walk(folder: Path, indent: str) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: (p.is_dir(), p.name))
        for i, entry in enumerate(entries):
            last = i == len(entries) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{entry.name}{'/' if entry.is_dir() else ''}")
            if entry.is_dir():
                walk(entry, indent + ("    " if last else "│   "))

    walk(base, "")
    return "\n".join(lines)


def read(root: str | os.PathLike[str], relative: str) -> str:
    """The text of one file of a chart or kustomize tree.

    Raises:
        ConfigError: no such file (the files that exist are listed).
    """
    base = Path(root)
    path = base / relative
    if not path.is_file():
        files = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        raise ConfigError(f"no file {relative!r} in {base.name}", hint=f"files: {', '.join(files)}")
    return path.read_text()


def environment_values(chart: str | os.PathLike[str], environment: str) -> dict[str, Any]:
    """The values of ``values-<environment>.yaml`` in a chart, as a dict for ``helm_template``.

    Raises:
        ConfigError: unknown environment.

    Used in: notebook 06.
    """
    import yaml

    path = Path(chart) / f"values-{environment}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"the chart has no values-{environment}.yaml", hint=f"environments: {', '.join(ENVIRONMENTS)}"
        )
    return dict(yaml.safe_load(path.read_text()) or {})


def set_literal(overlay: str | os.PathLike[str], key: str, value: str, *, generator: str = "checkout-config") -> Path:
    """Set ``KEY=value`` in an overlay's ``configMapGenerator`` literals (add or replace) and save the file.

    Used in: notebook 07 (a changed ConfigMap gets a new hash suffix, so the Deployment rolls).
    """
    import yaml

    path = Path(overlay) / "kustomization.yaml"
    doc = yaml.safe_load(path.read_text())
    for gen in doc.get("configMapGenerator") or []:
        if gen.get("name") == generator:
            literals = [lit for lit in gen.get("literals") or [] if not lit.startswith(f"{key}=")]
            gen["literals"] = [*literals, f"{key}={value}"]
            break
    else:
        raise ConfigError(f"{path.parent.name} has no configMapGenerator {generator!r}", hint="check the overlay")
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def config_refs(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """For each Deployment: the ConfigMaps that exist and the one its pods load (``envFrom``).

    Used in: notebook 07.
    """
    maps = [o["metadata"]["name"] for o in objects if o.get("kind") == "ConfigMap"]
    rows = []
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name", "")
                rows.append(
                    {
                        "deployment": obj["metadata"]["name"],
                        "loads ConfigMap": ref,
                        "exists": ref in maps,
                    }
                )
    return rows


# --- diffs ------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _keyed(objects: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    """Objects keyed by (kind, n-th of that kind): matches dev-x with prod-x whatever the prefix."""
    seen: dict[str, int] = {}
    out = {}
    for obj in objects:
        kind = str(obj.get("kind"))
        out[(kind, seen.get(kind, 0))] = obj
        seen[kind] = seen.get(kind, 0) + 1
    return out


def diff_rows(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], *, a_name: str = "dev", b_name: str = "prod"
) -> list[dict[str, Any]]:
    """Every field that differs between two renderings: kind, field path, the value on each side.

    Objects are matched by kind and order (so ``dev-checkout`` pairs with ``prod-checkout``); an object that
    exists on one side only is one row with ``(absent)`` on the other.

    Example:
        >>> a = [{"kind": "Deployment", "spec": {"replicas": 1}}]
        >>> b = [{"kind": "Deployment", "spec": {"replicas": 3}}]
        >>> diff_rows(a, b)
        [{'kind': 'Deployment', 'field': 'spec.replicas', 'dev': 1, 'prod': 3}]

    Used in: notebooks 06 and 07.
    """
    left, right = _keyed(a), _keyed(b)
    rows: list[dict[str, Any]] = []
    for key in [*left, *[k for k in right if k not in left]]:
        kind = key[0]
        if key not in right or key not in left:
            obj = left.get(key) or right[key]
            name = (obj.get("metadata") or {}).get("name", "")
            here, there = ("present", "(absent)") if key in left else ("(absent)", "present")
            rows.append({"kind": kind, "field": f"(whole object {name})", a_name: here, b_name: there})
            continue
        fa, fb = _flatten(left[key]), _flatten(right[key])
        for path in [*fa, *[p for p in fb if p not in fa]]:
            va, vb = fa.get(path, "(absent)"), fb.get(path, "(absent)")
            if va != vb:
                rows.append({"kind": kind, "field": path, a_name: va, b_name: vb})
    return rows


def diff_frame(
    a: Sequence[Mapping[str, Any]],
    b: Sequence[Mapping[str, Any]],
    *,
    a_name: str = "dev",
    b_name: str = "prod",
    width: int = 40,
) -> pd.DataFrame:
    """:func:`diff_rows` as a DataFrame (values shown as text, cut to ``width`` characters).

    Used in: notebooks 06 and 07.
    """
    import pandas as pd

    rows = diff_rows(a, b, a_name=a_name, b_name=b_name)
    frame = pd.DataFrame(rows, columns=["kind", "field", a_name, b_name])
    for col in (a_name, b_name):  # long values (hashes) are cut so the table stays readable
        frame[col] = frame[col].map(lambda v: s if len(s := str(v)) <= width else s[: width - 1] + "…")
    return frame


def unified_diff(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], *, a_name: str = "dev", b_name: str = "prod"
) -> str:
    """A unified diff of the two renderings as YAML (what ``diff -u dev.yaml prod.yaml`` would print).

    Used in: notebooks 06 and 07.
    """
    from .manifests import to_yaml

    lines = difflib.unified_diff(
        to_yaml(list(a)).splitlines(), to_yaml(list(b)).splitlines(), a_name, b_name, lineterm="", n=1
    )
    return "\n".join(lines)


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
    """

    name: str
    namespace: str
    chart: str
    version: str
    part: int
    values: Mapping[str, Any] = field(default_factory=dict)
    values_files: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


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
    from .observe._install import KUBE_PROMETHEUS_STACK_VERSION
    from .pins import (
        ARGOCD_CHART_VERSION,
        KUBE_PROMETHEUS_STACK_VALUES,
        VICTORIA_LOGS_CHART,
        VICTORIA_LOGS_COLLECTOR_CHART,
    )
    from .policy import KYVERNO_CHART
    from .traffic import ISTIO_VERSION, TRAEFIK_CHART_VERSION

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
            "./charts/checkout",
            "",
            6,
            values_files=("charts/checkout/values-prod.yaml",),
            needs=("traefik/traefik",),
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
        entries.append(entry)
    doc = {"repositories": [{"name": k, "url": v} for k, v in repos.items()], "releases": entries}
    return yaml.safe_dump(doc, sort_keys=False)


def write_helmfile(directory: str | os.PathLike[str], releases: Sequence[Release] | None = None) -> Path:
    """Write ``helmfile.yaml`` (and the checkout chart under ``charts/`` it points at) into ``directory``.

    Used in: notebook 06.
    """
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "charts" / "checkout").exists():
        write_chart(folder / "charts")
    path = folder / "helmfile.yaml"
    path.write_text(helmfile_yaml(releases))
    return path


# --- Helm vs Kustomize --------------------------------------------------------------------------------


def helm_vs_kustomize() -> list[dict[str, str]]:
    """The comparison table of Part 7 (rows: aspect, Helm, Kustomize).

    Used in: notebook 07.
    """
    return [
        {
            "aspect": "Approach",
            "Helm": "Go templates filled from values",
            "Kustomize": "plain YAML + patches (overlays)",
        },
        {
            "aspect": "Learning curve",
            "Helm": "higher: template language, helpers",
            "Kustomize": "lower: it is all YAML",
        },
        {"aspect": "Packaging", "Helm": "versioned charts (tarballs, OCI)", "Kustomize": "folders in Git"},
        {
            "aspect": "Install state",
            "Helm": "releases with history and rollback",
            "Kustomize": "none: kubectl apply -k",
        },
        {
            "aspect": "Built into kubectl",
            "Helm": "no (separate binary)",
            "Kustomize": "yes (kubectl kustomize, apply -k)",
        },
        {
            "aspect": "Config changes roll pods",
            "Helm": "checksum annotation (by hand)",
            "Kustomize": "generator hash suffix",
        },
        {
            "aspect": "Best for",
            "Helm": "distributing apps to others",
            "Kustomize": "your own config across environments",
        },
    ]


# --- Your turn ----------------------------------------------------------------------------------------


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "[ERROR]" in line or "error" in line.lower():
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "helm failed"


@exercise("06-fix-template")
def _check_fixed_template(answer: Any) -> CheckResult:
    """Part 6: the text of a fixed ``templates/configmap.yaml`` that lints and renders every config key."""
    import course_lib.cluster as kc

    name = "06-fix-template"
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(
            name,
            False,
            "the answer should be the template's text as a string.",
            "start from charts.read(broken_chart, 'templates/configmap.yaml')",
        )
    with tempfile.TemporaryDirectory(prefix="course-06-") as tmp:
        chart = write_chart(tmp)
        (chart / "templates" / "configmap.yaml").write_text(answer)
        try:
            kc.helm_lint(chart)
            objs = kc.helm_template(chart, release="checkout", namespace="shop")
        except CourseError as exc:
            return CheckResult(
                name,
                False,
                f"helm still fails: {_first_error(exc.message)}",
                "every {{ range }}, {{ if }} and {{ with }} needs its own {{ end }}",
            )
    maps = [o for o in objs if o.get("kind") == "ConfigMap"]
    if not maps:
        return CheckResult(
            name,
            False,
            "the chart lints, but renders no ConfigMap any more.",
            "keep the ConfigMap; only close what is open",
        )
    data = maps[0].get("data") or {}
    missing = [k for k in ("ENVIRONMENT", "DB_HOST", "DB_PORT") if k not in data]
    if missing:
        return CheckResult(
            name,
            False,
            f"the ConfigMap renders, but lacks {missing}.",
            "the range over .Values.config must write one key per value",
        )
    return CheckResult(name, True, f"helm lint passes and the ConfigMap has {sorted(data)}.")


_EXERCISE_OVERLAY = "staging"


@exercise("07-overlay")
def _check_overlay(answer: Any) -> CheckResult:
    """Part 7: a ``kustomization.yaml`` for overlay ``staging``: the base, namespace staging, 3 replicas, tag 0.2.0."""
    import yaml

    import course_lib.cluster as kc

    name = "07-overlay"
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(
            name,
            False,
            "the answer should be the kustomization.yaml text as a string.",
            "start with apiVersion: kustomize.config.k8s.io/v1beta1",
        )
    try:
        doc = yaml.safe_load(answer)
    except yaml.YAMLError as exc:
        return CheckResult(name, False, f"that is not valid YAML: {str(exc).splitlines()[0]}", "check the indentation")
    if not isinstance(doc, dict) or "../../base" not in [str(r).rstrip("/") for r in doc.get("resources") or []]:
        return CheckResult(
            name,
            False,
            "the overlay does not include the base.",
            "an overlay lists the base under resources, as a relative path",
        )
    with tempfile.TemporaryDirectory(prefix="course-07-") as tmp:
        tree = write_kustomize_tree(tmp)
        folder = tree.root / "overlays" / _EXERCISE_OVERLAY
        folder.mkdir()
        (folder / "kustomization.yaml").write_text(answer)
        try:
            objs = kc.kustomize_build(folder)
        except CourseError as exc:
            return CheckResult(
                name,
                False,
                f"kustomize rejected it: {exc.message.splitlines()[0]}",
                "read kustomize's message: it names the field it could not use",
            )
    deployments = [o for o in objs if o.get("kind") == "Deployment"]
    if not deployments:  # pragma: no cover - the base always has one
        return CheckResult(name, False, "the build has no Deployment.", "include the base")
    dep = deployments[0]
    namespaces = sorted({(o.get("metadata") or {}).get("namespace") or "(none)" for o in objs})
    if namespaces != ["staging"]:
        return CheckResult(
            name,
            False,
            f"the objects are in namespace(s) {namespaces}, not staging.",
            "one transformer field sets the namespace of every object",
        )
    replicas = dep["spec"].get("replicas")
    if replicas != 3:
        return CheckResult(
            name,
            False,
            f"the Deployment has {replicas} replicas, not 3.",
            "a `replicas:` entry (name + count) or a patch changes it",
        )
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    if not image.endswith(":0.2.0"):
        return CheckResult(
            name,
            False,
            f"the container image is {image!r}, not tag 0.2.0.",
            "the `images:` transformer matches the image by name and sets newTag",
        )
    return CheckResult(name, True, f"staging: 3 replicas of {image}, built by kubectl kustomize.")


# --- the registry (``course validate``) -----------------------------------------------------------------


def _kustomize_overlay(overlay: str) -> list[dict[str, Any]]:
    """Build one overlay of the course tree with the real ``kubectl kustomize`` (for the manifest registry)."""
    import course_lib.cluster as kc

    with tempfile.TemporaryDirectory(prefix="course-07-") as tmp:
        return kc.kustomize_build(write_kustomize_tree(tmp).overlay(overlay))


def _register() -> None:
    from .manifests import register, registered

    def builder(overlay: str) -> Callable[[Mapping[str, str]], list[dict[str, Any]]]:
        return lambda _labels: _kustomize_overlay(overlay)

    for overlay in ("dev", "prod"):
        name = f"07/checkout-{overlay}"
        if name not in registered():
            register(name, builder(overlay))


_register()


def release_history(release: str, *, namespace: str) -> pd.DataFrame:
    """``helm history RELEASE -n NAMESPACE -o json`` as a frame: revision, status, chart, app version, description.

    Runs the real helm against the cluster ``KUBECONFIG`` points at (``Cluster.use_in_shell()`` sets it).

    Used in: notebook 06.
    """
    import json

    import pandas as pd

    from .tools import run

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


__all__ = [
    "release_history",
    "BROKEN_CONFIGMAP",
    "CHART_SOURCE",
    "ENVIRONMENTS",
    "KUSTOMIZE_SOURCE",
    "KustomizeTree",
    "Release",
    "config_refs",
    "course_releases",
    "diff_frame",
    "diff_rows",
    "environment_values",
    "helm_vs_kustomize",
    "helmfile_yaml",
    "listing",
    "read",
    "releases_frame",
    "set_literal",
    "unified_diff",
    "write_chart",
    "write_helmfile",
    "write_kustomize_tree",
]
