"""Part 04's break-and-fix drills (notebook 04_networking_mesh): see :mod:`course_lib.drills`."""

from __future__ import annotations
