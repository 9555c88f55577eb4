"""Argo CD on the sandbox: its real controllers as local processes against the sandbox's kube-apiserver.

Started on demand (``session.gitops()``, :func:`up`), never by ``course sandbox up``:

- ``redis-server`` (Debian's 7.0, BSD-3) on 127.0.0.1 with its own port and folder and ``--save ''``: Argo CD's
  cache (the system's redis service is never used);
- ``argocd-repo-server``: clones the course's local Git repository (``file://`` URLs) and renders manifests,
  shelling out to the course's ``git``, ``helm`` and ``kubectl kustomize``;
- ``argocd-application-controller``: compares, syncs, self-heals and prunes Applications;
- ``argocd-applicationset-controller``: generates Applications from ApplicationSets.

All three are the one multi-call binary ``argocd`` (v3.2.11, built by ``make tools``); ``ARGOCD_BINARY_NAME`` picks
the component, as in Argo CD's own Procfile. They run out of cluster with the sandbox kubeconfig
(``ARGOCD_FAKE_IN_CLUSTER=true``: the destination ``https://kubernetes.default.svc`` is the sandbox itself) and
read their settings from the namespace ``argocd``, which :func:`up` fills with the ConfigMaps and Secret they need.

Every child is recorded in a state file next to the control plane's and carries the sandbox's environment marker,
so ``course sandbox down`` stops it even after the kernel that started it was killed.

Example:
    >>> from course_lib.sandbox import _argocd
    >>> handle = _argocd.up(kubeconfig)             # doctest: +SKIP
    >>> handle.wait("guestbook", sync="Synced")     # doctest: +SKIP

Used in: notebooks 02, 09, 10 (through ``session.gitops()``), ``course sandbox status|down``.
"""

from __future__ import annotations

import shutil  # noqa: F401 - tests patch through this module

from ._base import (  # noqa: F401
    APP_RESYNC_SECONDS,
    APPLICATION_HEALTH_LUA,
    COMPONENTS,
    IN_CLUSTER,
    NAMESPACE,
    available,
    missing,
    settings_objects,
    state_file,
)
from ._components import (  # noqa: F401
    PORT_NAMES,
    _components,
)
from ._handle import (  # noqa: F401
    AppState,
    ArgoCD,
    cluster_secret,
)
from ._life import (  # noqa: F401
    current,
    down,
    fingerprint,
    status,
    status_lines,
    stop_component,
    up,
)

__all__ = [
    "APPLICATION_HEALTH_LUA",
    "AppState",
    "ArgoCD",
    "COMPONENTS",
    "IN_CLUSTER",
    "NAMESPACE",
    "available",
    "cluster_secret",
    "current",
    "down",
    "missing",
    "settings_objects",
    "state_file",
    "status",
    "stop_component",
    "up",
]
