"""A part's first cell stops what earlier parts left running and it does not use (``cl.start(part=N)``)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

import course_lib as cl
from course_lib import parts, pins
from course_lib.errors import ConfigError
from course_lib.sandbox import _ondemand, _services
from course_lib.sandbox import _process as proc
from course_lib.sandbox._stack import _locked


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COURSE_KEEP_SERVICES", raising=False)
    return tmp_path / "state"


def _start_demo_group(group: str) -> int:
    port = proc.free_port()
    argv = [sys.executable, "-m", "course_lib.sandbox._checkout", "--port", str(port), "--version", "v1"]
    child = _ondemand.Child(f"{group}-app", argv, f"http://127.0.0.1:{port}/healthz")
    with _locked():
        entry, _ = _ondemand.start_group(group, [child], inputs={}, endpoints={}, timeout=20)
    return int(entry["children"][0]["pid"])


def test_a_part_stops_the_services_of_other_parts_and_keeps_its_own(state_dir: Path) -> None:
    traefik_pid = _start_demo_group("traefik")  # Part 4's group name, here a small real HTTP server
    other_pid = _start_demo_group("kyverno")
    assert _services.running() == ["kyverno", "traefik"]

    session = cl.start(part=4, target="sandbox")  # Part 4 uses Traefik, not Kyverno

    assert session.released == ("kyverno",)
    assert proc.is_running(traefik_pid) and not proc.is_running(other_pid)
    assert _services.running() == ["traefik"]
    assert cl.start(part=6, target="sandbox").released == ("traefik",)
    assert not proc.is_running(traefik_pid) and _services.running() == []


def test_the_welcome_and_cleanup_parts_and_a_side_by_side_run_keep_everything(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _start_demo_group("traefik")
    assert cl.start(part=0, target="sandbox").released == ()
    assert cl.start(part=11, target="sandbox").released == ()
    monkeypatch.setenv("COURSE_KEEP_SERVICES", "1")
    assert cl.start(part=6, target="sandbox").released == ()
    assert cl.start(target="sandbox").released == ()  # no part given: nothing is stopped
    assert proc.is_running(pid)
    with urllib.request.urlopen(_ondemand.recorded("traefik")["children"][0]["ready_url"]) as resp:  # noqa: S310
        assert resp.status == 200
    _ondemand.stop_group("traefik")


def test_a_cluster_target_never_stops_sandbox_services(state_dir: Path, tmp_path: Path) -> None:
    pid = _start_demo_group("traefik")
    assert cl.start(part=6, target="kubeconfig").released == ()
    assert proc.is_running(pid)
    _ondemand.stop_group("traefik")


@pytest.mark.parametrize("bad", [12, -1, "4", True])
def test_an_unknown_part_is_refused_before_anything_stops(state_dir: Path, bad: object) -> None:
    pid = _start_demo_group("traefik")
    with pytest.raises(ConfigError, match="there is no part"):
        cl.start(part=bad, target="sandbox")  # type: ignore[arg-type]
    assert proc.is_running(pid)
    _ondemand.stop_group("traefik")


def test_every_part_has_needs_and_they_name_known_tools_and_services() -> None:
    from course_lib import tools

    known_tools = set(tools.read_pins()["TOOLS"].split())
    assert sorted(parts.PARTS) == list(range(12))
    for number, needs in parts.PARTS.items():
        assert set(needs.tools) <= known_tools, number
        assert set(parts.tools_for([number])) <= known_tools
    assert parts.tools_for([7]) == ["etcd", "helm", "kubernetes", "kwok"]
    assert parts.tools_for([1]) == ["tofu"]  # Part 1 needs no control plane
    assert {"argocd", "traefik", "kyverno"} <= set(parts.tools_for(range(12)))


def test_only_parts_that_run_argo_cd_hold_its_crds(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    idle = {n: cl.start(part=n, target="sandbox")._idle_crd_projects() for n in parts.PARTS}
    assert {n for n, projects in idle.items() if projects == ("Argo CD",)} == {1, 3, 4, 5, 6, 7, 8}
    assert idle[10] == idle[0] == idle[11] == ()  # 0 and 11 keep whatever is there
    others = {s.project for s in pins.UPSTREAM_CRDS} - {"Argo CD", "Sealed Secrets"}
    assert set(idle[2]) == set(idle[9]) == others and len(idle[2]) == len(others)  # Argo CD's and the seals' only
    assert cl.start(target="sandbox")._idle_crd_projects() == ()  # no part: every CRD
    monkeypatch.setenv("COURSE_KEEP_SERVICES", "1")
    assert cl.start(part=3, target="sandbox")._idle_crd_projects() == ()


def test_no_control_plane_no_crds_to_give_back(state_dir: Path) -> None:
    assert _services.release_crds(keep=set()) == ()
    assert _services.release_crds(keep={"argocd"}) == ()
