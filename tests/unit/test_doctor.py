"""``course doctor``: every check says what is missing and how to fix it, and never shows the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from course_lib import _doctor
from course_lib.cli import cli
from tests.conftest import make_exe


def test_version_is_the_first_line_that_has_one(tmp_path: Path) -> None:
    noisy = make_exe(
        tmp_path / "tofu", "echo 'Warning: Unable to open CLI configuration file'\necho 'OpenTofu v1.12.6'"
    )
    assert _doctor._version(str(noisy), "version") == "v1.12.6"
    plain = make_exe(tmp_path / "etcd", "echo 'etcd Version: 3.6.16' >&2")
    assert _doctor._version(str(plain), "--version") == "3.6.16"
    silent = make_exe(tmp_path / "quiet", "echo 'no number here'")
    assert _doctor._version(str(silent), "--version") == "no number here"


def test_a_program_without_a_version_flag_is_not_run_its_build_stamp_is_read(tmp_path: Path) -> None:
    program = make_exe(tmp_path / "kyverno-0123" / "bin" / "controller", f"touch {tmp_path / 'ran'}")
    (tmp_path / "kyverno-0123" / "VERSION").write_text("v1.19.1\n")
    assert _doctor._version(str(program), "") == "v1.19.1"
    (tmp_path / "kyverno-0123" / "VERSION").unlink()
    assert _doctor._version(str(program), "") == "built (no version flag)"
    assert not (tmp_path / "ran").exists()
    assert _doctor.BINARIES["kyverno-reports-controller"][3] == ""


def test_missing_binaries_name_their_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_doctor, "find_binary", lambda name: None)
    debian = _doctor._binary_check("prometheus")
    assert not debian.ok and debian.required and "apt-get install -y prometheus" in debian.fix
    built = _doctor._binary_check("kyverno")
    assert not built.ok and not built.required and "make tools" in built.fix


#: the program the doctor looks for, per tool in course_lib/data/tools/pins.env
PROGRAM_OF_TOOL = {
    "helm": "helm",
    "kubernetes": "kube-apiserver",
    "etcd": "etcd",
    "kwok": "kwokctl",
    "victorialogs": "victoria-logs",
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "kubeseal": "kubeseal",
    "tofu": "tofu",
    "kyverno": "kyverno",
    "traefik": "traefik",
    "argocd": "argocd",
    "helmfile": "helmfile",
}


def test_every_tool_make_tools_builds_is_checked() -> None:
    from course_lib import tools
    from course_lib.sandbox import _process

    only_built = {name for name, (pkg, *_rest) in _doctor.BINARIES.items() if pkg == "(make tools)"}
    assert set(tools.read_pins()["TOOLS"].split()) == set(PROGRAM_OF_TOOL), "a new tool: add it to the doctor"
    # a tool is either only built by make tools, or a newer build of a Debian program the doctor checks; the
    # sandbox's Kyverno controllers are checked beside the CLI
    also = {"kyverno-admission-controller", "kyverno-reports-controller"}
    assert also <= set(tools.binaries_of("kyverno"))
    assert set(PROGRAM_OF_TOOL.values()) | also == only_built | {"prometheus", "prometheus-alertmanager"}
    assert set(_process.GO_BUILDS) <= set(_doctor.BINARIES)


def test_metrics_programs_say_whether_they_are_the_go_build_or_debians(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    built = make_exe(tmp_path / "cache" / "tools" / "prometheus-0123456789ab" / "bin" / "prometheus", "echo x")
    debian = make_exe(tmp_path / "usr" / "bin" / "prometheus", "echo x")
    monkeypatch.setattr(_doctor, "_version", lambda path, flag: "3.13.1" if path == str(built) else "2.42.0+ds")
    monkeypatch.setattr(_doctor, "find_binary", lambda name: str(built))
    go = _doctor._binary_check("prometheus")
    assert go.ok and go.detail.startswith("3.13.1 (make tools; no web UI)") and str(built) in go.detail
    monkeypatch.setattr(_doctor, "find_binary", lambda name: str(debian))
    fallback = _doctor._binary_check("prometheus")
    assert fallback.ok and fallback.detail.startswith("2.42.0+ds (Debian fallback") and "make tools" in fallback.detail
    assert "make tools" not in _doctor._binary_check("git").detail


def test_report_verdict_and_token_stays_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "dop_v1_" + "0123456789abcdef" * 4
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", secret)
    monkeypatch.setattr(_doctor, "find_binary", lambda name: None)
    report = _doctor.doctor()
    text = str(report)
    assert secret not in text and secret not in report.table().to_string()
    assert "set (value hidden)" in text
    assert not report.ok and text.rstrip().endswith("Some required items are missing (see → lines).")
    assert {c.item for c in report.missing} >= {"prometheus", "kubectl", "git"}
    result = CliRunner().invoke(cli, ["doctor"])
    assert secret not in result.output


def test_doctor_cli_exit_code_follows_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_doctor, "find_binary", lambda name: None)
    assert CliRunner().invoke(cli, ["doctor"]).exit_code == 1
    monkeypatch.setattr(_doctor, "find_binary", lambda name: "/bin/true")
    monkeypatch.setattr(_doctor, "_version", lambda path, flag: "1.0")
    ok = CliRunner().invoke(cli, ["doctor"])
    assert ok.exit_code == 0 and "All required items are present." in ok.output
