"""Part 09's break-and-fix drills (notebook 09_multi_region): see :mod:`course_lib.drills`."""

from __future__ import annotations
