"""Argo CD on the sandbox: its constants, state file, the programs it needs and the settings objects it reads (see :mod:`course_lib.sandbox._argocd`)."""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ... import config
from ...errors import SandboxError, ToolMissingError
from .. import _process as proc

STATE_VERSION = 1


NAMESPACE = "argocd"


#: The in-cluster destination: with ARGOCD_FAKE_IN_CLUSTER the controllers reach it through their kubeconfig.
IN_CLUSTER = "https://kubernetes.default.svc"


#: Start order; stop runs in reverse.
COMPONENTS: tuple[str, ...] = ("redis", "repo-server", "application-controller", "applicationset-controller")


#: How often the application controller compares every Application with Git (a cluster's default is 180 s; a Git
#: webhook makes that instant there). The sandbox polls its local repository every few seconds instead.
APP_RESYNC_SECONDS = 5


#: Go's soft memory limit for each Argo CD component (see the control plane's ``CONTROL_PLANE_GOMEMLIMIT``).
ARGOCD_GOMEMLIMIT = "120MiB"


#: What the sandbox's ``default`` AppProject permits: nothing that would make Argo CD contact another machine.
ALLOWED_REPOS: tuple[str, ...] = ("file:///**",)  # `**`: Argo CD matches repositories with "/" as separator


ALLOWED_SERVERS: tuple[str, ...] = (IN_CLUSTER, "https://127.0.0.1:*")


#: A second guard under the AppProject: every HTTP(S) connection to a host that is not loopback goes to this proxy
#: address, where nothing listens (port 9, "discard"), so it fails at once, without even a DNS lookup of the host.
#: (The application controller connects to every registered cluster that some Application names, permitted or not:
#: a demo cluster Secret naming a DigitalOcean API server must not become real traffic.)
DEAD_PROXY = "http://127.0.0.1:9"


#: Labels the settings informers of Argo CD select on: ConfigMaps and Secrets without them are not read.
_PART_OF = {"app.kubernetes.io/part-of": "argocd"}


#: Health of an Application as a resource of its parent (app of apps). Argo CD removed it from the built-in checks
#: in 1.8, so without this a parent treats a child Application as healthy at once and sync waves do not wait.
APPLICATION_HEALTH_LUA = """\
hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


#: The kinds Argo CD 3's install manifest excludes in ``argocd-cm`` (``resource.exclusions``): objects controllers
#: create in large numbers and nobody keeps in Git (Endpoints, Leases, access reviews, reports ...). Argo CD neither
#: watches nor shows them, which spares the API server; 2.x watched them all. Grouped as upstream groups them.
RESOURCE_EXCLUSIONS: tuple[dict[str, list[str]], ...] = (
    {"apiGroups": ["", "discovery.k8s.io"], "kinds": ["Endpoints", "EndpointSlice"]},
    {"apiGroups": ["coordination.k8s.io"], "kinds": ["Lease"]},
    {
        "apiGroups": ["authentication.k8s.io", "authorization.k8s.io"],
        "kinds": [
            "SelfSubjectReview",
            "TokenReview",
            "LocalSubjectAccessReview",
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
            "SubjectAccessReview",
        ],
    },
    {"apiGroups": ["certificates.k8s.io"], "kinds": ["CertificateSigningRequest"]},
    {"apiGroups": ["cert-manager.io"], "kinds": ["CertificateRequest"]},
    {"apiGroups": ["cilium.io"], "kinds": ["CiliumIdentity", "CiliumEndpoint", "CiliumEndpointSlice"]},
    {
        "apiGroups": ["kyverno.io", "reports.kyverno.io", "wgpolicyk8s.io"],
        "kinds": [
            "PolicyReport",
            "ClusterPolicyReport",
            "EphemeralReport",
            "ClusterEphemeralReport",
            "AdmissionReport",
            "ClusterAdmissionReport",
            "BackgroundScanReport",
            "ClusterBackgroundScanReport",
            "UpdateRequest",
        ],
    },
)


#: The sandbox's Argo CD also leaves out the API groups of the upstream CRDs whose kinds no Application of the
#: course deploys there (its Applications sync guestbooks, Secrets, SealedSecrets and child Applications; the
#: capstone's charts need the internet). Its cluster cache then neither lists nor watches them, so the API server
#: does not build their handlers for it: Part 10 holds all 40 CRDs. A cluster's own Argo CD keeps upstream's list.
SANDBOX_EXCLUSIONS: tuple[dict[str, list[str]], ...] = (
    {
        "apiGroups": [
            "kyverno.io",
            "policies.kyverno.io",
            "monitoring.coreos.com",
            "postgresql.cnpg.io",
            "barmancloud.cnpg.io",
            "*.istio.io",
            "traefik.io",
            "gateway.networking.k8s.io",
        ],
        "kinds": ["*"],
    },
)
#: What the sandbox's ``argocd-cm`` excludes: upstream's list and the sandbox's own.
EXCLUSIONS = RESOURCE_EXCLUSIONS + SANDBOX_EXCLUSIONS


def state_file() -> Path:
    """Where the running Argo CD is recorded (next to the sandbox's other state)."""
    return config.state_dir() / "sandbox-argocd.json"


def _state() -> proc.StateFile:
    return proc.StateFile(state_file(), lock=config.state_dir() / "sandbox-argocd.lock", version=STATE_VERSION)


def _locked() -> contextlib.AbstractContextManager[None]:
    return _state().locked()


def _read_state() -> dict[str, Any] | None:
    return _state().read()


def _write_state(data: Mapping[str, Any]) -> None:
    _state().write(data)


# ------------------------------------------------------------------------------------------- programs


def binary() -> str | None:
    """The built ``argocd`` multi-call binary (``make tools``), or ``None``."""
    from ... import tools

    return tools.find("argocd")


def missing() -> list[str]:
    """What is missing to run Argo CD on the sandbox (empty when everything is there)."""
    out = [] if binary() else ["argocd (`make tools`)"]
    if shutil.which("redis-server") is None:
        out.append("redis-server (Debian package redis-server, `make setup`)")
    if shutil.which("git") is None:
        out.append("git")
    return out


def available() -> bool:
    """True when the Argo CD binary is built and redis-server and git are installed."""
    return not missing()


def _kubectl() -> str:
    from ... import tools

    path = tools.find("kubectl")
    if path is None:
        raise ToolMissingError("kubectl was not found", hint="run `make tools` (or `make setup`)")
    return path


def _run_kubectl(kubeconfig: str, *args: str, stdin: str | None = None, timeout: float = 30) -> str:
    cmd = [_kubectl(), "--kubeconfig", kubeconfig, *args]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SandboxError(
            f"kubectl {' '.join(args[:3])} failed: {(done.stderr or done.stdout).strip()[-600:]}",
            hint="check the sandbox control plane with `course sandbox status`",
        )
    return done.stdout


def _shims(workdir: Path) -> Path:
    """A bin folder for the repo-server's PATH: the course's helm and kubectl, and ``kustomize`` as
    ``kubectl kustomize`` (kubectl embeds kustomize; the course builds no separate binary)."""
    from ... import tools

    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for name in ("helm", "kubectl", "argocd"):
        found = tools.find(name)
        if found and not (bindir / name).exists():
            (bindir / name).symlink_to(found)
    kubectl = tools.find("kubectl")
    if kubectl:
        version = "v5"
        with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
            out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
            version = json.loads(out.stdout).get("kustomizeVersion", version)
        shim = bindir / "kustomize"
        shim.write_text(
            "#!/bin/sh\n# kustomize for Argo CD's repo-server: kubectl's embedded kustomize\n"
            f'case "$1" in\n  build) shift; exec "{kubectl}" kustomize "$@" ;;\n'
            f'  version) echo "{version}" ;;\n  *) echo "unsupported: kustomize $1" >&2; exit 2 ;;\nesac\n'
        )
        shim.chmod(0o755)
    return bindir


# ------------------------------------------------------------------------------------------- settings


def settings_objects(*, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """The objects Argo CD reads its settings from, as its install manifests create them (without the
    Deployments): the namespace, ``argocd-cm`` (with the Application health check and Argo CD 3's default
    :data:`EXCLUSIONS`), ``argocd-rbac-cm``,
    ``argocd-secret`` and the ``default`` AppProject (which only argocd-server would create otherwise).

    Example:
        >>> [o["metadata"]["name"] for o in settings_objects()][:3]
        ['argocd', 'argocd-cm', 'argocd-rbac-cm']
    """

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(_PART_OF)}

    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("argocd-cm"),
            "data": {
                "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
                "resource.exclusions": yaml.safe_dump([dict(e) for e in EXCLUSIONS], sort_keys=False),
            },
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-rbac-cm"), "data": {}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cmd-params-cm"), "data": {}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta("argocd-secret"),
            "type": "Opaque",
            "stringData": {"server.secretkey": secrets.token_urlsafe(32)},
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": namespace},
            "spec": {
                # loopback only: repositories on this machine, API servers on 127.0.0.1 (the sandbox's own, or a
                # second local control plane). Argo CD checks this before it fetches a source or reads a cluster.
                "sourceRepos": list(ALLOWED_REPOS),
                "destinations": [{"server": server, "namespace": "*"} for server in ALLOWED_SERVERS],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


def _apply_settings(kubeconfig: str, namespace: str) -> None:
    objs = settings_objects(namespace=namespace)
    secret = _run_kubectl(kubeconfig, "-n", namespace, "get", "secret", "argocd-secret", "--ignore-not-found", "-o",
                          "name")  # fmt: skip
    if secret.strip():  # keep the key of a running installation
        objs = [o for o in objs if o["kind"] != "Secret"]
    _run_kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(objs, sort_keys=False))
