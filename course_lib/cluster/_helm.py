"""Helm, the real binary: create, lint, template and a client-side install dry run.

``helm`` is built from its pinned Go source by ``make tools`` (see ``course_lib/data/tools/pins.env``); without it every
function raises :class:`~course_lib.errors.ToolMissingError` naming that fix. Failures carry helm's own
stderr in a :class:`~course_lib.errors.ToolError`.

Example:
    >>> chart = helm_create("shop", directory=tmp)  # doctest: +SKIP
    >>> helm_lint(chart).ok  # doctest: +SKIP
    True
    >>> [o["kind"] for o in helm_template(chart, {"replicaCount": 2}, release="demo", namespace="shop")]  # doctest: +SKIP
    ['ServiceAccount', 'Service', 'Deployment']

Used in: notebook 06 (Advanced Helm).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import validate_name
from ..errors import ConfigError, ToolError
from ..tools import run


def _chart_dir(chart: str | os.PathLike[str]) -> Path:
    path = Path(chart).expanduser()
    if not (path / "Chart.yaml").is_file():
        raise ConfigError(
            f"{str(path)!r} is not a chart directory (no Chart.yaml)",
            hint="pass the folder `helm_create` made, or one with Chart.yaml, values.yaml and templates/",
        )
    return path


def _values_args(values: Mapping[str, Any] | None, tmp: str) -> list[str]:
    if not values:
        return []
    if not isinstance(values, Mapping):
        raise ConfigError(f"values must be a dict, got {type(values).__name__}", hint="e.g. {'replicaCount': 2}")
    file = Path(tmp) / "values.json"  # JSON is YAML, and keeps types exact
    file.write_text(json.dumps(dict(values)))
    return ["--values", str(file)]


def helm_create(name: str, *, directory: str | os.PathLike[str]) -> Path:
    """Scaffold a new chart ``directory/name`` with ``helm create`` and return its path.

    Raises:
        ConfigError: bad chart name, or the folder exists already.
    """
    validate_name(name, what="chart name")
    target = Path(directory).expanduser() / name
    if target.exists():
        raise ConfigError(f"{str(target)!r} exists already", hint="choose another name or directory, or delete it")
    target.parent.mkdir(parents=True, exist_ok=True)
    run("helm", ["create", str(target)], what=f"helm create {name}")
    return target


@dataclass(frozen=True)
class HelmLint:
    """What ``helm lint`` said about a chart that passed.

    Attributes:
        chart: the chart directory.
        messages: helm's ``[INFO]``/``[WARNING]`` lines.
        output: the full output.
    """

    chart: Path
    messages: tuple[str, ...]
    output: str = field(repr=False)

    @property
    def ok(self) -> bool:
        """Always ``True`` here: a chart with errors raises :class:`ToolError` instead."""
        return True

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(m for m in self.messages if m.startswith("[WARNING]"))


def helm_lint(
    chart: str | os.PathLike[str], values: Mapping[str, Any] | None = None, *, strict: bool = False
) -> HelmLint:
    """Run ``helm lint`` on a chart (with optional values); raise :class:`ToolError` with its findings if it fails.

    Args:
        chart: chart directory.
        values: values to lint with (a dict).
        strict: treat warnings as errors (``--strict``).
    """
    path = _chart_dir(chart)
    with tempfile.TemporaryDirectory(prefix="course-helm-") as tmp:
        args = ["lint", str(path), *_values_args(values, tmp), *(["--strict"] if strict else [])]
        result = run(
            "helm",
            args,
            what=f"helm lint {path.name}",
            hint="fix the [ERROR] lines above in the chart",
            include_stdout=True,
        )
    out = result.stdout + result.stderr
    messages = tuple(line.strip() for line in out.splitlines() if line.strip().startswith("["))
    return HelmLint(chart=path, messages=messages, output=out)


def _template_args(
    chart: Path, release: str, namespace: str, kube_version: str | None, api_versions: Sequence[str]
) -> list[str]:
    validate_name(release, what="release name", max_len=53)
    validate_name(namespace, what="namespace")
    args = [release, str(chart), "--namespace", namespace]
    if kube_version:
        args += ["--kube-version", kube_version]
    for av in api_versions:
        args += ["--api-versions", av]
    return args


def _parse_docs(text: str, what: str) -> list[dict[str, Any]]:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise ToolError(f"{what} printed YAML that does not parse: {exc}", hint="check the chart's templates") from None


def helm_template(
    chart: str | os.PathLike[str],
    values: Mapping[str, Any] | None = None,
    *,
    release: str,
    namespace: str,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    include_tests: bool = False,
) -> list[dict[str, Any]]:
    """Render a chart locally (``helm template``) and return the objects as dicts.

    Args:
        chart: chart directory.
        values: values that override ``values.yaml``.
        release: release name (``.Release.Name``).
        namespace: namespace (``.Release.Namespace``).
        kube_version: the Kubernetes version templates see (default: the one helm was built against).
        api_versions: extra API versions for ``.Capabilities.APIVersions.Has`` (e.g. ``monitoring.coreos.com/v1``).
        include_tests: keep the chart's test Pods (``helm.sh/hook: test``). Off by default: ``helm test`` runs
            them after an install, and applying them with the rest would start them at once.
    """
    path = _chart_dir(chart)
    with tempfile.TemporaryDirectory(prefix="course-helm-") as tmp:
        args = [
            "template",
            *_template_args(path, release, namespace, kube_version, api_versions),
            *_values_args(values, tmp),
            *([] if include_tests else ["--skip-tests"]),
        ]
        result = run("helm", args, what=f"helm template {path.name}", hint="the template or value named above is wrong")
    return _parse_docs(result.stdout, "helm template")


@dataclass(frozen=True)
class HelmDryRun:
    """What ``helm install --dry-run=client`` would install.

    Attributes:
        release: release name.
        namespace: target namespace.
        chart: chart name and version, e.g. ``shop-0.1.0``.
        objects: the rendered manifests.
        notes: the chart's NOTES.txt as rendered.
    """

    release: str
    namespace: str
    chart: str
    objects: tuple[dict[str, Any], ...] = field(repr=False)
    notes: str = field(repr=False, default="")

    def __repr__(self) -> str:
        kinds = ", ".join(f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}" for o in self.objects)
        return f"HelmDryRun(DRY RUN, release={self.release!r}, namespace={self.namespace!r}, chart={self.chart!r}: {kinds})"


def helm_install_dry_run(
    chart: str | os.PathLike[str],
    values: Mapping[str, Any] | None = None,
    *,
    release: str,
    namespace: str,
    kube_version: str | None = None,
) -> HelmDryRun:
    """Run ``helm install --dry-run=client``: renders like an install would, without a cluster.

    Unlike ``helm template`` this also renders NOTES.txt and checks the release name the way install does.
    """
    path = _chart_dir(chart)
    with tempfile.TemporaryDirectory(prefix="course-helm-") as tmp:
        args = [
            "install",
            *_template_args(path, release, namespace, kube_version, ()),
            "--dry-run=client",
            "--output",
            "json",
            *_values_args(values, tmp),
        ]
        result = run("helm", args, what=f"helm install --dry-run=client {release}")
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise ToolError(
            "helm install --dry-run=client did not print JSON",
            hint="check `helm version`; the course needs helm v3.13+",
        ) from None
    meta = (data.get("chart") or {}).get("metadata") or {}
    return HelmDryRun(
        release=str(data.get("name", release)),
        namespace=str(data.get("namespace", namespace)),
        chart=f"{meta.get('name', path.name)}-{meta.get('version', '?')}",
        objects=tuple(_parse_docs(data.get("manifest") or "", "helm install --dry-run")),
        notes=str((data.get("info") or {}).get("notes") or ""),
    )


__all__ = ["HelmDryRun", "HelmLint", "helm_create", "helm_install_dry_run", "helm_lint", "helm_template"]
