"""The capstone: the whole platform as one Git repository driven by an Argo CD App of Apps, and a checklist
that re-runs every validation of the course.

:func:`write_gitops_repo` writes a real local Git repository (the ``git`` program, not a simulation): a
``bootstrap/root-app.yaml`` (the App of Apps), one child Application per component under ``apps/`` (Helm
charts for the operators, folders of the course's own manifests for their configuration, the demo app), and a
``kustomization.yaml`` per folder. :func:`checklist` validates everything the course renders, runs ``promtool
test rules``, ``kubectl kustomize``, ``helm lint``, the cost guard and checks the repository is committed.

Example:
    >>> from course_lib import capstone as cap
    >>> [c.name for c in cap.DEFAULT_CHILDREN][:2]
    ['kube-prometheus-stack', 'istio-base']

Used in: notebook 10.
"""

from __future__ import annotations

from ._apps import (
    DEFAULT_CHILDREN,
    REQUIRED_COMPONENTS,
    ChildApp,
    child_application,
    platform_spec,
    starter_children,
)
from ._apps import KYVERNO_CHART_VERSION as KYVERNO_CHART_VERSION
from ._apps import KYVERNO_REPO as KYVERNO_REPO
from ._apps import PLATFORM_NODE_SIZE as PLATFORM_NODE_SIZE
from ._apps import PLATFORM_NODES as PLATFORM_NODES
from ._checks import Checklist, CheckRow, checklist, verification_steps
from ._deploy import argocd_helm_values as argocd_helm_values
from ._deploy import deploy_platform
from ._deploy import sandbox_waves as sandbox_waves
from ._repo import GitopsRepo, canary_step, write_gitops_repo

__all__ = [
    "DEFAULT_CHILDREN",
    "REQUIRED_COMPONENTS",
    "CheckRow",
    "ChildApp",
    "Checklist",
    "GitopsRepo",
    "canary_step",
    "checklist",
    "child_application",
    "deploy_platform",
    "platform_spec",
    "starter_children",
    "verification_steps",
    "write_gitops_repo",
]
