"""Part 02's break-and-fix drills (notebook 02_gitops_argocd): see :mod:`course_lib.drills`."""

from __future__ import annotations
