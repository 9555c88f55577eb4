"""Pure evaluators of Kubernetes semantics, kept as explanations and test oracles beside the real thing.

Nothing here imports pandas or plotly, talks to a server or starts a process; each function answers one question
the way the Kubernetes component that owns it would: label selectors as the API machinery evaluates them,
NetworkPolicy connections as a CNI enforces them, Kyverno ``validate.pattern`` rules as Kyverno admits them, and
a weighted canary split as the binomial model describes it.
"""

from __future__ import annotations

from ._canary import binomial_band, count_band, weighted_draws
from ._kyverno import Admission, evaluate_policy
from ._netpol import PodRef, Verdict, connection
from ._selectors import check_selector, selector_matches

__all__ = [
    "Admission",
    "PodRef",
    "Verdict",
    "binomial_band",
    "check_selector",
    "connection",
    "count_band",
    "evaluate_policy",
    "selector_matches",
    "weighted_draws",
]
