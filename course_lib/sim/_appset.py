"""The course's own evaluation of an Argo CD ApplicationSet clusters generator: which registered cluster Secrets a
label selector picks, and the ``{{.name}}``/``{{.server}}`` template fields it fills in for each. A test oracle and
an explanation next to the real ApplicationSet controller (no pandas, no plotly, no I/O); Part 9's tables over it
are in :mod:`course_lib.regions`.

Example:
    >>> secret = {"metadata": {"labels": {CLUSTER_SECRET_LABEL: "cluster", "env": "production"}},
    ...           "stringData": {"name": "prod-fra1", "server": "https://prod-fra1.example"}}
    >>> match_clusters({"matchLabels": {"env": "production"}}, [secret])
    ['prod-fra1']
    >>> _fill("guestbook-{{.name}}", secret["stringData"])
    'guestbook-prod-fra1'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._selectors import selector_matches

CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"


def _labels(secret: Mapping[str, Any]) -> dict[str, str]:
    return dict((secret.get("metadata") or {}).get("labels") or {})


def match_clusters(selector: Mapping[str, Any], clusters: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the cluster Secrets a clusters-generator ``selector`` picks (sorted).

    Only Secrets labelled ``argocd.argoproj.io/secret-type: cluster`` take part, as in Argo CD.

    Used in: notebook 09.
    """
    return sorted(
        c["stringData"]["name"]
        for c in clusters
        if _labels(c).get(CLUSTER_SECRET_LABEL) == "cluster" and selector_matches(selector, _labels(c))
    )


_GO_VAR = re.compile(r"\{\{\s*\.(name|server)\s*\}\}")


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _GO_VAR.sub(lambda m: values[m.group(1)], text)
