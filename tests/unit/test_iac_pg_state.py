"""Part 1's pg-backend project: the files it writes and how a step's output is searched (no tofu needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib import iac
from course_lib.errors import ConfigError


def test_the_project_keeps_its_state_in_postgresql_and_uses_a_local_module(tmp_path: Path) -> None:
    conn = "postgres://app@127.0.0.1:5432/app?sslmode=disable"
    path = iac.pg_state_project(tmp_path, conn_str=conn, schema="course_state", cluster="course-ada")
    main = (path / "main.tf").read_text()
    assert 'backend "pg"' in main and f'conn_str    = "{conn}"' in main and 'schema_name = "course_state"' in main
    assert 'source  = "./modules/node_pool"' in main and '"course-ada"' in main
    assert 'resource "terraform_data" "node"' in (path / "modules" / "node_pool" / "main.tf").read_text()
    assert "required_providers" not in main and 'provider "' not in main  # built-in resources only: no download


@pytest.mark.parametrize("schema", ["Course", "a;drop", ""])
def test_a_schema_that_is_not_a_plain_identifier_is_refused(tmp_path: Path, schema: str) -> None:
    with pytest.raises(ConfigError, match="schema"):
        iac.pg_state_project(tmp_path, conn_str="postgres://x", schema=schema)


def test_grep_returns_the_matching_lines_only() -> None:
    step = iac.TofuStep("apply", True, "a\n  Apply complete! Resources: 1 added\nb", 0.1)
    assert step.grep("Apply complete") == "Apply complete! Resources: 1 added"
    assert step.grep("nothing") == ""
