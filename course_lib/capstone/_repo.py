"""Part 10's GitOps repository: writing the platform into a real local Git repository (the ``git`` program), the
GitopsRepo handle over it, and the canary step as a commit. See :mod:`course_lib.capstone`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._apps import DEFAULT_CHILDREN, ChildApp, child_application


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
        from ..manifests import read_yaml_file

        objs: list[dict[str, Any]] = []
        for f in self.files:
            if f.startswith(("apps/", "bootstrap/", "platform/")) and not f.endswith("kustomization.yaml"):
                objs.extend(read_yaml_file(self.path / f))
        return objs


def _git(path: Path, *args: str) -> str:
    from ..gitops import GitRepo  # one way to drive git: fixed author and date, no user or system config

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

    from .. import manifests as m

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
        from ..tools import available

        if available("helm"):
            from ..cluster import helm_create

            helm_create("checkout", directory=root / "charts")
    (root / "README.md").write_text(
        "# Course platform\n\nApply `bootstrap/root-app.yaml` once; Argo CD syncs everything under `apps/`.\n",
        encoding="utf-8",
    )
    from ..gitops import GitRepo

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
    from ..manifests import to_yaml

    path.write_text(to_yaml([obj]), encoding="utf-8")
    split = ", ".join(f"{k}={v}%" for k, v in weights.items())
    _git(repo.path, "commit", "-q", "-am", f"canary: {split}")
    return _git(repo.path, "show", "--format=%s", "--no-color", "HEAD")


def _import_all_parts() -> None:
    """Import the modules that register manifests of parts 8 and 9, so ``render_all`` covers them."""
    import importlib

    for name in ("course_lib.postgres", "course_lib.regions"):
        importlib.import_module(name)
