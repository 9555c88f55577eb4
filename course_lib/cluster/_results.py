"""Frozen result types returned by :class:`~course_lib.cluster.Cluster` methods.

Every result that comes from a dry run says so in its ``repr`` and its notebook (HTML) display, so a
learner never mistakes a plan for a change to a real cluster.

Used in: notebooks 02, 06, 07 (cell outputs of ``cluster.apply`` and ``cluster.rollout_status``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

from ._objects import ObjectRef

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Action = Literal["created", "configured", "unchanged", "deleted", "not found"]

DRY_RUN_BANNER = "DRY RUN: nothing was changed on a cluster"


@dataclass(frozen=True)
class ApplyResult:
    """What happened (or, in a dry run, would happen) to one object.

    Attributes:
        ref: which object.
        action: ``created``, ``configured`` or ``unchanged`` for apply; ``deleted`` or ``not found`` for delete.
        dry_run: ``True`` when nothing was sent to a cluster (or the server was asked with ``dryRun=All``).
        diff: ``diff -u`` of the object before and after (empty when unchanged).
        resource_version: the server's ``metadata.resourceVersion`` afterwards (``None`` in a local dry run).
        object: the object as applied (with course labels and namespace filled in) or as the server returned it.
    """

    ref: ObjectRef
    action: Action
    dry_run: bool = False
    diff: str = ""
    resource_version: str | None = None
    object: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return self.ref.kind

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def namespace(self) -> str | None:
        return self.ref.namespace

    def __str__(self) -> str:
        suffix = " (dry run)" if self.dry_run else ""
        return f"{self.ref} {self.action}{suffix}"


@dataclass(frozen=True)
class ApplyReport:
    """The results of one ``apply`` or ``delete`` call, in the order the objects were sent.

    Behaves like a read-only list of :class:`ApplyResult`; ``counts`` sums the actions.

    Attributes:
        results: one per object.
        dry_run: ``True`` when this was a plan only.
        target: ``sandbox``, ``kubeconfig`` or ``doks``.
        verb: ``apply`` or ``delete``.
        notes: remarks, e.g. that schema validation was skipped and why.
    """

    results: tuple[ApplyResult, ...]
    dry_run: bool
    target: str
    verb: Literal["apply", "delete"] = "apply"
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ApplyResult]:
        return iter(self.results)

    @overload
    def __getitem__(self, index: int) -> ApplyResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ApplyResult, ...]: ...
    def __getitem__(self, index: int | slice) -> ApplyResult | tuple[ApplyResult, ...]:
        return self.results[index]

    @property
    def counts(self) -> dict[str, int]:
        """How many objects per action, e.g. ``{'created': 3, 'unchanged': 1}``."""
        out: dict[str, int] = {}
        for r in self.results:
            out[r.action] = out.get(r.action, 0) + 1
        return out

    @property
    def actions(self) -> list[str]:
        """The actions in order, handy in tests and exercise checks."""
        return [r.action for r in self.results]

    def to_frame(self) -> pd.DataFrame:
        """One row per object: kind, name, namespace, action, dry_run."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "kind": r.kind,
                    "name": r.name,
                    "namespace": r.namespace or "",
                    "action": r.action,
                    "dry_run": r.dry_run,
                }
                for r in self.results
            ],
            columns=["kind", "name", "namespace", "action", "dry_run"],
        )

    def _header(self) -> str:
        summary = ", ".join(f"{n} {a}" for a, n in self.counts.items()) or "no objects"
        head = f"{self.verb} on {self.target}: {summary}"
        return f"{DRY_RUN_BANNER} ({self.verb} plan for target={self.target!r}): {summary}" if self.dry_run else head

    def __repr__(self) -> str:
        lines = [self._header()]
        lines += [f"  {r.ref} {r.action}" for r in self.results]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.kind)}</td><td>{html.escape(r.name)}</td>"
            f"<td>{html.escape(r.namespace or '')}</td><td><b>{html.escape(r.action)}</b></td></tr>"
            for r in self.results
        )
        banner = (
            f'<div style="background:#fff3cd;border:1px solid #e0b000;padding:4px 8px;font-weight:bold">'
            f"{html.escape(DRY_RUN_BANNER)}</div>"
            if self.dry_run
            else ""
        )
        notes = "".join(f"<div><i>note: {html.escape(n)}</i></div>" for n in self.notes)
        return (
            f"{banner}<div>{html.escape(self._header())}</div>"
            f"<table><thead><tr><th>kind</th><th>name</th><th>namespace</th><th>action</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{notes}"
        )


@dataclass(frozen=True)
class WaitResult:
    """The end of a ``wait`` or ``rollout_status``.

    Attributes:
        ref: which object.
        condition: the condition that was met (``"Available"``, ``"rollout complete"`` ...).
        seconds: how long the wait took.
        dry_run: ``True`` when nothing was waited for because there is no cluster (dry-run mode).
        object: the object's last state from the server.
    """

    ref: ObjectRef
    condition: str
    seconds: float
    dry_run: bool = False
    object: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        if self.dry_run:
            return f"{DRY_RUN_BANNER}: did not wait for {self.ref} ({self.condition}); no control plane to ask"
        return f"{self.ref}: {self.condition} after {self.seconds:.1f}s"

    __str__ = __repr__


@dataclass(frozen=True)
class HttpResponse:
    """An answer from a Service, fetched through the API server's service proxy.

    Attributes:
        status: HTTP status code.
        text: the body as text.
        headers: response headers.
        url: the proxy path that was requested.
    """

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    url: str = ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.text)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


__all__ = ["DRY_RUN_BANNER", "Action", "ApplyReport", "ApplyResult", "HttpResponse", "WaitResult"]
