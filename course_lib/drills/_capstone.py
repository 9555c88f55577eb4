"""Part 10's break-and-fix drills (notebook 10_capstone): see :mod:`course_lib.drills`."""

from __future__ import annotations
