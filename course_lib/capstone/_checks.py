"""Part 10's verification: the steps to check a running platform by hand, and the checklist that re-runs every
validation of the course over the platform. See :mod:`course_lib.capstone`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import CourseError
from ._repo import GitopsRepo, _import_all_parts

# --- verification and checklist --------------------------------------------------------------------


def verification_steps() -> Any:
    """How to verify the running platform on a cluster target (commands and what to expect).

    Used in: notebook 10.
    """
    import pandas as pd

    rows = [
        ("Argo CD: all apps synced", "kubectl get applications -n argocd", "every app Synced and Healthy"),
        (
            "Prometheus: every target up",
            "kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus 9090:9090",
            "http://127.0.0.1:9090/targets lists the course's ServiceMonitors, each target UP",
        ),
        (
            "Kiali: mesh graph",
            "istioctl dashboard kiali  (install the Kiali addon first)",
            "the shop namespace graph shows traffic to checkout v1 and v2",
        ),
        (
            "Canary: shift traffic",
            "commit new VirtualService weights (canary_step) and let Argo CD sync",
            "the v2 share moves to the new weight in Kiali / Prometheus",
        ),
        (
            "Policy: root is refused",
            "kubectl run root-test --image=nginx -n shop",
            "Kyverno rejects it (runAsNonRoot is required)",
        ),
    ]
    return pd.DataFrame(rows, columns=["check", "command", "expect"])


@dataclass(frozen=True)
class CheckRow:
    """One line of the checklist."""

    check: str
    status: str  # "pass", "fail" or "skip"
    detail: str


@dataclass(frozen=True)
class Checklist:
    """Every earlier validation, re-run over the platform."""

    rows: tuple[CheckRow, ...]

    @property
    def ok(self) -> bool:
        """No check failed (skipped ones, for a missing tool, do not count as failures)."""
        return all(r.status != "fail" for r in self.rows)

    def table(self) -> Any:
        import pandas as pd

        marks = {"pass": "✅ pass", "fail": "❌ FAIL", "skip": "⏭ skip"}
        return pd.DataFrame([{"check": r.check, "result": marks[r.status], "detail": r.detail} for r in self.rows])

    def __str__(self) -> str:
        return "\n".join(f"{r.status.upper():4}  {r.check}: {r.detail}" for r in self.rows)


def checklist(repo: GitopsRepo, *, spec: Any, max_hourly_cost: float, options: Any | None = None) -> Checklist:
    """Run every validation the course has over the platform and return a pass/fail table.

    Checks: ``course validate`` (render and validate every registered manifest), the repository's own
    manifests, ``kubectl kustomize`` of each platform folder, ``promtool test rules``, ``helm lint`` of the
    demo chart (skipped without helm), the cost guard, and a clean, committed working tree.

    Used in: notebook 10.
    """
    from .. import manifests as m
    from ..provision import check_cost, estimate_cost, get_options

    rows: list[CheckRow] = []

    def attempt(name: str, fn: Any) -> None:
        try:
            status, detail = fn()
        except CourseError as exc:
            status, detail = (
                ("skip", exc.message) if type(exc).__name__ == "ToolMissingError" else ("fail", exc.message)
            )
        rows.append(CheckRow(name, status, detail))

    def validate_all() -> tuple[str, str]:
        _import_all_parts()
        objs = [o for entry in m.render_all().values() for o in entry]
        report = m.validate(objs)
        if report.ok:
            return "pass", "every registered manifest renders and validates"
        bad = ", ".join(f"{r.kind}/{r.name}" for r in report.failures[:3])
        return "fail", f"{len(report.failures)} invalid, e.g. {bad}"

    def validate_repo() -> tuple[str, str]:
        report = m.validate(repo.objects())
        return ("pass" if report.ok else "fail"), f"{len(report.results)} objects in apps/, bootstrap/, platform/"

    def kustomize() -> tuple[str, str]:
        from ..cluster import kustomize_build

        counts = [
            f"{c.path.split('/')[-1]}={len(kustomize_build(repo.path / c.path))}" for c in repo.children if c.path
        ]
        return "pass", "objects built: " + ", ".join(counts)

    def promtool() -> tuple[str, str]:
        from ..sandbox import test_rules

        result = test_rules()
        return ("pass" if result.ok else "fail"), "promtool test rules: " + ("SUCCESS" if result.ok else "FAILED")

    def helm() -> tuple[str, str]:
        from ..cluster import helm_lint
        from ..errors import ToolMissingError

        chart = repo.path / "charts" / "checkout"
        if not chart.is_dir():
            raise ToolMissingError("no charts/checkout in the repo (helm was missing when it was written)")
        lint = helm_lint(chart)
        return "pass", f"1 chart linted, {len(lint.warnings)} warning(s)"

    def cost() -> tuple[str, str]:
        est = estimate_cost(spec, options=options or get_options(live=False))
        check_cost(est, max_hourly_cost=max_hourly_cost)
        return "pass", f"${est.max_hourly:.4f}/hour worst case ≤ ${max_hourly_cost:.2f}/hour"

    def git_clean() -> tuple[str, str]:
        dirty = repo.git("status", "--porcelain").strip()
        n = len(repo.git("log", "--format=%H").split())
        return ("fail", f"uncommitted changes: {dirty.splitlines()[0]}") if dirty else ("pass", f"clean, {n} commit(s)")

    attempt("course validate (everything rendered)", validate_all)
    attempt("GitOps repo manifests validate", validate_repo)
    attempt("kustomize build of each platform folder", kustomize)
    attempt("alert rules (promtool test rules)", promtool)
    attempt("helm lint charts/checkout", helm)
    attempt("cost under the limit", cost)
    attempt("Git: everything committed", git_clean)
    return Checklist(tuple(rows))
