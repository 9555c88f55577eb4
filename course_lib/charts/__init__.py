"""The course's Helm chart and Kustomize tree as real files, plus diffs, a Helmfile and two "Your turn" checks.

The chart (``data/charts/checkout``) and the kustomize base and overlays (``data/kustomize``) are ordinary
files in the repository; :func:`write_chart` and :func:`write_kustomize_tree` copy them into a working directory
where the real ``helm`` and ``kubectl kustomize`` (see :mod:`course_lib.cluster`) read them. :func:`diff_rows`
and :func:`unified_diff` compare two renderings (dev against prod), and :func:`helmfile_yaml` writes the
course's releases, with pinned chart versions, as one ``helmfile.yaml``.

Example:
    >>> import tempfile, course_lib.cluster as kc
    >>> chart = write_chart(tempfile.mkdtemp())
    >>> [o["kind"] for o in kc.helm_template(chart, environment_values(chart, "dev"), release="checkout",
    ...                                      namespace="shop")]  # doctest: +SKIP
    ['ConfigMap', 'Service', 'Deployment']

Used in: notebooks 06 and 07.
"""

from __future__ import annotations

from . import _exercises  # noqa: F401  (registers exercises 06-fix-template, 07-overlay and manifests 07/checkout-*)
from ._compare import diff_frame, diff_rows, helm_vs_kustomize, unified_diff
from ._files import (
    BROKEN_CONFIGMAP,
    CHART_SOURCE,
    DATA_DIR,  # noqa: F401  (importable as before; not in __all__)
    ENVIRONMENTS,
    KUSTOMIZE_SOURCE,
    KustomizeTree,
    config_refs,
    environment_values,
    listing,
    read,
    set_literal,
    write_chart,
    write_kustomize_tree,
)
from ._helmfile import (
    REPOSITORIES,  # noqa: F401  (importable as before; not in __all__)
    Release,
    course_releases,
    environment_releases,
    helmfile_yaml,
    release_history,
    releases_frame,
    write_helmfile,
)

__all__ = [
    "release_history",
    "BROKEN_CONFIGMAP",
    "CHART_SOURCE",
    "ENVIRONMENTS",
    "KUSTOMIZE_SOURCE",
    "KustomizeTree",
    "Release",
    "config_refs",
    "course_releases",
    "diff_frame",
    "diff_rows",
    "environment_releases",
    "environment_values",
    "helm_vs_kustomize",
    "helmfile_yaml",
    "listing",
    "read",
    "releases_frame",
    "set_literal",
    "unified_diff",
    "write_chart",
    "write_helmfile",
    "write_kustomize_tree",
]
