"""Part 6 and 7's "Your turn" checks (exercises ``06-fix-template`` and ``07-overlay``) and the two kustomize
overlays registered for ``course validate``; both register when :mod:`course_lib.charts` is imported."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import CourseError
from ..exercises import CheckResult, exercise
from ._files import write_chart, write_kustomize_tree

# --- Your turn ----------------------------------------------------------------------------------------


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "[ERROR]" in line or "error" in line.lower():
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "helm failed"


@exercise("06-fix-template")
def _check_fixed_template(answer: Any) -> CheckResult:
    """Part 6: the text of a fixed ``templates/configmap.yaml`` that lints and renders every config key."""
    import course_lib.cluster as kc

    name = "06-fix-template"
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(
            name,
            False,
            "the answer should be the template's text as a string.",
            "start from charts.read(broken_chart, 'templates/configmap.yaml')",
        )
    with tempfile.TemporaryDirectory(prefix="course-06-") as tmp:
        chart = write_chart(tmp)
        (chart / "templates" / "configmap.yaml").write_text(answer)
        try:
            kc.helm_lint(chart)
            objs = kc.helm_template(chart, release="checkout", namespace="shop")
        except CourseError as exc:
            return CheckResult(
                name,
                False,
                f"helm still fails: {_first_error(exc.message)}",
                "every {{ range }}, {{ if }} and {{ with }} needs its own {{ end }}",
            )
    maps = [o for o in objs if o.get("kind") == "ConfigMap"]
    if not maps:
        return CheckResult(
            name,
            False,
            "the chart lints, but renders no ConfigMap any more.",
            "keep the ConfigMap; only close what is open",
        )
    data = maps[0].get("data") or {}
    missing = [k for k in ("ENVIRONMENT", "DB_HOST", "DB_PORT") if k not in data]
    if missing:
        return CheckResult(
            name,
            False,
            f"the ConfigMap renders, but lacks {missing}.",
            "the range over .Values.config must write one key per value",
        )
    return CheckResult(name, True, f"helm lint passes and the ConfigMap has {sorted(data)}.")


_EXERCISE_OVERLAY = "staging"


@exercise("07-overlay")
def _check_overlay(answer: Any) -> CheckResult:
    """Part 7: a ``kustomization.yaml`` for overlay ``staging``: the base, namespace staging, 3 replicas, tag 0.2.0."""
    import yaml

    import course_lib.cluster as kc

    name = "07-overlay"
    if not isinstance(answer, str) or not answer.strip():
        return CheckResult(
            name,
            False,
            "the answer should be the kustomization.yaml text as a string.",
            "start with apiVersion: kustomize.config.k8s.io/v1beta1",
        )
    try:
        doc = yaml.safe_load(answer)
    except yaml.YAMLError as exc:
        return CheckResult(name, False, f"that is not valid YAML: {str(exc).splitlines()[0]}", "check the indentation")
    if not isinstance(doc, dict) or "../../base" not in [str(r).rstrip("/") for r in doc.get("resources") or []]:
        return CheckResult(
            name,
            False,
            "the overlay does not include the base.",
            "an overlay lists the base under resources, as a relative path",
        )
    with tempfile.TemporaryDirectory(prefix="course-07-") as tmp:
        tree = write_kustomize_tree(tmp)
        folder = tree.root / "overlays" / _EXERCISE_OVERLAY
        folder.mkdir()
        (folder / "kustomization.yaml").write_text(answer)
        try:
            objs = kc.kustomize_build(folder)
        except CourseError as exc:
            return CheckResult(
                name,
                False,
                f"kustomize rejected it: {exc.message.splitlines()[0]}",
                "read kustomize's message: it names the field it could not use",
            )
    deployments = [o for o in objs if o.get("kind") == "Deployment"]
    if not deployments:  # pragma: no cover - the base always has one
        return CheckResult(name, False, "the build has no Deployment.", "include the base")
    dep = deployments[0]
    namespaces = sorted({(o.get("metadata") or {}).get("namespace") or "(none)" for o in objs})
    if namespaces != ["staging"]:
        return CheckResult(
            name,
            False,
            f"the objects are in namespace(s) {namespaces}, not staging.",
            "one transformer field sets the namespace of every object",
        )
    replicas = dep["spec"].get("replicas")
    if replicas != 3:
        return CheckResult(
            name,
            False,
            f"the Deployment has {replicas} replicas, not 3.",
            "a `replicas:` entry (name + count) or a patch changes it",
        )
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    if not image.endswith(":0.2.0"):
        return CheckResult(
            name,
            False,
            f"the container image is {image!r}, not tag 0.2.0.",
            "the `images:` transformer matches the image by name and sets newTag",
        )
    return CheckResult(name, True, f"staging: 3 replicas of {image}, built by kubectl kustomize.")


# --- the registry (``course validate``) -----------------------------------------------------------------


def _kustomize_overlay(overlay: str) -> list[dict[str, Any]]:
    """Build one overlay of the course tree with the real ``kubectl kustomize`` (for the manifest registry)."""
    import course_lib.cluster as kc

    with tempfile.TemporaryDirectory(prefix="course-07-") as tmp:
        return kc.kustomize_build(write_kustomize_tree(tmp).overlay(overlay))


def _register() -> None:
    from ..manifests import register, registered

    def builder(overlay: str) -> Callable[[Mapping[str, str]], list[dict[str, Any]]]:
        return lambda _labels: _kustomize_overlay(overlay)

    for overlay in ("dev", "prod"):
        name = f"07/checkout-{overlay}"
        if name not in registered():
            register(name, builder(overlay))


_register()
