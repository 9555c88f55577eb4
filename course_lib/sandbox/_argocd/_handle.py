"""The handle on the running Argo CD: :class:`ArgoCD` (applications, sync, status) and cluster Secrets (see :mod:`course_lib.sandbox._argocd`)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ...errors import SandboxError
from .. import _process as proc
from ._base import (
    IN_CLUSTER,
    NAMESPACE,
    _run_kubectl,
)
from ._components import (
    _entry_alive,
    _entry_ready,
)

if TYPE_CHECKING:  # pragma: no cover
    from ...cluster import Cluster

# ------------------------------------------------------------------------------------------- handle


@dataclass(frozen=True)
class AppState:
    """What the application controller reports on an Application (``status.sync``, ``status.health``)."""

    name: str
    sync: str
    health: str
    revision: str
    operation: str  # phase of the last sync operation (Succeeded, Running, Failed ...), "" before the first

    def __str__(self) -> str:
        rev = f" at {self.revision[:7]}" if self.revision else ""
        return f"{self.name}: {self.sync}, {self.health}{rev}"


class ArgoCD:
    """The running Argo CD of the sandbox. Get it from :func:`up` (or ``session.gitops()``).

    Attributes:
        kubeconfig: the control plane it acts on.
        namespace: where its settings and Applications live (``argocd``).
        reused: True when it was already running (started by an earlier kernel).
        started_seconds: how long the start-up took (0 when reused).
    """

    def __init__(self, state: Mapping[str, Any], *, reused: bool, started_seconds: float = 0.0) -> None:
        self._state = dict(state)
        self.kubeconfig: str = state["kubeconfig"]
        self.namespace: str = state["namespace"]
        self.reused = reused
        self.started_seconds = started_seconds
        self._cluster: Cluster | None = None

    @property
    def ports(self) -> dict[str, int]:
        return dict(self._state["ports"])

    @property
    def version(self) -> str:
        return str(self._state.get("argocd_version", ""))

    def components(self) -> list[dict[str, Any]]:
        """One row per process: name, pid, running, ready (what ``course sandbox status`` prints)."""
        return [
            {"component": e["name"], "pid": e["pid"], "running": _entry_alive(e), "ready": _entry_ready(e)}
            for e in self._state["components"]
        ]

    def healthy(self) -> bool:
        return all(_entry_ready(e) for e in self._state["components"])

    def _api(self) -> Cluster:
        if self._cluster is None:
            from ...cluster import connect

            self._cluster = connect("sandbox", kubeconfig=self.kubeconfig)
        return self._cluster

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 30) -> str:
        """Run the course's kubectl against the sandbox (``kubectl --kubeconfig <sandbox> ...``)."""
        return _run_kubectl(self.kubeconfig, *args, stdin=stdin, timeout=timeout)

    def application(self, name: str) -> AppState:
        """The controller's view of Application ``name`` right now (``Unknown`` before its first comparison).

        It reads the object with the API client, not by starting ``kubectl get applications.argoproj.io NAME``:
        :meth:`wait` asks four times a second, and each kubectl would cost ~0.13 s of CPU and ~100 MiB."""
        from ...errors import CourseError

        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications/{name}"
        try:
            raw = self._api().get_raw(path, timeout=30).text
        except CourseError as exc:
            raise SandboxError(
                f"reading Application {name} failed: {exc.message}",
                hint="check the sandbox control plane with `course sandbox status`",
            ) from None
        status = json.loads(raw).get("status") or {}
        sync = status.get("sync") or {}
        return AppState(
            name,
            str(sync.get("status") or "Unknown"),
            str((status.get("health") or {}).get("status") or "Unknown"),
            str(sync.get("revision") or ""),
            str((status.get("operationState") or {}).get("phase") or ""),
        )

    def wait(
        self,
        name: str,
        *,
        sync: str | None = "Synced",
        health: str | None = None,
        revision: str | None = None,
        timeout: float = 60.0,
        interval: float = 0.25,
    ) -> tuple[float, AppState]:
        """Wait until Application ``name`` reports ``sync`` (and ``health``, and a revision starting with
        ``revision``); returns the seconds it took and the state.

        Raises:
            SandboxError: not reached within ``timeout`` (with the last state and the controller's last log lines).
        """
        start = time.monotonic()
        last: AppState | None = None
        while True:
            with contextlib.suppress(SandboxError):
                last = self.application(name)
                if (
                    (sync is None or last.sync == sync)
                    and (health is None or last.health == health)
                    and (revision is None or last.revision.startswith(revision))
                ):
                    return time.monotonic() - start, last
            if time.monotonic() - start >= timeout:
                log = proc.tail(Path(self._log("application-controller")), 8)
                raise SandboxError(
                    f"Application {name} did not reach sync={sync} health={health} revision={revision} within "
                    f"{timeout:.0f} s (last: {last}). Controller log:\n{log}",
                    hint="is the application controller running? `course sandbox status`",
                )
            time.sleep(interval)

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Ask for an immediate comparison with Git, as the UI's Refresh button or a Git webhook does
        (``kubectl annotate application NAME argocd.argoproj.io/refresh=normal``)."""
        self.kubectl("-n", self.namespace, "annotate", "--overwrite", "applications.argoproj.io", name,
                     f"argocd.argoproj.io/refresh={'hard' if hard else 'normal'}")  # fmt: skip

    def sync(self, name: str, *, prune: bool = False, revision: str = "") -> None:
        """Start a sync of Application ``name`` the way ``argocd app sync`` does: by setting its ``operation``.

        Like the CLI, it copies the Application's ``syncPolicy.syncOptions`` into the operation: the controller
        reads the options of a requested sync from the operation only (without ``CreateNamespace=true`` there, a
        manual sync into a missing namespace fails with ``namespaces "…" not found``).
        """
        raw = self.kubectl("-n", self.namespace, "get", "applications.argoproj.io", name, "-o", "json")
        options = ((json.loads(raw).get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []
        op: dict[str, Any] = {"initiatedBy": {"username": "course-learner"}, "sync": {"prune": prune}}
        if options:
            op["sync"]["syncOptions"] = list(options)
        if revision:
            op["sync"]["revision"] = revision
        self.kubectl("-n", self.namespace, "patch", "applications.argoproj.io", name, "--type", "merge", "-p",
                     json.dumps({"operation": op}))  # fmt: skip

    def register_cluster(
        self, name: str, *, labels: Mapping[str, str], kubeconfig: str | None = None
    ) -> dict[str, Any]:
        """Register a cluster the way ``argocd cluster add NAME --label k=v`` does: a Secret labelled
        ``argocd.argoproj.io/secret-type: cluster`` in ``argocd`` with its server, credentials and your labels.

        Without ``kubeconfig`` it is the sandbox itself (``https://kubernetes.default.svc``); with one (a second
        local control plane, :func:`course_lib.sandbox._controlplane.extra_cluster_up`) its loopback server and the
        client certificate from that kubeconfig. Applying it again with other labels relabels the cluster.
        """
        secret = cluster_secret(name, labels=labels, kubeconfig=kubeconfig, namespace=self.namespace)
        self.kubectl("apply", "-f", "-", stdin=json.dumps(secret))
        return secret

    def _log(self, component: str) -> str:
        for e in self._state["components"]:
            if e["name"] == component:
                return str(e["log"])
        raise KeyError(component)

    def log(self, component: str = "application-controller", lines: int = 20) -> str:
        """The last ``lines`` lines a component wrote."""
        return proc.tail(Path(self._log(component)), lines)

    def __repr__(self) -> str:
        names = ", ".join(e["name"] for e in self._state["components"])
        return f"ArgoCD({self.version or 'v3.2.11'} on the sandbox, namespace {self.namespace!r}: {names})"


def cluster_secret(
    name: str, *, labels: Mapping[str, str], kubeconfig: str | None = None, namespace: str = NAMESPACE
) -> dict[str, Any]:
    """The cluster Secret of :meth:`ArgoCD.register_cluster` (credentials from a local kubeconfig's files)."""
    import base64

    def b64(path: str) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    if kubeconfig is None:
        conf: dict[str, Any]
        server, conf = IN_CLUSTER, {"tlsClientConfig": {"insecure": False}}
    else:
        kc = yaml.safe_load(Path(kubeconfig).read_text())
        cluster, user = kc["clusters"][0]["cluster"], kc["users"][0]["user"]
        server = str(cluster["server"])
        conf = {
            "tlsClientConfig": {
                "caData": cluster.get("certificate-authority-data") or b64(cluster["certificate-authority"]),
                "certData": user.get("client-certificate-data") or b64(user["client-certificate"]),
                "keyData": user.get("client-key-data") or b64(user["client-key"]),
            }
        }
    if not server.startswith(("https://127.0.0.1:", IN_CLUSTER)):
        raise SandboxError(f"{server} is not on this machine", hint="the sandbox's Argo CD acts on loopback only")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{name}",
            "namespace": namespace,
            "labels": {"argocd.argoproj.io/secret-type": "cluster", **dict(labels)},
        },
        "type": "Opaque",
        "stringData": {"name": name, "server": server, "config": json.dumps(conf)},
    }
