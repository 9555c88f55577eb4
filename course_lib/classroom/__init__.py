"""A class beyond one machine: JupyterHub on DOKS for hosting it, sized and priced by the course.

``plan_classroom`` writes the Zero to JupyterHub chart's values (the single-user image repo2docker builds from this
repository's Binder files, per-learner guarantees and limits, idle culling, the sandbox in each learner's pod
without Docker or privileges), sizes a node pool for the class from the course's node-size data and prices it with
the course's own estimate and cost guard. Batch runs of a class on a cluster are ``course run --executor kubernetes``
(:mod:`course_lib.runner`), with the same per-learner resources (:class:`LearnerResources`).

Example:
    >>> from course_lib.classroom import plan_classroom
    >>> plan = plan_classroom(12, image="registry.example.com/k8s-course:abc123")  # doctest: +SKIP
    >>> print(plan.summary())  # doctest: +SKIP

Used in: ``course classroom plan``, ``course run --executor kubernetes`` (README, "Running a class").
"""

from __future__ import annotations

from ._plan import (
    ClassroomPlan,
    build_values,
    plan_classroom,
    repo2docker_command,
    split_image,
    validate_values,
    values_schema,
)
from ._resources import LearnerResources, NodeCapacity, node_capacity

__all__ = [
    "ClassroomPlan",
    "LearnerResources",
    "NodeCapacity",
    "build_values",
    "node_capacity",
    "plan_classroom",
    "repo2docker_command",
    "split_image",
    "validate_values",
    "values_schema",
]
