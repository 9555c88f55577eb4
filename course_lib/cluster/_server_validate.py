"""Validation by the API server itself: each object is sent as a server-side dry run (``dryRun=All``).

On the sandbox the API server holds upstream's own CRDs (installed by the session from the projects' Go modules),
so a custom resource is judged by upstream's schema, defaults and CEL rules, and a built-in kind by the
kube-apiserver the sandbox runs; server-side apply refuses fields a schema does not declare. Kinds whose CRD could
not be obtained (only an open placeholder is installed) keep the offline verdict of the course's authored schema.

Used in: ``course validate --server``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ClusterError

if TYPE_CHECKING:  # pragma: no cover
    from ..manifests._validate import ValidationReport
    from ._cluster import Cluster


def server_validate(
    cluster: Cluster,
    objects: Iterable[Mapping[str, Any]],
    *,
    upstream: Mapping[tuple[str, str], str],
) -> ValidationReport:
    """Validate ``objects`` on ``cluster`` by server-side dry run; returns the same report ``validate`` does.

    Args:
        cluster: a live cluster (the sandbox's control plane).
        objects: the manifests.
        upstream: ``(group, kind)`` → ``"<project> <version>"`` for every custom kind whose real CRD the server
            holds; other custom kinds keep the offline (authored schema) verdict.

    Raises:
        ClusterError: a dry-run Cluster (there is no server to ask).
    """
    from ..manifests._validate import ObjectResult, ValidationReport, validate

    cluster._need_api("validate objects on")
    items = [dict(o) for o in objects]
    offline = validate(items)
    server = cluster.server_version()
    results: list[ObjectResult] = []
    for obj, verdict in zip(items, offline.results, strict=True):
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        custom = "." in group and not group.endswith(".k8s.io")
        source = upstream.get((group, str(obj.get("kind"))))
        if custom and source is None:
            results.append(verdict)  # only a placeholder CRD on the server: the authored schema judged it
            continue
        validator = f"API server ({server}) + upstream CRD ({source})" if custom else f"API server ({server})"
        try:
            # force: a dry run that takes over fields another manager set changes nothing
            cluster.apply(copy.deepcopy(obj), dry_run=True, field_manager="course-validate", force=True)
        except ClusterError as exc:
            errors: tuple[str, ...] = (exc.message,)
        else:
            errors = ()
        results.append(
            ObjectResult(
                verdict.kind,
                verdict.name,
                verdict.api_version,
                verdict.namespace,
                not errors,
                errors,
                schema=f"server {server}",
                validator=validator,
            )
        )
    return ValidationReport(tuple(results), kube_version=server.lstrip("v").rsplit(".", 1)[0], counts=offline.counts)


__all__ = ["server_validate"]
