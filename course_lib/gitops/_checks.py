"""Part 2's "Your turn" checks (exercises ``02-sync-policy`` and ``02-pruned-objects``, with the prune scenario)
and the two manifest entries notebook 02 shows (``02/guestbook-manifests``, ``02/prune-exercise``); both register
when :mod:`course_lib.gitops` is imported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..exercises import CheckResult, exercise
from ._repo import Manifest, diff_objects, guestbook_manifests

# ----------------------------------------------------------------------------------------------- exercises


#: The scenario of exercise 02-pruned-objects: the repository before and after a clean-up commit.
def prune_exercise() -> tuple[list[Manifest], list[Manifest]]:
    """Two states of a repository: ``before`` (commit A) and ``after`` (commit B) for the "Your turn" exercise.

    Used in: notebook 02.
    """
    from ..manifests import config_map

    before = [
        *guestbook_manifests(replicas=2),
        config_map("guestbook-config", namespace="guestbook", data={"THEME": "dark"}),
        config_map("old-banner", namespace="guestbook", data={"TEXT": "sale!"}),
    ]
    svc = guestbook_manifests(replicas=2)[1]
    svc["spec"]["ports"][0]["port"] = 8080
    after = [
        guestbook_manifests(replicas=2)[0],
        svc,
        config_map("guestbook-config", namespace="guestbook", data={"THEME": "dark"}),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "guestbook-ui", "namespace": "guestbook"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guestbook-ui"}}},
        },
    ]
    return before, after


@exercise("02-sync-policy")
def check_sync_policy(answer: Any) -> CheckResult:
    """Part 2: a ``syncPolicy`` with automated sync, prune and selfHeal (and namespace creation)."""
    name = "02-sync-policy"
    if not isinstance(answer, Mapping):
        return CheckResult(
            name, False, "the answer should be a dict, the value of spec.syncPolicy.", 'start with {"automated": {...}}'
        )
    if "automated" not in answer:
        keys = ", ".join(map(str, answer)) or "nothing"
        return CheckResult(
            name,
            False,
            f"there is no `automated` key (found: {keys}): this is the manual-sync policy, nothing syncs on its own.",
            "automatic sync lives under syncPolicy.automated",
        )
    auto = answer["automated"]
    if not isinstance(auto, Mapping):
        return CheckResult(
            name, False, "`automated` should be a dict of options.", "it holds the prune and selfHeal switches"
        )
    wrong_case = [
        k for k in auto if isinstance(k, str) and k.lower() in ("prune", "selfheal") and k not in ("prune", "selfHeal")
    ]
    if wrong_case:
        return CheckResult(
            name, False, f"{wrong_case[0]!r} is not a field Argo CD knows; field names are case-sensitive.", "camelCase"
        )
    unknown = [k for k in auto if k not in ("prune", "selfHeal", "allowEmpty", "enabled")]
    if unknown:
        return CheckResult(name, False, f"`automated` has an unknown field {unknown[0]!r}.", "check the spelling")
    for fld, what in (
        ("prune", "objects deleted from Git stay in the cluster"),
        ("selfHeal", "changes made by hand are not undone"),
    ):
        if auto.get(fld) is not True:
            return CheckResult(
                name,
                False,
                f"`{fld}` is {auto.get(fld)!r}: {what}.",
                "the value must be the boolean True (not a string)"
                if isinstance(auto.get(fld), str)
                else f"switch {fld} on",
            )
    options = answer.get("syncOptions", [])
    if not isinstance(options, list) or "CreateNamespace=true" not in options:
        return CheckResult(
            name,
            False,
            "automated sync with prune and selfHeal is right, but the guestbook namespace does not exist yet, "
            "so the first sync would fail.",
            "syncOptions is a list of strings such as 'Name=value'",
        )
    return CheckResult(name, True, "automated sync with prune and selfHeal, and Argo CD creates the namespace.")


@exercise("02-pruned-objects")
def check_pruned_objects(answer: Any) -> CheckResult:
    """Part 2: which objects a sync from commit A to commit B would prune (``Kind/name`` strings)."""
    name = "02-pruned-objects"
    if isinstance(answer, str) or not isinstance(answer, Iterable):
        return CheckResult(name, False, "the answer should be a list of 'Kind/name' strings.", 'e.g. ["Service/foo"]')
    given = {str(a).strip() for a in answer}
    before, after = prune_exercise()
    plan = diff_objects(before, after)
    right = set(plan.of("prune"))
    created, changed = set(plan.of("create")), set(plan.of("change"))
    if given == right:
        return CheckResult(name, True, f"only {', '.join(sorted(right))} disappeared from Git, so only it is pruned.")
    bad_form = [g for g in given if "/" not in g]
    if bad_form:
        return CheckResult(name, False, f"{bad_form[0]!r} is not of the form 'Kind/name'.", "e.g. 'ConfigMap/example'")
    if given & created:
        return CheckResult(
            name, False, f"{sorted(given & created)[0]} is new in commit B: a sync creates it.", "prune only deletes"
        )
    if given & changed:
        return CheckResult(
            name,
            False,
            f"{sorted(given & changed)[0]} is still in Git (with a change): it is updated, not deleted.",
            "an object is pruned only when its file is gone",
        )
    if right - given:
        return CheckResult(
            name,
            False,
            f"{len(right - given)} object(s) that left Git are missing from your list.",
            "compare the two lists object by object",
        )
    return CheckResult(
        name,
        False,
        f"{sorted(given - right)[0]} is in both commits unchanged: nothing happens to it.",
        "look for what is missing in B",
    )


def _register() -> None:
    """Add the objects notebook 02 shows that the manifests registry does not have yet (``course validate``)."""
    from ..manifests import register

    register("02/guestbook-manifests", lambda lb: guestbook_manifests(labels=lb), replace=True)
    register("02/prune-exercise", lambda lb: [*prune_exercise()[0], prune_exercise()[1][-1]], replace=True)


_register()
