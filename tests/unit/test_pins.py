"""One module owns every chart, application and provider version (course_lib.pins); nobody else pins one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from course_lib import pins

ROOT = Path(__file__).resolve().parents[2] / "course_lib"
VERSIONISH = re.compile(r"^v?\d+\.\d+(\.\d+)?$")
#: Version-like constants that are not pins of something a learner installs, with the reason.
NOT_PINS = {
    # the Kubernetes schema version kubernetes-validate checks built-in kinds against (a validator setting)
    ("manifests/_validate.py", "DEFAULT_KUBE_VERSION"),
    ("__init__.py", "__version__"),  # the course package's own version
}


def _assignments(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found.append((target.id, node.value.value))
    return found


def test_no_module_but_pins_holds_a_version_literal() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "pins.py":
            continue
        for name, value in _assignments(path):
            if VERSIONISH.match(value) and (rel, name) not in NOT_PINS:
                offenders.append(f"{rel}: {name} = {value!r}")
    assert not offenders, "move these pins to course_lib/pins.py: " + "; ".join(offenders)


def test_helm_charts_are_declared_only_in_pins() -> None:
    elsewhere = []
    for path in ROOT.rglob("*.py"):
        if path.name == "pins.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "HelmChart":
                elsewhere.append(path.relative_to(ROOT).as_posix())
    assert not elsewhere


def test_the_digitalocean_provider_has_one_pin() -> None:
    source, constraint = pins.PROVIDER_VERSIONS["digitalocean"]
    assert source == "digitalocean/digitalocean"
    allowed = SpecifierSet(constraint.replace("~> ", "~="))  # Terraform's ~> X.Y is PEP 440's ~= X.Y
    assert Version(pins.DIGITALOCEAN_PROVIDER_VERSION) in allowed
    assert pins.minor_constraint(pins.DIGITALOCEAN_PROVIDER_VERSION) == constraint


def test_part_modules_use_the_same_pin_objects() -> None:
    from course_lib import capstone, gitops, policy, postgres, traffic
    from course_lib.observe import _install

    assert gitops.charts()["argocd"] is pins.ARGOCD_CHART
    assert policy.charts()["kyverno"] is pins.KYVERNO_CHART
    assert pins.KYVERNO_CHART.version == capstone.KYVERNO_CHART_VERSION
    assert traffic.ISTIO_VERSION == pins.ISTIO_VERSION and postgres.CNPG_VERSION == pins.CNPG_VERSION
    assert _install.KUBE_PROMETHEUS_STACK_VERSION == pins.KUBE_PROMETHEUS_STACK_VERSION


def test_the_sandbox_prometheus_is_the_release_the_operator_runs() -> None:
    from course_lib import tools

    built = tools.read_pins()
    # Prometheus 3.x is published as Go module v0.3MM.P: v0.313.1 is Prometheus 3.13.1
    major, minor, patch = (int(x) for x in pins.PROMETHEUS_VERSION.lstrip("v").split("."))
    assert major == 3 and built["PROMETHEUS_VERSION"] == f"v0.{300 + minor}.{patch}"
    assert f"version.Version={major}.{minor}.{patch} " in built["PROMETHEUS_LDFLAGS"] + " "
    # Alertmanager: the newest release whose module builds, never newer than the operator's default
    assert Version(built["ALERTMANAGER_VERSION"]) <= Version(pins.ALERTMANAGER_VERSION)
    assert f"version.Version={built['ALERTMANAGER_VERSION'].lstrip('v')} " in built["ALERTMANAGER_LDFLAGS"] + " "
