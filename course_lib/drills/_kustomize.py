"""Part 07's break-and-fix drills (notebook 07_kustomize): see :mod:`course_lib.drills`."""

from __future__ import annotations
