"""Part 8: PITR reasoning, failover, connections, sandbox CRDs, costs and the recovery-target exercise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from course_lib import ConfigError, check, plots
from course_lib import manifests as m
from course_lib import postgres as pg


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def catalog() -> pg.BackupCatalog:
    return pg.example_catalog()


def test_example_catalog_has_daily_backups_and_a_wal_window(catalog: pg.BackupCatalog) -> None:
    assert [b.started.day for b in catalog.backups] == list(range(19, 27))
    assert all(b.completed - b.started == timedelta(minutes=20) for b in catalog.backups)
    assert catalog.wal_end == pg.EXAMPLE_NOW - timedelta(minutes=5)
    assert catalog.wal_start == catalog.backups[0].started


def test_windows_are_cut_by_the_wal_gap(catalog: pg.BackupCatalog) -> None:
    assert catalog.windows() == [(_t(19, 3, 20), _t(22, 9)), (_t(23, 3, 20), _t(26, 11, 55))]
    no_gap = pg.example_catalog(gap=None)
    assert no_gap.windows() == [(_t(19, 3, 20), _t(26, 11, 55))]


@pytest.mark.parametrize(
    ("target", "ok", "backup"),
    [
        ("2026-11-25T16:30:00Z", True, "backup-20261125"),
        ("2026-11-22T08:59:00+00:00", True, "backup-20261122"),
        ("2026-11-23T03:10:00Z", False, None),  # after the gap, before the next backup completed
        ("2026-11-22T12:00:00Z", False, None),  # inside the gap
        ("2026-11-26T11:58:00Z", False, None),  # newer than the archived WAL
        ("2026-11-19T03:10:00Z", False, None),  # first backup not complete yet
    ],
)
def test_check_recovery_target(catalog: pg.BackupCatalog, target: str, ok: bool, backup: str | None) -> None:
    verdict = pg.check_recovery_target(target, catalog)
    assert verdict.recoverable is ok
    assert verdict.backup == backup
    if ok:
        assert verdict.replay is not None and verdict.replay > timedelta(0)


def test_reasons_name_the_problem(catalog: pg.BackupCatalog) -> None:
    assert "archived only up to" in pg.check_recovery_target("2026-11-26T11:58:00Z", catalog).reason
    assert "missing" in pg.check_recovery_target("2026-11-22T12:00:00Z", catalog).reason
    assert "before the first" in pg.check_recovery_target("2026-11-18T00:00:00Z", catalog).reason


@pytest.mark.parametrize("bad", ["2026-11-25 16:30", "yesterday", 12])
def test_recovery_target_needs_an_aware_timestamp(catalog: pg.BackupCatalog, bad: object) -> None:
    with pytest.raises(ConfigError) as exc:
        pg.check_recovery_target(bad, catalog)  # type: ignore[arg-type]
    assert exc.value.hint


def test_pitr_figure_has_backups_wal_gap_and_target(catalog: pg.BackupCatalog) -> None:
    fig = plots.pitr_figure(catalog, target="2026-11-25T16:30:00Z")
    names = [t.name for t in fig.data]
    assert {"archived WAL", "WAL gap", "recoverable", "base backup"} <= set(names)
    markers = next(t for t in fig.data if t.name == "base backup")
    assert len(markers.x) == len(catalog.backups)
    assert fig.layout.shapes[0].line.color == "#1a7f37"  # recoverable target drawn green
    bad = plots.pitr_figure(catalog, target="2026-11-22T12:00:00Z")
    assert bad.layout.shapes[0].line.color == "#cf222e"


def test_failover_promotes_least_lagging_replica() -> None:
    result = pg.simulate_failover("db", instances=3, replica_lag_bytes=[4096, 0])
    assert result.promoted == "db-3"
    assert dict((s, a) for s, _, a in result.endpoints)["db-rw"] == "db-3"
    assert result.table().set_index("instance").loc["db-1", "after"] == "replica (rebuilt)"
    assert pg.simulate_failover("db", instances=2).promoted == "db-2"
    with pytest.raises(ConfigError):
        pg.simulate_failover("db", instances=1)
    with pytest.raises(ConfigError):
        pg.simulate_failover("db", instances=3, replica_lag_bytes=[1])


def test_connection_strings_and_app_deployment_validate() -> None:
    assert pg.connection_string(via="rw") == "postgresql://app@production-db-rw.database.svc:5432/app"
    assert "@pooler-rw." in pg.connection_string(via="pooler")
    with pytest.raises(ConfigError):
        pg.connection_string(via="primary")  # type: ignore[arg-type]
    app = pg.app_deployment()
    env = {e["name"]: e for e in app["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_HOST"]["value"] == "pooler-rw"
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "production-db-app", "key": "password"}
    assert m.validate([app]).ok


def test_install_commands_pin_versions() -> None:
    text = str(pg.install_commands(version="1.30.0", chart_version="0.29.0"))
    assert "--version 0.29.0" in text and "cnpg-1.30.0.yaml" in text and "release-1.30" in text
    with pytest.raises(ConfigError):
        pg.install_commands(version="latest")


def test_sandbox_prerequisites_cover_custom_kinds_and_namespaces() -> None:
    objs = [*m.render("08/backup-credentials"), *m.render("08/production-db"), *m.render("10/root-app")]
    pre = pg.sandbox_prerequisites(objs)
    crds = {o["metadata"]["name"]: o for o in pre if o["kind"] == "CustomResourceDefinition"}
    assert set(crds) == {
        "clusters.postgresql.cnpg.io",
        "externalsecrets.external-secrets.io",
        "clustersecretstores.external-secrets.io",
        "applications.argoproj.io",
    }
    assert crds["clustersecretstores.external-secrets.io"]["spec"]["scope"] == "Cluster"
    assert crds["clusters.postgresql.cnpg.io"]["spec"]["scope"] == "Namespaced"
    assert [o["metadata"]["name"] for o in pre if o["kind"] == "Namespace"] == ["argocd"]  # database is in objs
    assert m.validate(pre).ok
    assert pg.sandbox_crds([{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy"}])[0]["metadata"]["name"] == (
        "clusterpolicies.kyverno.io"
    )
    assert pg.sandbox_crds([{"apiVersion": "apps/v1", "kind": "Deployment"}]) == []


def test_setup_costs_grow_with_retention_and_instances() -> None:
    small = pg.setup_costs(instances=3, storage_gb=10)
    total = small.set_index("item").loc["total", "usd_per_month"]
    assert total == pytest.approx(3.0 + 5.0)  # 30 GiB of volumes + the Spaces subscription
    big = pg.setup_costs(instances=5, storage_gb=100, db_size_gb=200, retention_days=30)
    extra = big.set_index("item").loc["backups + WAL kept in Spaces", "usd_per_month"]
    assert extra > 0
    with pytest.raises(ConfigError):
        pg.setup_costs(instances=-1)


def test_managed_vs_operator_and_services_tables() -> None:
    assert len(pg.managed_vs_operator()) >= 6
    assert list(pg.cluster_services("db", pooler=None).service) == ["db-rw", "db-ro", "db-r"]


# --- the exercise ---------------------------------------------------------------------------------


def test_exercise_accepts_a_target_just_before_the_accident() -> None:
    result = check("08-recovery-target", "2026-11-25T16:40:00Z")
    assert result.passed, result.message
    assert check("08-recovery-target", pg.EXAMPLE_ACCIDENT - timedelta(minutes=14)).passed


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("2026-11-25T16:45:00Z", "not before the DROP"),
        ("2026-11-25T16:42:00Z", "not before the DROP"),
        ("2026-11-25T12:00:00Z", "lose 282 minutes"),
        ("2026-11-25T16:40:00", "no time zone"),
        ("not a time", "not a timestamp"),
    ],
)
def test_exercise_explains_wrong_answers(answer: str, fragment: str) -> None:
    result = check("08-recovery-target", answer)
    assert not result.passed
    assert fragment in result.message
    assert result.hint


def test_exercise_rejects_unreachable_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    late_backup = pg.example_catalog(now=_t(25, 16, 39))  # WAL archived only up to 16:34
    monkeypatch.setattr(pg._recovery, "example_catalog", lambda: late_backup)  # where the exercise looks it up
    result = check("08-recovery-target", "2026-11-25T16:40:00Z")
    assert not result.passed and "cannot be reached" in result.message


def test_orders_app_is_registered_for_course_validate() -> None:
    assert "08/orders-app" in m.registered()
    assert m.validate(m.render("08/orders-app")).ok


def test_app_deployment_passes_the_course_policy() -> None:
    """Part 5's Kyverno policy checks the *pod* securityContext; the orders app must not be blocked by it."""
    pattern = m.kyverno_disallow_root()["spec"]["rules"][0]["validate"]["pattern"]["spec"]["securityContext"]
    pod = pg.app_deployment()["spec"]["template"]["spec"]
    assert {k: pod["securityContext"].get(k) for k in pattern} == pattern
