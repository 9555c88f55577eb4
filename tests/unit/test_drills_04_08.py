"""The drills of parts 04 (a route Traefik will not build), 08 (WAL replay paused on a replica) and 09 (a cluster
label that drifted), offline: what they would create, and that a target that cannot run them gets nothing created
and a reason. They run for real in tests/integration/test_drills_traffic.py, _postgres.py and _regions.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from course_lib import drills, manifests, solutions
from course_lib.cluster import connect
from course_lib.config import using_state_dir
from course_lib.drills import _postgres as pg_drill
from course_lib.drills import _traffic as traffic_drill


@dataclass
class FakeCapabilities:
    live_api: bool = True
    local_stack: bool = True
    disposable: bool = True
    controllers: frozenset[str] = frozenset({"traefik"})

    def runs(self, name: str) -> bool:
        return name in self.controllers


@dataclass
class FakeSession:
    cluster: Any = field(default_factory=lambda: connect("sandbox", dry_run=True))
    capabilities: FakeCapabilities = field(default_factory=FakeCapabilities)
    target: str = "sandbox"
    settings: Any = None


@pytest.fixture(autouse=True)
def own_state(tmp_path: Path):
    with using_state_dir(tmp_path):
        yield


def test_the_broken_route_is_schema_valid_and_names_a_port_its_service_lacks() -> None:
    objects = traffic_drill.RouteWrongPort(FakeSession()).objects(41234)  # type: ignore[arg-type]
    kinds = {o["kind"]: o for o in objects}
    assert manifests.validate(objects).ok  # offline validation cannot catch it: only the live route shows it
    service, route, slice_ = kinds["Service"], kinds["IngressRoute"], kinds["EndpointSlice"]
    assert "selector" not in service["spec"]  # no pod can join it: only the loopback endpoint
    assert slice_["endpoints"][0]["addresses"] == ["127.0.0.1"] and slice_["ports"][0]["port"] == 41234
    backend = route["spec"]["routes"][0]["services"][0]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"] not in {p["port"] for p in service["spec"]["ports"]}
    fixed = traffic_drill.RouteWrongPort(FakeSession()).objects(41234, route_port=80)  # type: ignore[arg-type]
    assert fixed[-1]["spec"]["routes"][0]["services"][0]["port"] == service["spec"]["ports"][0]["port"]


def test_the_route_drill_without_traefik_or_an_api_server_creates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib import tools

    session = FakeSession()
    run = drills.start("04-route-wrong-port", session)  # type: ignore[arg-type]
    assert run.unavailable  # a dry-run cluster, or no Traefik built: either way nothing was applied
    assert not session.cluster._applied
    monkeypatch.setattr(tools, "find", lambda name: None)
    assert "make tools" in traffic_drill.RouteWrongPort(session).unavailable()  # type: ignore[arg-type]
    session.capabilities.controllers = frozenset()
    run = drills.start("04-route-wrong-port", session)  # type: ignore[arg-type]
    assert "a running traefik" in run.unavailable and not run.check().attempted


def test_the_replay_drill_needs_the_sandbox_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    from course_lib.sandbox import _postgres

    session = FakeSession(capabilities=FakeCapabilities(local_stack=False))
    run = drills.start("08-wal-replay-paused", session)  # type: ignore[arg-type]
    assert "CloudNativePG" in run.unavailable and not run.check().attempted
    monkeypatch.setattr(_postgres, "missing_programs", lambda: ["pgbouncer"])
    reason = pg_drill.WalReplayPaused(FakeSession()).unavailable()  # type: ignore[arg-type]
    assert "pgbouncer" in reason and "make setup" in reason


def test_each_fix_uses_the_tool_of_the_job() -> None:
    route = solutions.load(4)["04-route-wrong-port"].code
    assert "kubectl -n drill-04 patch ingressroute shop" in route and "/spec/routes/0/services/0/port" in route
    replay = solutions.load(8)["08-wal-replay-paused"].code
    assert "pg_wal_replay_resume()" in replay and "pg_wal_replay_pause()" not in replay


def test_the_drifted_fleet_leaves_fra1_out_and_the_relabelled_one_picks_both_production_clusters() -> None:
    from course_lib import regions as rg
    from course_lib.drills import _regions

    session = FakeSession()
    objects = _regions.ClusterLabelDrift(session).objects()  # type: ignore[arg-type]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    appset = next(o for o in objects if o["kind"] == "ApplicationSet")
    assert all(s["stringData"]["server"].startswith("https://127.0.0.1:") for s in secrets)  # nothing leaves
    assert {o["metadata"].get("namespace") for o in objects[1:]} == {"drill-09"}  # no Argo CD looks there
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]
    assert rg.match_clusters(selector, secrets) == ["prod-nyc1"]
    drifted = next(s for s in secrets if s["metadata"]["name"] == _regions.DRIFTED)
    drifted["metadata"]["labels"]["env"] = "production"
    assert tuple(rg.match_clusters(selector, secrets)) == _regions.WANTED
    assert manifests.validate(objects).ok


def test_the_label_drift_drill_runs_on_the_course_control_plane_only() -> None:
    session = FakeSession()
    session.capabilities.disposable = False
    run = drills.start("09-cluster-label-drift", session)  # type: ignore[arg-type]
    assert "own control plane" in run.unavailable and not session.cluster._applied
