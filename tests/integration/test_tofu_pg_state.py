"""Integration tests: OpenTofu's ``pg`` backend on the sandbox's PostgreSQL (Part 1) — state in the database, a real
plan/apply/destroy cycle on ``terraform_data`` with a local module, and a real lock conflict between two applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib import iac, sandbox, tools
from course_lib.sandbox import _postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(tools.find("tofu") is None, reason="tofu is not built (make tools)"),
    pytest.mark.skipif(not _postgres.available(), reason="needs postgresql-15 and pgbouncer (Debian packages)"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_postgres.LocalPostgres]:
    from course_lib import config

    with config.using_state_dir(tmp_path_factory.mktemp("tofu-pg-state")):
        yield _postgres.up()
        sandbox.down()


@pytest.fixture(scope="module")
def project(db: _postgres.LocalPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    conn = f"postgres://app@127.0.0.1:{db.port()}/app?sslmode=disable"
    path = iac.pg_state_project(tmp_path_factory.mktemp("tofu-pg"), conn_str=conn, schema="course_state")
    assert iac.tofu(path, "init", "-input=false").ok
    return path


def test_apply_keeps_the_state_in_postgresql(project: Path, db: _postgres.LocalPostgres) -> None:
    applied = iac.tofu(project, "apply", "-auto-approve")
    assert applied.ok and "Resources: 4 added" in applied.output, applied.output
    assert not (project / "terraform.tfstate").exists()  # nothing local: the state is a row in the database
    rows = db.query("SELECT name, length(data) AS bytes FROM course_state.states")
    assert list(rows.name) == ["default"] and int(rows.bytes[0]) > 0
    listed = iac.tofu(project, "state", "list").output.splitlines()
    assert "module.node_pool.terraform_data.node[1]" in listed and "terraform_data.cluster" in listed


def test_a_plan_after_a_change_shows_the_diff_and_destroy_empties_the_state(project: Path) -> None:
    planned = iac.tofu(project, "plan", "-var=node_count=3")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.output
    assert iac.tofu(project, "plan", "-detailed-exitcode").ok  # unchanged inputs: no diff (exit 0)


def test_a_second_apply_is_refused_while_the_first_holds_the_lock(project: Path, db: _postgres.LocalPostgres) -> None:
    conflict = iac.lock_conflict(project, db=db, hold_seconds=4)
    assert conflict.holder.ok, conflict.holder.output
    assert not conflict.refused.ok and "Error acquiring the state lock" in conflict.refused.output
    assert len(conflict.locks) >= 1 and bool(conflict.locks.granted.all())
    assert conflict.force_unlock.ok  # reports success ...
    assert not conflict.refused_again.ok  # ... but the advisory lock belongs to the first apply's session
    assert iac.tofu(project, "apply", "-auto-approve", "-lock-timeout=0s").ok  # released when the holder ended
    destroyed = iac.tofu(project, "destroy", "-auto-approve")
    assert destroyed.ok and "Resources: 4 destroyed" in destroyed.output
    assert iac.tofu(project, "state", "list").output.strip() == ""
