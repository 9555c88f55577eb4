"""Part 05's break-and-fix drills (notebook 05_security_policy): see :mod:`course_lib.drills`."""

from __future__ import annotations
