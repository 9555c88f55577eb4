"""GitOps objects: Argo CD Application / ApplicationSet / repository Secret, App of Apps, SealedSecret.

Example:
    >>> app = argo_application("guestbook", repo_url="https://github.com/argoproj/argocd-example-apps.git",
    ...                        path="guestbook", dest_namespace="guestbook")
    >>> app["spec"]["syncPolicy"]["automated"]
    {'prune': True, 'selfHeal': True}

Used in: notebooks 02 (Application, repository Secret, SealedSecret), 09 (ApplicationSet), 10 (App of Apps).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ._meta import Manifest, check_name, object_meta, resource

ARGO_API_VERSION = "argoproj.io/v1alpha1"
SEALED_SECRETS_API_VERSION = "bitnami.com/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
#: Environment variable the repository-credentials builder reads an SSH private key from (never a parameter).
REPO_SSH_KEY_ENV = "ARGOCD_REPO_SSH_KEY"


def _check_repo_url(url: str) -> str:
    # file:///<absolute path>: a repository on this machine (the sandbox's repo-server runs here too)
    if not (url.startswith(("https://", "http://", "ssh://", "git@", "file:///")) and len(url) > 8):
        raise ConfigError(
            f"repo_url {url!r} does not look like a Git URL",
            hint="use https://github.com/<owner>/<repo>.git, git@github.com:<owner>/<repo>.git, or file:///<path> "
            "for a repository on the sandbox's machine",
        )
    return url


def _sync_policy(*, automated: bool, prune: bool, self_heal: bool, create_namespace: bool) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if automated:
        policy["automated"] = {"prune": prune, "selfHeal": self_heal}
    if create_namespace:
        policy["syncOptions"] = ["CreateNamespace=true"]
    return policy


def argo_application(
    name: str,
    *,
    repo_url: str,
    path: str,
    dest_namespace: str,
    namespace: str = "argocd",
    project: str = "default",
    target_revision: str = "HEAD",
    dest_server: str = IN_CLUSTER,
    automated: bool = True,
    prune: bool = True,
    self_heal: bool = True,
    create_namespace: bool = True,
    recurse: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An Argo CD Application that syncs ``path`` of a Git repository into ``dest_namespace``.

    Args:
        automated: sync on every Git change; ``False`` gives the manual-approval variant (OutOfSync until
            someone presses *Sync*).
        prune: delete objects that disappeared from Git (only with ``automated``).
        self_heal: undo changes made by hand in the cluster (only with ``automated``).
        recurse: read manifests from sub-directories too (used by the App-of-Apps root).

    Example:
        >>> manual = argo_application("guestbook", repo_url="https://github.com/argoproj/argocd-example-apps.git",
        ...                           path="guestbook", dest_namespace="guestbook", automated=False)
        >>> "automated" in manual["spec"]["syncPolicy"]
        False

    Used in: notebook 02.
    """
    source: dict[str, Any] = {"repoURL": _check_repo_url(repo_url), "targetRevision": target_revision, "path": path}
    if recurse:
        source["directory"] = {"recurse": True}
    spec = {
        "project": project,
        "source": source,
        "destination": {"server": dest_server, "namespace": check_name(dest_namespace, what="dest_namespace")},
        "syncPolicy": _sync_policy(
            automated=automated, prune=prune, self_heal=self_heal, create_namespace=create_namespace
        ),
    }
    return resource(ARGO_API_VERSION, "Application", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def argo_app_of_apps(
    name: str = "root",
    *,
    repo_url: str,
    path: str = "apps",
    namespace: str = "argocd",
    target_revision: str = "HEAD",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """The App-of-Apps root: an Application whose Git folder holds other Application manifests.

    It deploys into the ``argocd`` namespace itself (where Application objects live), recurses into
    sub-folders and carries the resources finalizer so deleting the root cascades to its children.

    Used in: notebook 10 (capstone).
    """
    app = argo_application(
        name,
        repo_url=repo_url,
        path=path,
        dest_namespace=namespace,
        namespace=namespace,
        target_revision=target_revision,
        create_namespace=False,
        recurse=True,
        labels=labels,
    )
    app["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return app


def argo_application_set(
    name: str,
    *,
    repo_url: str,
    path: str,
    app_namespace: str,
    cluster_labels: Mapping[str, str],
    namespace: str = "argocd",
    project: str = "default",
    target_revision: str = "HEAD",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """An ApplicationSet that stamps out one Application per registered cluster matching ``cluster_labels``.

    Uses the Go-template syntax (``{{.name}}``, ``{{.server}}``) that current Argo CD documents; the seed's
    ``{{name}}`` form is the older fasttemplate syntax.

    Example:
        >>> s = argo_application_set("guestbook-global", repo_url="https://github.com/argoproj/argocd-example-apps.git",
        ...                          path="guestbook", app_namespace="guestbook", cluster_labels={"env": "production"})
        >>> s["spec"]["generators"][0]["clusters"]["selector"]
        {'matchLabels': {'env': 'production'}}

    Used in: notebook 09.
    """
    if not cluster_labels:
        raise ConfigError(
            "cluster_labels is empty, which would deploy to every registered cluster",
            hint='pass the label that marks the target clusters, e.g. {"env": "production"}',
        )
    template = {
        "metadata": {"name": f"{check_name(name)}-{{{{.name}}}}"},
        "spec": {
            "project": project,
            "source": {"repoURL": _check_repo_url(repo_url), "targetRevision": target_revision, "path": path},
            "destination": {"server": "{{.server}}", "namespace": check_name(app_namespace, what="app_namespace")},
            "syncPolicy": _sync_policy(automated=True, prune=True, self_heal=True, create_namespace=True),
        },
    }
    spec = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"clusters": {"selector": {"matchLabels": dict(cluster_labels)}}}],
        "template": template,
    }
    return resource(
        ARGO_API_VERSION, "ApplicationSet", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def argo_repository_secret(
    name: str,
    *,
    url: str,
    namespace: str = "argocd",
    repo_type: str = "git",
    with_ssh_key: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A Secret that tells Argo CD about a repository (label ``argocd.argoproj.io/secret-type: repository``).

    The SSH private key is never a parameter: with ``with_ssh_key=True`` it is read from the environment
    variable ``ARGOCD_REPO_SSH_KEY``. Do not display such a manifest; apply it directly.

    Raises:
        ConfigError: ``with_ssh_key=True`` but the environment variable is not set.

    Used in: notebook 02.
    """
    data = {"type": repo_type, "url": _check_repo_url(url)}
    if with_ssh_key:
        key = os.environ.get(REPO_SSH_KEY_ENV, "")
        if not key.strip():
            raise ConfigError(
                f"{REPO_SSH_KEY_ENV} is not set",
                hint=f'in a terminal: export {REPO_SSH_KEY_ENV}="$(cat ~/.ssh/argocd_deploy_key)" before starting Jupyter',
            )
        data["sshPrivateKey"] = key
    meta = object_meta(
        name, namespace=namespace, labels=labels, extra_labels={"argocd.argoproj.io/secret-type": "repository"}
    )
    return resource("v1", "Secret", meta, type="Opaque", stringData=data)


def sealed_secret(
    name: str,
    *,
    namespace: str,
    encrypted_data: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """The shape of a SealedSecret: ciphertext per key, plus the template of the Secret it unseals into.

    Real ciphertext comes from ``kubeseal`` with the controller's public key (only the controller in that
    cluster can decrypt it); this builder only arranges it. The unsealed Secret gets the same name.

    Example:
        >>> sealed_secret("db-pass", namespace="default", encrypted_data={"password": "AgB..."})["kind"]
        'SealedSecret'

    Used in: notebook 02.
    """
    if not encrypted_data:
        raise ConfigError("encrypted_data is empty", hint="pass the ciphertext kubeseal wrote, one entry per key")
    meta = object_meta(name, namespace=namespace, labels=labels)
    template = {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "type": "Opaque"}
    spec = {"encryptedData": dict(encrypted_data), "template": template}
    return resource(SEALED_SECRETS_API_VERSION, "SealedSecret", meta, spec=spec)
