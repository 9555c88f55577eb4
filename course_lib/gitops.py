"""GitOps in practice: a real local Git repository as the source of truth, and the diff Argo CD would sync.

Argo CD's controller cannot run offline, but the part that decides *what* it would do can: it compares the
manifests at a Git revision with what the cluster has, and creates, changes or prunes objects. This module

- builds the Guestbook manifests (the ``guestbook`` folder of ``argoproj/argocd-example-apps``);
- keeps them in a **real** Git repository driven by the ``git`` program (:class:`GitRepo`);
- computes the object-level difference between two commits, or between Git and a live copy
  (:func:`diff_objects`, :meth:`GitRepo.sync_plan`): which objects would be created, changed or pruned;
- on cluster targets, reads the initial admin secret without showing it and runs the self-heal experiment.

Example:
    >>> import tempfile
    >>> repo = GitRepo.init(tempfile.mkdtemp())
    >>> repo.write_objects(guestbook_manifests(replicas=1), folder="guestbook")
    >>> first = repo.commit("guestbook: first version")
    >>> repo.write_objects(guestbook_manifests(replicas=3), folder="guestbook")
    >>> second = repo.commit("guestbook: three replicas")
    >>> repo.sync_plan(first, second, folder="guestbook").actions
    {'guestbook-ui (Deployment)': 'change', 'guestbook-ui (Service)': 'unchanged'}

Used in: notebook 02.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ClusterError, ConfigError
from .exercises import CheckResult, exercise
from .pins import ARGOCD_CHART, SEALED_SECRETS_CHART, HelmChart

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Manifest = dict[str, Any]
SyncAction = Literal["create", "change", "prune", "unchanged", "orphan"]

#: Argo CD's public example repository (its ``guestbook`` folder holds the same objects as :func:`guestbook_manifests`).
EXAMPLE_REPO = "https://github.com/argoproj/argocd-example-apps.git"
#: The image of the upstream guestbook example (``argocd-example-apps/guestbook/guestbook-ui-deployment.yaml``).
GUESTBOOK_IMAGE = "gcr.io/heptio-images/ks-guestbook-demo:0.2"
#: Name, e-mail and a fixed date for course commits, so commit ids are the same on every run.
COMMIT_AUTHOR = ("Course Learner", "learner@example.com")
COMMIT_DATE = "2026-01-01T12:00:00+00:00"
#: Fields the API server or controllers add; never part of a GitOps diff.
_VOLATILE_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


# ----------------------------------------------------------------------------------------------- charts


def charts() -> dict[str, HelmChart]:
    """The charts of part 2: Argo CD (the pin ``provision`` writes into ``argocd.tf``) and Sealed Secrets.

    Example:
        >>> charts()["sealed-secrets"].namespace
        'kube-system'

    Used in: notebook 02.
    """
    return {"argocd": ARGOCD_CHART, "sealed-secrets": SEALED_SECRETS_CHART}


def argocd_terraform() -> str:
    """The ``argocd.tf`` that :mod:`course_lib.provision` generates (Argo CD release + guestbook Application).

    Used in: notebook 02.
    """
    from .provision._terraform import _argocd

    return _argocd()


# ----------------------------------------------------------------------------------------------- manifests


def guestbook_manifests(
    *,
    replicas: int = 1,
    namespace: str = "guestbook",
    image: str = GUESTBOOK_IMAGE,
    labels: Mapping[str, str] | None = None,
) -> list[Manifest]:
    """The Deployment and Service of Argo CD's guestbook example (``guestbook-ui``, port 80).

    Args:
        replicas: how many pods the Deployment asks for.
        namespace: where they live (the Application's destination namespace).
        labels: extra labels on both objects (default: the course's managed-by label, no run id, so the files
            in Git are identical on every run).

    Example:
        >>> [o["kind"] for o in guestbook_manifests()]
        ['Deployment', 'Service']

    Used in: notebook 02.
    """
    from .manifests import object_meta

    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ConfigError(f"replicas must be a whole number >= 0, got {replicas!r}", hint="e.g. replicas=3")
    app = {"app": "guestbook-ui"}
    container = {"name": "guestbook-ui", "image": image, "ports": [{"containerPort": 80}]}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta("guestbook-ui", namespace=namespace, labels=labels),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": dict(app)},
            "template": {"metadata": {"labels": dict(app)}, "spec": {"containers": [container]}},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta("guestbook-ui", namespace=namespace, labels=labels),
        "spec": {"ports": [{"port": 80, "targetPort": 80}], "selector": dict(app)},
    }
    return [deployment, service]


def file_name(obj: Mapping[str, Any]) -> str:
    """The file an object is kept in: ``<name>-<kind>.yaml`` in lower case (``guestbook-ui-deployment.yaml``)."""
    meta = obj.get("metadata") or {}
    return f"{meta.get('name', 'unnamed')}-{str(obj.get('kind', 'object')).lower()}.yaml"


# ----------------------------------------------------------------------------------------------- object diff


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_META}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kubectl.kubernetes.io/last-applied-configuration"
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    clean["metadata"] = meta
    return clean


def _field_changes(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(f"{sub}: (none) → {after[key]!r}")
            elif key not in after:
                out.append(f"{sub}: {before[key]!r} → (none)")
            else:
                out.extend(_field_changes(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            c for i, (b, a) in enumerate(zip(before, after, strict=True)) for c in _field_changes(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} → {after!r}"]


@dataclass(frozen=True)
class ObjectChange:
    """What a sync would do to one object.

    Attributes:
        kind, namespace, name: which object.
        action: ``create`` (new in Git), ``change`` (fields differ), ``prune`` (gone from Git, deleted because
            prune is on), ``orphan`` (gone from Git, left running because prune is off), ``unchanged``.
        fields: the changed fields as ``path: old → new`` lines (for ``change``).
    """

    kind: str
    namespace: str
    name: str
    action: SyncAction
    fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"


@dataclass(frozen=True)
class SyncPlan:
    """The object-level difference between a desired state (Git) and a current one (an older commit, or live).

    Attributes:
        changes: one per object, sorted by kind, namespace and name.
        prune: whether objects missing from Git are deleted (``prune``) or left (``orphan``).
    """

    changes: tuple[ObjectChange, ...]
    prune: bool = True

    @property
    def actions(self) -> dict[str, str]:
        """``{"name (Kind)": action}`` — handy to read and to test."""
        return {c.label: c.action for c in self.changes}

    @property
    def in_sync(self) -> bool:
        """``True`` when nothing would change: Argo CD shows the application as *Synced*."""
        return all(c.action == "unchanged" for c in self.changes)

    def of(self, action: SyncAction) -> list[str]:
        """The ``Kind/name`` of every object with that action, e.g. ``plan.of("prune")``."""
        return [f"{c.kind}/{c.name}" for c in self.changes if c.action == action]

    def to_frame(self) -> pd.DataFrame:
        """One row per object: kind, namespace, name, action, changed fields."""
        import pandas as pd

        rows = [
            {
                "kind": c.kind,
                "namespace": c.namespace,
                "name": c.name,
                "action": c.action,
                "fields": "; ".join(c.fields),
            }
            for c in self.changes
        ]
        return pd.DataFrame(rows, columns=["kind", "namespace", "name", "action", "fields"])

    def _repr_html_(self) -> str:
        status = "Synced (nothing to do)" if self.in_sync else "OutOfSync"
        return f"<p><b>{status}</b></p>" + self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        lines = [f"SyncPlan({'Synced' if self.in_sync else 'OutOfSync'}, prune={self.prune})"]
        for c in self.changes:
            extra = f"  [{'; '.join(c.fields)}]" if c.fields else ""
            lines.append(f"  {c.action:<9} {c.kind}/{c.name}{extra}")
        return "\n".join(lines)


def diff_objects(
    current: Iterable[Mapping[str, Any]], desired: Iterable[Mapping[str, Any]], *, prune: bool = True
) -> SyncPlan:
    """Compare two sets of objects the way a GitOps sync does: by kind, namespace and name.

    Args:
        current: what is there now (an older commit, or the live objects).
        desired: what Git says at the new revision.
        prune: objects in ``current`` but not in ``desired`` are deleted (``prune``) or kept (``orphan``).

    Server-added metadata (uid, resourceVersion, managedFields …) and ``status`` are ignored, so live objects
    compare cleanly with files from Git.

    Example:
        >>> old = guestbook_manifests(replicas=1)
        >>> new = guestbook_manifests(replicas=3)[:1]          # the Service file was deleted
        >>> diff_objects(old, new).actions
        {'guestbook-ui (Deployment)': 'change', 'guestbook-ui (Service)': 'prune'}

    Used in: notebook 02.
    """
    before = {_key(o): _comparable(o) for o in current}
    after = {_key(o): _comparable(o) for o in desired}
    changes: list[ObjectChange] = []
    for key in sorted(set(before) | set(after)):
        kind, ns, name = key
        if key not in before:
            changes.append(ObjectChange(kind, ns, name, "create"))
        elif key not in after:
            changes.append(ObjectChange(kind, ns, name, "prune" if prune else "orphan"))
        else:
            fields = _field_changes(before[key], after[key])
            changes.append(ObjectChange(kind, ns, name, "change" if fields else "unchanged", tuple(fields)))
    return SyncPlan(tuple(changes), prune=prune)


# ----------------------------------------------------------------------------------------------- git


_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": COMMIT_AUTHOR[0],
    "GIT_AUTHOR_EMAIL": COMMIT_AUTHOR[1],
    "GIT_COMMITTER_NAME": COMMIT_AUTHOR[0],
    "GIT_COMMITTER_EMAIL": COMMIT_AUTHOR[1],
    "GIT_AUTHOR_DATE": COMMIT_DATE,
    "GIT_COMMITTER_DATE": COMMIT_DATE,
    "LC_ALL": "C",
}
_REV = re.compile(r"^[A-Za-z0-9_./~^@{}-]{1,100}$")


@dataclass(frozen=True)
class Commit:
    """One commit: full id, short id and subject line."""

    sha: str
    short: str
    subject: str

    def __str__(self) -> str:
        return f"{self.short} {self.subject}"


@dataclass(frozen=True)
class GitRepo:
    """A real Git repository on disk, driven by the ``git`` program (the GitOps source of truth).

    Commits use a fixed author and date, so the same files give the same commit ids on every run.

    Example:
        >>> import tempfile
        >>> repo = GitRepo.init(tempfile.mkdtemp())
        >>> repo.branch
        'main'

    Used in: notebook 02.
    """

    path: Path

    # -- plumbing
    def git(self, *args: str, what: str | None = None) -> str:
        """Run ``git <args>`` in the repository and return its standard output."""
        from .tools import run

        result = run(
            "git",
            ["-C", str(self.path), *args],
            env=_GIT_ENV,
            timeout=60,
            what=what or f"git {' '.join(args[:2])}",
            hint="check the repository path and the revision names",
        )
        return result.stdout

    @classmethod
    def init(cls, path: str | os.PathLike[str], *, branch: str = "main") -> GitRepo:
        """Create (or reuse) a repository at ``path`` with ``branch`` as its first branch."""
        if not re.fullmatch(r"[A-Za-z0-9._/-]{1,60}", branch):
            raise ConfigError(f"branch name {branch!r} is not usable", hint="e.g. 'main'")
        folder = Path(path).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        repo = cls(folder.resolve())
        if not (repo.path / ".git").exists():
            repo.git("init", "--quiet", f"--initial-branch={branch}", what="git init")
        return repo

    @property
    def branch(self) -> str:
        """The current branch."""
        return self.git("symbolic-ref", "--short", "HEAD").strip()

    def _rev(self, rev: str) -> str:
        if not _REV.match(rev):
            raise ConfigError(f"{rev!r} is not a revision name", hint="use a commit id, HEAD, HEAD~1 or a branch")
        return rev

    # -- writing
    def write_objects(self, objects: Iterable[Mapping[str, Any]], *, folder: str = ".") -> None:
        """Write each object to ``<folder>/<name>-<kind>.yaml``; files in ``folder`` for other objects are removed.

        (Removing a file from Git is how you ask Argo CD to prune an object.)
        """
        from .manifests import to_yaml

        target = (self.path / folder).resolve()
        if self.path not in (target, *target.parents):
            raise ConfigError(f"folder {folder!r} is outside the repository", hint="use a relative folder name")
        target.mkdir(parents=True, exist_ok=True)
        wanted = {file_name(o): o for o in objects}
        for old in target.glob("*.yaml"):
            if old.name not in wanted:
                old.unlink()
        for name, obj in wanted.items():
            (target / name).write_text(to_yaml(dict(obj)))

    def commit(self, message: str) -> Commit:
        """Stage everything and commit; returns the new commit.

        Raises:
            ConfigError: there is nothing to commit (no file changed since the last commit).
        """
        if not message.strip():
            raise ConfigError("the commit message is empty", hint="say what changed, e.g. 'guestbook: 3 replicas'")
        self.git("add", "--all")
        if not self.git("status", "--porcelain").strip():
            raise ConfigError("nothing to commit: no file changed", hint="write the changed manifests first")
        self.git("commit", "--quiet", "--no-gpg-sign", "-m", message, what="git commit")
        return self.head()

    # -- reading
    def head(self, rev: str = "HEAD") -> Commit:
        """The commit a revision points at."""
        sha, subject = self.git("log", "-1", "--format=%H%x00%s", self._rev(rev)).strip().split("\x00", 1)
        return Commit(sha, sha[:7], subject)

    def log(self) -> list[Commit]:
        """All commits of the current branch, newest first."""
        out = self.git("log", "--format=%H%x00%s").strip()
        return [Commit(sha, sha[:7], subj) for sha, subj in (line.split("\x00", 1) for line in out.splitlines())]

    def files(self, rev: str = "HEAD", *, folder: str = ".") -> list[str]:
        """The files of ``folder`` at a revision."""
        spec = f"{self._rev(rev)}:{folder.strip('/')}" if folder not in (".", "") else f"{self._rev(rev)}:"
        out = self.git("ls-tree", "--name-only", spec)
        return sorted(line for line in out.splitlines() if line)

    def objects_at(self, rev: str | Commit = "HEAD", *, folder: str = ".") -> list[Manifest]:
        """The Kubernetes objects in ``folder`` at a revision (what Argo CD renders for a plain-YAML source)."""
        from .manifests import from_yaml

        name = rev.sha if isinstance(rev, Commit) else rev
        prefix = "" if folder in (".", "") else folder.strip("/") + "/"
        out: list[Manifest] = []
        for file in self.files(name, folder=folder):
            if file.endswith((".yaml", ".yml")):
                text = self.git("show", f"{self._rev(name)}:{prefix}{file}")
                out.extend(from_yaml(text, source=f"{name}:{prefix}{file}"))
        return out

    def diff(self, a: str | Commit, b: str | Commit = "HEAD", *, folder: str = ".") -> str:
        """``git diff`` between two revisions (limited to ``folder``), as text."""
        ra = a.sha if isinstance(a, Commit) else self._rev(a)
        rb = b.sha if isinstance(b, Commit) else self._rev(b)
        return self.git("diff", "--no-color", ra, rb, "--", folder)

    def sync_plan(
        self, a: str | Commit, b: str | Commit = "HEAD", *, folder: str = ".", prune: bool = True
    ) -> SyncPlan:
        """What a sync from revision ``a`` to revision ``b`` would create, change and prune."""
        return diff_objects(self.objects_at(a, folder=folder), self.objects_at(b, folder=folder), prune=prune)


# ----------------------------------------------------------------------------------------------- cluster targets


@dataclass(frozen=True)
class SecretStatus:
    """Whether a Secret holds a key — without ever showing the value."""

    namespace: str
    name: str
    key: str
    found: bool
    length: int = 0

    def __str__(self) -> str:
        if not self.found:
            return f"{self.namespace}/{self.name}: not found (Argo CD deletes it once you change the admin password)"
        return (
            f"{self.namespace}/{self.name}: key {self.key!r} present ({self.length} characters). Read it in a terminal: "
            f"kubectl -n {self.namespace} get secret {self.name} -o jsonpath='{{.data.{self.key}}}' | base64 -d; echo"
        )

    __repr__ = __str__


def initial_admin_secret(cluster: Any, *, namespace: str = "argocd") -> SecretStatus:
    """Check the ``argocd-initial-admin-secret`` on a real cluster; the password itself is never returned.

    Log in as ``admin`` with it, change the password, then delete the Secret.

    Used in: notebook 02 (cluster targets).
    """
    name, key = "argocd-initial-admin-secret", "password"
    try:
        obj = cluster.get("Secret", name, namespace=namespace)
    except ClusterError as exc:
        if "NotFound" in str(exc) or exc.context.get("reason") == "NotFound" or "404" in str(exc):
            return SecretStatus(namespace, name, key, False)
        raise
    data = (obj.get("data") or {}).get(key, "")
    length = len(base64.b64decode(data)) if data else 0
    return SecretStatus(namespace, name, key, bool(data), length)


def application_status(
    cluster: Any,
    name: str = "guestbook",
    *,
    namespace: str = "argocd",
    timeout: float = 60.0,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Poll an Argo CD Application until the controller reports its sync status (cluster targets only).

    Returns:
        ``{"sync": "Synced" | "OutOfSync" | "Unknown", "health": "Healthy" | "Progressing" | ..., "revision": sha}``.

    Used in: notebook 02 (cluster targets).
    """
    if getattr(cluster, "dry_run", True):
        raise ClusterError(
            "application_status needs a real cluster with Argo CD running",
            hint="use target='kubeconfig' or 'doks' after installing Argo CD",
        )
    deadline = clock() + timeout
    while True:
        obj = cluster.get("Application", name, namespace=namespace, api_version="argoproj.io/v1alpha1")
        status = obj.get("status") or {}
        sync = status.get("sync") or {}
        if sync.get("status") or clock() >= deadline:
            return {
                "sync": str(sync.get("status", "Unknown")),
                "health": str((status.get("health") or {}).get("status", "Unknown")),
                "revision": str(sync.get("revision", ""))[:7],
            }
        sleep(interval)


@dataclass(frozen=True)
class SelfHealRun:
    """What happened after scaling a Deployment by hand: replicas observed over time.

    Attributes:
        desired: the replica count in Git.
        forced: the count set by hand.
        samples: ``(seconds since the change, spec.replicas)`` pairs.
        reverted: whether the count went back to ``desired`` before the deadline.
    """

    desired: int
    forced: int
    samples: tuple[tuple[float, int], ...]
    reverted: bool

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.samples, columns=["seconds", "replicas"])


def self_heal_experiment(
    cluster: Any,
    *,
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    replicas: int = 5,
    timeout: float = 120.0,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SelfHealRun:
    """Scale a Deployment that Argo CD manages by hand and watch selfHeal put it back (cluster targets only).

    The same as ``kubectl scale deploy guestbook-ui --replicas=5 -n guestbook`` in one terminal and
    ``kubectl get pods -n guestbook -w`` in another.

    Raises:
        ClusterError: the cluster is a dry run (there is no controller to heal anything).

    Used in: notebook 02 (cluster targets).
    """
    if getattr(cluster, "dry_run", True):
        raise ClusterError(
            "the self-heal experiment needs a real cluster with Argo CD running",
            hint="run it with target='kubeconfig' or 'doks' after installing Argo CD and the guestbook Application",
        )
    if replicas < 0:
        raise ConfigError("replicas must be >= 0", hint="e.g. replicas=5")
    live = cluster.get("Deployment", name, namespace=namespace)
    desired = int(live["spec"]["replicas"])
    resource = cluster.dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    cluster.dynamic.patch(
        resource,
        name=name,
        namespace=namespace,
        body={"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
    )
    start = clock()
    samples: list[tuple[float, int]] = [(0.0, replicas)]
    while clock() - start < timeout:
        sleep(interval)
        now = int(cluster.get("Deployment", name, namespace=namespace)["spec"]["replicas"])
        samples.append((round(clock() - start, 1), now))
        if now == desired:
            return SelfHealRun(desired, replicas, tuple(samples), True)
    return SelfHealRun(desired, replicas, tuple(samples), False)


# ----------------------------------------------------------------------------------------------- the sandbox's Argo CD


def repo_url(repo: GitRepo, *, local: bool) -> str:
    """The ``repoURL`` an Application should name: the local repository itself (``file:///...``) where Argo CD runs
    on this machine (the sandbox), else Argo CD's public example repository, which holds the same guestbook.

    Example:
        >>> repo_url(GitRepo(Path("/tmp/gitops-repo")), local=True)
        'file:///tmp/gitops-repo'

    Used in: notebook 02.
    """
    return repo.path.resolve().as_uri() if local else EXAMPLE_REPO


@dataclass(frozen=True)
class HealRun:
    """How long self-heal took to undo one change made by hand.

    Attributes:
        change: what was done (``kubectl scale ...`` or ``kubectl delete ...``).
        seconds: from the change until the object was back as Git has it.
        healed: whether that happened before the deadline.
        detail: what was observed at the end (replica count, or the object's new uid).
    """

    change: str
    seconds: float
    healed: bool
    detail: str

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([vars(self)]).set_index("change")


def heal_after_delete(
    cluster: Any,
    *,
    kind: str = "Deployment",
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    timeout: float = 30.0,
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> HealRun:
    """Delete an object Argo CD manages (``kubectl delete deployment guestbook-ui -n guestbook``) and time how long
    selfHeal takes to create it again (a new object: a new uid).

    Raises:
        ClusterError: the cluster is a dry run (nothing would heal).

    Used in: notebook 02, the self-heal benchmark.
    """
    if getattr(cluster, "dry_run", True):
        raise ClusterError("heal_after_delete needs a live API server with Argo CD acting on it",
                           hint="run it on the sandbox with `make tools` built, or on a cluster with Argo CD")  # fmt: skip
    old = cluster.get(kind, name, namespace=namespace)["metadata"]["uid"]
    cluster.delete([{"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind,
                     "metadata": {"name": name, "namespace": namespace}}])  # fmt: skip
    start = clock()
    change = f"kubectl delete {kind.lower()} {name} -n {namespace}"
    while clock() - start < timeout:
        try:
            uid = cluster.get(kind, name, namespace=namespace)["metadata"]["uid"]
        except ClusterError:
            uid = None
        if uid and uid != old:
            return HealRun(change, round(clock() - start, 2), True, "created again by Argo CD (new uid)")
        sleep(interval)
    return HealRun(change, round(clock() - start, 2), False, "still missing")


def heal_after_scale(
    cluster: Any,
    *,
    name: str = "guestbook-ui",
    namespace: str = "guestbook",
    replicas: int = 5,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> HealRun:
    """``kubectl scale deploy NAME --replicas=N`` by hand, then time until selfHeal has put Git's count back.

    Used in: notebook 02, the self-heal benchmark.
    """
    run = self_heal_experiment(cluster, name=name, namespace=namespace, replicas=replicas, timeout=timeout,
                               interval=interval)  # fmt: skip
    seconds = run.samples[-1][0] if run.samples else 0.0
    detail = f"spec.replicas {run.forced} -> {run.samples[-1][1]} (Git: {run.desired})"
    return HealRun(f"kubectl scale deploy {name} -n {namespace} --replicas={replicas}", seconds, run.reverted, detail)


# ----------------------------------------------------------------------------------------------- exercises


#: The scenario of exercise 02-pruned-objects: the repository before and after a clean-up commit.
def prune_exercise() -> tuple[list[Manifest], list[Manifest]]:
    """Two states of a repository: ``before`` (commit A) and ``after`` (commit B) for the "Your turn" exercise.

    Used in: notebook 02.
    """
    from .manifests import config_map

    before = [
        *guestbook_manifests(replicas=2),
        config_map("guestbook-config", namespace="guestbook", data={"THEME": "dark"}),
        config_map("old-banner", namespace="guestbook", data={"TEXT": "sale!"}),
    ]
    svc = guestbook_manifests(replicas=2)[1]
    svc["spec"]["ports"][0]["port"] = 8080
    after = [
        guestbook_manifests(replicas=2)[0],
        svc,
        config_map("guestbook-config", namespace="guestbook", data={"THEME": "dark"}),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "guestbook-ui", "namespace": "guestbook"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guestbook-ui"}}},
        },
    ]
    return before, after


@exercise("02-sync-policy")
def check_sync_policy(answer: Any) -> CheckResult:
    """Part 2: a ``syncPolicy`` with automated sync, prune and selfHeal (and namespace creation)."""
    name = "02-sync-policy"
    if not isinstance(answer, Mapping):
        return CheckResult(
            name, False, "the answer should be a dict, the value of spec.syncPolicy.", 'start with {"automated": {...}}'
        )
    if "automated" not in answer:
        keys = ", ".join(map(str, answer)) or "nothing"
        return CheckResult(
            name,
            False,
            f"there is no `automated` key (found: {keys}): this is the manual-sync policy, nothing syncs on its own.",
            "automatic sync lives under syncPolicy.automated",
        )
    auto = answer["automated"]
    if not isinstance(auto, Mapping):
        return CheckResult(
            name, False, "`automated` should be a dict of options.", "it holds the prune and selfHeal switches"
        )
    wrong_case = [
        k for k in auto if isinstance(k, str) and k.lower() in ("prune", "selfheal") and k not in ("prune", "selfHeal")
    ]
    if wrong_case:
        return CheckResult(
            name, False, f"{wrong_case[0]!r} is not a field Argo CD knows; field names are case-sensitive.", "camelCase"
        )
    unknown = [k for k in auto if k not in ("prune", "selfHeal", "allowEmpty", "enabled")]
    if unknown:
        return CheckResult(name, False, f"`automated` has an unknown field {unknown[0]!r}.", "check the spelling")
    for fld, what in (
        ("prune", "objects deleted from Git stay in the cluster"),
        ("selfHeal", "changes made by hand are not undone"),
    ):
        if auto.get(fld) is not True:
            return CheckResult(
                name,
                False,
                f"`{fld}` is {auto.get(fld)!r}: {what}.",
                "the value must be the boolean True (not a string)"
                if isinstance(auto.get(fld), str)
                else f"switch {fld} on",
            )
    options = answer.get("syncOptions", [])
    if not isinstance(options, list) or "CreateNamespace=true" not in options:
        return CheckResult(
            name,
            False,
            "automated sync with prune and selfHeal is right, but the guestbook namespace does not exist yet, "
            "so the first sync would fail.",
            "syncOptions is a list of strings such as 'Name=value'",
        )
    return CheckResult(name, True, "automated sync with prune and selfHeal, and Argo CD creates the namespace.")


@exercise("02-pruned-objects")
def check_pruned_objects(answer: Any) -> CheckResult:
    """Part 2: which objects a sync from commit A to commit B would prune (``Kind/name`` strings)."""
    name = "02-pruned-objects"
    if isinstance(answer, str) or not isinstance(answer, Iterable):
        return CheckResult(name, False, "the answer should be a list of 'Kind/name' strings.", 'e.g. ["Service/foo"]')
    given = {str(a).strip() for a in answer}
    before, after = prune_exercise()
    plan = diff_objects(before, after)
    right = set(plan.of("prune"))
    created, changed = set(plan.of("create")), set(plan.of("change"))
    if given == right:
        return CheckResult(name, True, f"only {', '.join(sorted(right))} disappeared from Git, so only it is pruned.")
    bad_form = [g for g in given if "/" not in g]
    if bad_form:
        return CheckResult(name, False, f"{bad_form[0]!r} is not of the form 'Kind/name'.", "e.g. 'ConfigMap/example'")
    if given & created:
        return CheckResult(
            name, False, f"{sorted(given & created)[0]} is new in commit B: a sync creates it.", "prune only deletes"
        )
    if given & changed:
        return CheckResult(
            name,
            False,
            f"{sorted(given & changed)[0]} is still in Git (with a change): it is updated, not deleted.",
            "an object is pruned only when its file is gone",
        )
    if right - given:
        return CheckResult(
            name,
            False,
            f"{len(right - given)} object(s) that left Git are missing from your list.",
            "compare the two lists object by object",
        )
    return CheckResult(
        name,
        False,
        f"{sorted(given - right)[0]} is in both commits unchanged: nothing happens to it.",
        "look for what is missing in B",
    )


__all__ = [
    "COMMIT_DATE",
    "EXAMPLE_REPO",
    "GUESTBOOK_IMAGE",
    "SEALED_SECRETS_CHART",
    "Commit",
    "GitRepo",
    "HealRun",
    "HelmChart",
    "ObjectChange",
    "SecretStatus",
    "SelfHealRun",
    "SyncPlan",
    "application_status",
    "argocd_terraform",
    "charts",
    "check_pruned_objects",
    "check_sync_policy",
    "diff_objects",
    "file_name",
    "guestbook_manifests",
    "heal_after_delete",
    "heal_after_scale",
    "initial_admin_secret",
    "prune_exercise",
    "repo_url",
    "self_heal_experiment",
]


def _register() -> None:
    """Add the objects notebook 02 shows that the manifests registry does not have yet (``course validate``)."""
    from .manifests import register

    register("02/guestbook-manifests", lambda lb: guestbook_manifests(labels=lb), replace=True)
    register("02/prune-exercise", lambda lb: [*prune_exercise()[0], prune_exercise()[1][-1]], replace=True)


_register()
