"""The handle on the running Argo CD: :class:`ArgoCD` (applications, sync, status) and cluster Secrets (see :mod:`course_lib.sandbox._argocd`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ...errors import SandboxError
from ...gitops._applications import AppState
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
    from ...gitops import Applications

# ------------------------------------------------------------------------------------------- handle


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
        self._apps: Applications | None = None

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

    def applications(self) -> Applications:
        """Its Applications through the API server (:class:`course_lib.gitops.Applications`): what the
        controller reports, refresh and sync, as on any cluster; a wait that times out adds the controller's last log
        lines."""
        if self._apps is None:
            from ...gitops import Applications

            self._apps = Applications(
                self._api(),
                namespace=self.namespace,
                diagnose=lambda: "Controller log:\n" + proc.tail(Path(self._log("application-controller")), 8),
                hint="is the application controller running? `course sandbox status`",
            )
        return self._apps

    def application(self, name: str) -> AppState:
        """The controller's view of Application ``name`` right now (:meth:`Applications.application`)."""
        return self.applications().application(name)

    def wait(self, name: str, **kwargs: Any) -> tuple[float, AppState]:
        """Wait until Application ``name`` reports a sync status, health, revision (:meth:`Applications.wait`).

        Raises:
            ClusterError: not reached within ``timeout`` (with the last state and the controller's last log lines).
        """
        return self.applications().wait(name, **kwargs)

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Ask for an immediate comparison with Git (:meth:`Applications.refresh`)."""
        self.applications().refresh(name, hard=hard)

    def sync(self, name: str, *, prune: bool = False, revision: str = "") -> None:
        """Start a sync the way ``argocd app sync`` does (:meth:`Applications.sync`)."""
        self.applications().sync(name, prune=prune, revision=revision)

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
