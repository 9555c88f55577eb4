"""Part 06's break-and-fix drills (notebook 06_helm): see :mod:`course_lib.drills`."""

from __future__ import annotations
