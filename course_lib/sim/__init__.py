"""Pure evaluators of Kubernetes semantics, kept as explanations and test oracles beside the real thing.

Nothing here imports pandas or plotly, talks to a server or starts a process; each function answers one question
the way the Kubernetes component that owns it would (label selectors as the API machinery evaluates them, ...).
"""

from __future__ import annotations

from ._selectors import check_selector, selector_matches

__all__ = ["check_selector", "selector_matches"]
