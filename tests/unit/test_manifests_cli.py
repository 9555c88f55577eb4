"""``course validate``: exit codes, table output, --file, --schemas, and a failing registered manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from course_lib import manifests as m
from course_lib.cli import cli
from course_lib.manifests import _registry

BAD_YAML = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {colour: blue}
---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata: {name: old-route}
spec: {routes: [{match: "Host(`a`)", kind: Rule}]}
"""


def _run(*args: str, input: str | None = None):  # noqa: A002 - click's name
    return CliRunner().invoke(cli, ["validate", *args], input=input)


def test_validate_everything_passes() -> None:
    result = _run()
    assert result.exit_code == 0, result.output
    total = sum(len(objs) for objs in m.render_all().values())
    assert f"{total}/{total} objects valid" in result.output
    assert any(line.split()[:1] == ["Pooler"] and line.split()[-1] == "ok" for line in result.output.splitlines())


def test_a_broken_registered_manifest_fails_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))

    def broken(labels):
        pooler = m.cnpg_pooler("broken-pooler", labels=labels)
        del pooler["spec"]["pgbouncer"]
        return pooler

    m.register("99/broken", broken)
    result = _run("--quiet")
    assert result.exit_code == 1
    assert "Pooler database/broken-pooler: FAIL" in result.output
    assert "spec: 'pgbouncer' is a required property" in result.output
    assert "Deployment" not in result.output  # quiet: passing objects are not listed


def test_file_with_errors_exits_1_and_names_object_and_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_YAML)
    result = _run("--file", str(path))
    assert result.exit_code == 1
    assert "'colour' was unexpected" in result.output
    assert "old-route" in result.output and "use traefik.io/v1alpha1" in result.output
    assert "0/2 objects valid" in result.output


def test_good_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(m.to_yaml(m.checkout_app()))
    assert _run("--file", str(path)).exit_code == 0
    result = _run("--file", "-", input=m.to_yaml(m.kyverno_disallow_root()))
    assert result.exit_code == 0 and "ClusterPolicy" in result.output


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (("--file", "{tmp}/missing.yaml"), None, "cannot read"),
        (("--file", "{tmp}/broken.yaml"), "a: [1, 2\n", "not valid YAML"),
        (("--file", "{tmp}/empty.yaml"), "---\n", "no Kubernetes objects"),
        (("--kube-version", "0.9"), None, "not a version kubernetes-validate knows"),
    ],
)
def test_unusable_input_exits_2(tmp_path: Path, args: tuple[str, ...], content: str | None, message: str) -> None:
    if content is not None:
        Path(args[1].format(tmp=tmp_path)).write_text(content)
    result = _run(*(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_schemas_listing() -> None:
    result = _run("--schemas")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(m.crd_schemas())
    assert any("postgresql.cnpg.io/v1" in line and "v1.30.0" in line for line in lines)


def test_validate_names_the_validator_of_each_kind() -> None:
    result = _run()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["KIND", "VALIDATED", "BY"])
    end = next(i for i, line in enumerate(lines) if "objects valid" in line)
    by_kind = dict(line.split(None, 1) for line in lines[start + 1 : end])
    assert by_kind["Deployment"] == "kubernetes-validate (strict)"
    assert by_kind["Application"] == "authored schema (data/crds, from Argo CD v3.5.1)"
    assert by_kind["Cluster"] == "authored schema (data/crds, from CloudNativePG v1.30.0)"
    rendered = {o["kind"] for objs in m.render_all().values() for o in objs}
    assert set(by_kind) == rendered  # every kind the course renders is listed, and with one validator
