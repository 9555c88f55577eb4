"""Part 08's break-and-fix drills (notebook 08_postgres_cnpg): see :mod:`course_lib.drills`."""

from __future__ import annotations
