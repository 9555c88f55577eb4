"""Part 2's source of truth: the guestbook manifests, a real Git repository driven by the ``git`` program
(:class:`GitRepo`, fixed author and date) and the :class:`SyncPlan` a sync between two of its revisions, or between
Git and live objects, would carry out (:func:`diff_objects`; the object-by-object comparison is
:func:`course_lib.sim.object_changes`). See :mod:`course_lib.gitops`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..sim._sync import ObjectChange, SyncAction, object_changes

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Manifest = dict[str, Any]

#: Argo CD's public example repository (its ``guestbook`` folder holds the same objects as :func:`guestbook_manifests`).
EXAMPLE_REPO = "https://github.com/argoproj/argocd-example-apps.git"
#: The image of the upstream guestbook example (``argocd-example-apps/guestbook/guestbook-ui-deployment.yaml``).
GUESTBOOK_IMAGE = "gcr.io/heptio-images/ks-guestbook-demo:0.2"
#: Name, e-mail and a fixed date for course commits, so commit ids are the same on every run.
COMMIT_AUTHOR = ("Course Learner", "learner@example.com")
COMMIT_DATE = "2026-01-01T12:00:00+00:00"


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
    from ..manifests import object_meta

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
    return SyncPlan(object_changes(current, desired, prune=prune), prune=prune)


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
#: A push uses the learner's own Git set-up (credential helper, SSH keys) and never waits for a typed password.
_PUSH_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}
#: ``user@host:path``, Git's scp-like form of an SSH URL.
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$")
#: Where :meth:`GitRepo.publish` notes, in the repository's own config, that each commit is pushed.
_PUBLISH_KEY = "course.publish"


def check_remote(url: Any) -> str:
    """A Git URL a cluster's Argo CD can read and the learner can push to, checked; ``""`` for none.

    ``https://``, ``ssh://``, ``git@host:path`` or (Argo CD on this machine only) ``file://``. Credentials do not go
    into the URL — a notebook parameter is saved with the notebook: Git's credential helper or an SSH key pushes,
    and a private repository needs Argo CD's repository Secret (section 8).

    Example:
        >>> check_remote("git@github.com:you/guestbook-gitops.git")
        'git@github.com:you/guestbook-gitops.git'
        >>> try:
        ...     check_remote("https://you:ghp_x@github.com/you/guestbook-gitops.git")
        ... except ConfigError as exc:
        ...     print(exc.message)
        repo_remote has a user name or password in it (https://…@github.com/…)

    Used in: notebook 02 (``repo_remote``) and ``course run``'s parameter check.
    """
    from urllib.parse import urlsplit

    if url is None or url == "":
        return ""
    example = "e.g. repo_remote='https://github.com/you/guestbook-gitops.git' (an empty repository of yours)"
    if not isinstance(url, str):
        raise ConfigError(f"repo_remote must be a Git URL, got {url!r}", hint=example)
    if _SCP_LIKE.match(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("https", "ssh", "file") or not (parts.netloc or parts.scheme == "file") or not parts.path:
        raise ConfigError(f"repo_remote {url!r} is not an https://, ssh://, git@host:path or file:// URL", hint=example)
    if parts.password is not None or (parts.username is not None and parts.scheme == "https"):
        shown = f"{parts.scheme}://…@{parts.hostname}/…"
        raise ConfigError(
            f"repo_remote has a user name or password in it ({shown})",
            hint="a notebook parameter is saved with the notebook: give Git the credentials instead "
            "(`gh auth setup-git`, a credential helper, or an SSH key and a git@host:path URL)",
        )
    return url


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
    def git(self, *args: str, what: str | None = None, remote: bool = False) -> str:
        """Run ``git <args>`` in the repository and return its standard output. ``remote=True`` for a command that
        talks to ``origin`` (push, fetch, ls-remote): with your own Git set-up and never a password prompt."""
        from ..tools import run

        result = run(
            "git",
            ["-C", str(self.path), *args],
            env={**{k: v for k, v in _GIT_ENV.items() if not k.startswith("GIT_CONFIG")}, **_PUSH_ENV}
            if remote
            else _GIT_ENV,
            timeout=60,
            what=what or f"git {' '.join(args[:2])}",
            hint="can you push there from a terminal (`git push`)? Use an empty repository of yours, with Git's "
            "credential helper or an SSH key set up"
            if remote
            else "check the repository path and the revision names",
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
        from ..manifests import to_yaml

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
        if self.published:
            self.push()
        return self.head()

    # -- a remote the cluster reads
    def publish(self, remote: str) -> str:
        """Make ``remote`` this repository's ``origin`` and push the branch there; from then on every
        :meth:`commit` is pushed too (``git commit`` then ``git push``: Argo CD only sees what was pushed).

        The push is ``git push origin <branch>`` with your own Git set-up (credential helper, SSH agent); it never
        waits for a typed password. A remote that holds this part's commits from an earlier run, and nothing else
        (the course's commits are the same on every run), is set back to this repository's newest commit, as
        re-running the part starts its history again; a remote with any other commit is left alone and refused.
        Returns what Git reported.

        Raises:
            ConfigError: ``remote`` is not a usable URL (:func:`check_remote`), or it holds commits of its own.
            ToolError: Git could not reach or push to it (no access, no such repository).
        """
        url = check_remote(remote)
        if not url:
            raise ConfigError("publish needs a remote URL", hint="e.g. https://github.com/you/guestbook-gitops.git")
        remotes = self.git("remote").split()
        self.git("remote", "set-url" if "origin" in remotes else "add", "origin", url)
        branch = self.branch
        theirs = self.git("ls-remote", "origin", f"refs/heads/{branch}", what="git ls-remote", remote=True).split()
        lease, ours = "", self.head().sha
        if theirs and theirs[0] != ours:
            self.git("fetch", "--quiet", "origin", branch, what="git fetch", remote=True)
            foreign = [
                line
                for line in self.git("log", "--format=%H %an %aI", "FETCH_HEAD", "^HEAD").splitlines()
                if line.split(" ", 1)[1] != f"{COMMIT_AUTHOR[0]} {COMMIT_DATE}"
            ]
            if foreign or not self._is_ancestor("HEAD", "FETCH_HEAD"):
                raise ConfigError(
                    f"{url} already holds commits that are not this part's ({len(foreign)} of another author or "
                    "date, or another history): the course does not push over them",
                    hint="give repo_remote an empty repository made for this part",
                )
            lease = theirs[0]  # this part's own later commits from an earlier run: start again from here
        self.git("config", _PUBLISH_KEY, "true")
        return self.push(lease=lease)

    @property
    def published(self) -> bool:
        """True once :meth:`publish` has set a remote that every commit is pushed to."""
        return self.git("config", "--default", "false", "--get", _PUBLISH_KEY).strip() == "true"

    def push(self, *, lease: str = "") -> str:
        """``git push origin <branch>``; returns Git's report (``--porcelain``: one line per branch). With ``lease``
        (the commit the remote branch is known to be at) the remote is set to this branch even where that is not a
        fast-forward, and only if it is still at ``lease`` (``--force-with-lease``)."""
        branch = self.branch
        force = [f"--force-with-lease={branch}:{lease}"] if lease else []
        refspec = f"{branch}:refs/heads/{branch}"
        return self.git("push", "--porcelain", *force, "origin", refspec, what="git push", remote=True).strip()

    def _is_ancestor(self, a: str, b: str) -> bool:
        from ..errors import ToolError

        try:
            self.git("merge-base", "--is-ancestor", a, b)
        except ToolError:  # exit 1: not an ancestor (or no common history)
            return False
        return True

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
        from ..manifests import from_yaml

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
