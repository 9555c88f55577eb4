"""Break-and-fix drills: the course breaks something real on the live cluster, the learner finds it and fixes it with
the tools of the job (``kubectl``, ``helm``, PromQL, SQL), and the check reads the **live state**, not the learner's
text.

A drill is a :class:`Drill` subclass in one of :data:`DRILL_MODULES` (one module per part), registered with
:func:`drill`. In a notebook::

    drill = cl.drills.start("05-psa-blocks-app", session)   # breaks it; shows the symptom and where to look
    # (a cell tagged `exercise`): the learner's kubectl commands, e.g. !kubectl -n drill-05 get events
    drill.check()                                           # ✅ fixed / ❌ still broken (+ the hint ladder)
    drill.clean()                                           # removes what the drill created

Each drill is also an exercise (``cl.check(drill_id, run)``): its verdict goes to the learner's progress, its hint
ladder is in ``data/exercises/hints.yaml`` and its fix in ``data/solutions/NN.yaml`` (a ``drill: true`` entry whose
code replaces the cell's ``# your turn (drill NN-name): …`` line), so the course's own runs fix every drill.

Example:
    >>> sorted(d for d in drills() if d.startswith("99-"))
    []

Used in: notebooks 02, 04-10.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigError, CourseError
from ..exercises import CheckResult, exercise
from ..exercises import check as check_exercise

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session

#: The modules that define drills, one per part, in course order; one that fails to import fails loudly.
DRILL_MODULES: tuple[str, ...] = (
    "course_lib.drills._gitops",  # 02
    "course_lib.drills._traffic",  # 04
    "course_lib.drills._policy",  # 05
    "course_lib.drills._helm",  # 06
    "course_lib.drills._kustomize",  # 07
    "course_lib.drills._postgres",  # 08
    "course_lib.drills._regions",  # 09
    "course_lib.drills._capstone",  # 10
)

_DRILLS: dict[str, type[Drill]] = {}


@dataclass(frozen=True)
class Verdict:
    """What a drill's probe found in the live state.

    Attributes:
        fixed: the live state is the healthy one the drill asks for.
        message: what was found, in the learner's terms (``3/3 pods Running``, ``HTTP 503 from Traefik`` …).
        hint: where to look next (a nudge, never the fix).
        attempted: ``False`` while what the drill broke is untouched (see :meth:`Drill.untouched`).
    """

    fixed: bool
    message: str
    hint: str = ""
    attempted: bool = True


@dataclass
class Drill:
    """One break-and-fix drill. Subclasses set the class attributes and implement :meth:`break_`, :meth:`probe` and
    :meth:`clean`; they keep what they need between the three in :attr:`state`."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: what the learner notices, as a user or an on-call engineer would (not the cause)
    symptom: ClassVar[str]
    #: the first command worth running to diagnose it (shown with the symptom)
    first_look: ClassVar[str]
    #: the capability the drill needs: "live_api" (any API server) or a controller name (``capabilities.runs``)
    needs: ClassVar[str] = "live_api"
    #: why the drill runs on the course's own control plane only (``capabilities.disposable``); "" runs anywhere
    sandbox_only: ClassVar[str] = ""

    session: Session
    state: dict[str, Any] = field(default_factory=dict)

    # -- to implement -----------------------------------------------------------------------------------------
    def break_(self) -> None:
        """Create the drill's objects and break one thing, for real."""
        raise NotImplementedError

    def probe(self) -> Verdict:
        """Read the live state: is it fixed?"""
        raise NotImplementedError

    def clean(self) -> None:
        """Remove everything :meth:`break_` created (idempotent)."""
        raise NotImplementedError

    def unavailable(self) -> str:
        """Why this drill cannot run on the session's target beyond :attr:`needs` and :attr:`sandbox_only` (a tool
        that is not built, a chart that is not installed …), in one line; ``""`` when it can. Checked before anything
        is created."""
        return ""

    # -- helpers for subclasses --------------------------------------------------------------------------------
    def remember(self, refs: Sequence[tuple[str, str, str | None]]) -> None:
        """Record the ``resourceVersion`` of objects ``(kind, name, namespace)`` right after the break, so
        :meth:`untouched` can tell whether the learner changed any of them."""
        cluster = self.session.cluster
        self.state["versions"] = {
            ref: cluster.get(ref[0], ref[1], namespace=ref[2])["metadata"].get("resourceVersion") for ref in refs
        }

    def untouched(self) -> bool:
        """Every object :meth:`remember` recorded still has its recorded ``resourceVersion`` (or none was
        recorded: then nothing tells, and the drill counts as attempted)."""
        versions: Mapping[tuple[str, str, str | None], Any] = self.state.get("versions", {})
        if not versions:
            return False
        cluster = self.session.cluster
        for (kind, name, namespace), version in versions.items():
            try:
                live = cluster.get(kind, name, namespace=namespace)
            except CourseError:
                return False  # deleted: the learner did something
            if live["metadata"].get("resourceVersion") != version:
                return False
        return True


def drill(cls: type[Drill]) -> type[Drill]:
    """Register a :class:`Drill` subclass under its ``id``, and as the exercise of the same id."""
    if cls.id in _DRILLS and _DRILLS[cls.id] is not cls:
        raise ConfigError(f"two drills are named {cls.id!r}", hint="drill ids are NN-name and unique")
    _DRILLS[cls.id] = cls

    def check(answer: Any, **_: Any) -> CheckResult:
        if not isinstance(answer, DrillRun) or answer.drill.id != cls.id:
            return CheckResult(
                cls.id, False, "a drill is checked with its run", f"drill = cl.drills.start({cls.id!r}, session)"
            )
        return answer._verdict()

    check.__doc__ = f"Part {int(cls.id[:2])} drill: {cls.title}"
    exercise(cls.id, live=True)(check)
    return cls


def _load() -> None:
    for module in DRILL_MODULES:
        importlib.import_module(module)


def drills(*, part: int | None = None) -> list[str]:
    """The ids of every drill (``NN-name``), optionally of one part."""
    return sorted(d for d in _DRILLS if part is None or d.startswith(f"{part:02d}-"))


def is_drill(exercise_id: str) -> bool:
    """Whether an exercise id is a drill's (the progress table counts drills apart)."""
    return exercise_id in _DRILLS


def start(drill_id: str, session: Session) -> DrillRun:
    """Break it: create the drill's objects on the session's cluster and break one thing.

    On a target that cannot run the drill (no API server, or a controller it needs does not run there) nothing is
    created and the run says why; its check then says "not attempted".

    Raises:
        ConfigError: unknown drill id (before anything is created).
    """
    cls = _DRILLS.get(drill_id)
    if cls is None:
        raise ConfigError(f"unknown drill {drill_id!r}", hint=f"known drills: {', '.join(sorted(_DRILLS))}")
    instance = cls(session)
    caps = session.capabilities
    ok = caps.live_api if cls.needs == "live_api" else caps.live_api and caps.runs(cls.needs)
    if not ok:
        why = "an API server" if cls.needs == "live_api" else f"a running {cls.needs}"
        return DrillRun(instance, unavailable=f"this drill needs {why}, which the {session.target} target lacks")
    reason = cls.sandbox_only if cls.sandbox_only and not caps.disposable else instance.unavailable()
    if reason:
        return DrillRun(instance, unavailable=reason)
    instance.clean()  # a run interrupted before its clean() left objects behind: start from nothing
    instance.break_()
    return DrillRun(instance)


@dataclass
class DrillRun:
    """A started drill: shows the symptom; :meth:`check` reads the live state; :meth:`clean` removes it."""

    drill: Drill
    unavailable: str = ""

    def check(self) -> CheckResult:
        """Is it fixed? Reads the live cluster, records the verdict in the learner's progress."""
        return check_exercise(self.drill.id, self)

    def _verdict(self) -> CheckResult:
        if self.unavailable:
            return CheckResult(self.drill.id, False, self.unavailable, attempted=False)
        verdict = self.drill.probe()
        if not verdict.fixed and not verdict.attempted:
            return CheckResult(
                self.drill.id,
                False,
                f"still broken, and untouched: {verdict.message}",
                hint=f"start with `{self.drill.first_look}`",
                attempted=False,
            )
        return CheckResult(self.drill.id, verdict.fixed, verdict.message, verdict.hint)

    def clean(self) -> str:
        """Remove what the drill created; returns what it did, in one line."""
        if self.unavailable:
            return "nothing to clean: the drill did not run here"
        self.drill.clean()
        return f"drill {self.drill.id}: its objects are removed"

    def __str__(self) -> str:
        if self.unavailable:
            return f"🔧 Drill {self.drill.id} — {self.drill.title}: not run ({self.unavailable})"
        return (
            f"🔧 Drill {self.drill.id} — {self.drill.title}\n"
            f"   Symptom: {self.drill.symptom}\n"
            f"   Start with: {self.drill.first_look}"
        )

    __repr__ = __str__

    def _repr_html_(self) -> str:
        d = self.drill
        if self.unavailable:
            return (
                f"<div><b>🔧 Drill {d.id}</b> — {html.escape(d.title)}: not run ({html.escape(self.unavailable)})</div>"
            )
        return (
            f'<div style="border-left:4px solid #bf8700;padding:.4em .8em"><b>🔧 Drill {d.id}</b> — '
            f"{html.escape(d.title)}<br><i>Symptom:</i> {html.escape(d.symptom)}<br><i>Start with:</i> "
            f"<code>{html.escape(d.first_look)}</code></div>"
        )


# every drill module is imported with this package, so its drills (and their exercises) exist once it is imported;
# a module that fails to import fails this import, loudly
_load()

__all__ = ["DRILL_MODULES", "Drill", "DrillRun", "Verdict", "drill", "drills", "is_drill", "start"]
