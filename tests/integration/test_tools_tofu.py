"""The real OpenTofu (built by `make tools`), offline: fmt, init from a filesystem mirror, validate, plan."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from course_lib import iac, tools
from course_lib.errors import ConfigError, ToolError
from course_lib.provision import ClusterSpec, NodePool, write_terraform

pytestmark = pytest.mark.integration

_tofu_missing = pytest.mark.skipif(not tools.available("tofu"), reason="tofu is not built: run `make tools`")


def needs_tofu(test: Any) -> Any:
    """Mark a test as needing `tofu` from `make tools` (skipped without it)."""
    return pytest.mark.tools(_tofu_missing(test))


_do_provider = iac.provider_mirror_path()
needs_do_provider = pytest.mark.skipif(
    not _do_provider.is_file(),
    reason=f"the DigitalOcean provider is not in the mirror ({_do_provider}): the Go module proxy does not serve it",
)

SPEC = ClusterSpec(name="course-tofu", node_pools=(NodePool(size="s-4vcpu-8gb", count=3),))

BUILTIN_PROJECT = """\
variable "node_size" {
  type = string
}

variable "node_count" {
  type    = number
  default = 2
}

resource "terraform_data" "node_pool" {
  input = {
    size  = var.node_size
    count = var.node_count
  }
}

output "pool" {
  value = terraform_data.node_pool.input
}
"""


def test_dummy_token_is_obviously_fake() -> None:
    assert not re.fullmatch(r"dop_v1_[0-9a-f]{64}", iac.DUMMY_TOKEN)
    assert "no-real-token" in iac.DUMMY_TOKEN


def test_cli_config_lists_only_the_mirror(tmp_path: Path) -> None:
    text = iac.cli_config(mirror=tmp_path)
    assert "filesystem_mirror" in text and str(tmp_path) in text
    assert "direct" not in text and "network_mirror" not in text


def test_mirror_layout(tmp_path: Path) -> None:
    path = iac.provider_mirror_path("digitalocean/digitalocean", "2.99.1", mirror=tmp_path)
    assert path.relative_to(tmp_path).parts == (
        "registry.opentofu.org",
        "digitalocean",
        "digitalocean",
        "2.99.1",
        "linux_amd64",
        "terraform-provider-digitalocean_v2.99.1",
    )
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert iac.mirrored_providers(mirror=tmp_path) == ["registry.opentofu.org/digitalocean/digitalocean 2.99.1"]


def test_offline_project_is_the_digitalocean_part_only(tmp_path: Path) -> None:
    out = iac.offline_project(SPEC, tmp_path, k8s_version="1.34.1-do.0")
    assert sorted(p.name for p in out.glob("*.tf")) == ["main.tf", "outputs.tf", "providers.tf", "variables.tf"]
    providers = (out / "providers.tf").read_text()
    assert "digitalocean/digitalocean" in providers
    assert "hashicorp/helm" not in providers and "hashicorp/kubernetes" not in providers
    main = (out / "main.tf").read_text()
    assert "data." not in main and "var.k8s_version" in main
    assert '"1.34.1-do.0"' in (out / "variables.tf").read_text()


def test_offline_project_wants_a_full_slug(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="slug"):
        iac.offline_project(SPEC, tmp_path, k8s_version="latest")


def test_plan_refuses_secret_variables(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BUILTIN_PROJECT)
    with pytest.raises(ConfigError, match="secret"):
        iac.plan(tmp_path, variables={"do_token": "x"})


@needs_tofu
def test_tofu_reports_the_pinned_release() -> None:
    out = tools.run("tofu", ["version"]).stdout
    pinned = tools.read_pins()["TOFU_VERSION"]
    assert f"OpenTofu {pinned}" in out.splitlines()  # no "-dev": the build stamps version.dev=no
    assert "-dev" not in out


@needs_tofu
def test_generated_terraform_is_in_canonical_format(tmp_path: Path) -> None:
    whole = write_terraform(SPEC, tmp_path / "whole")
    assert iac.fmt_check(whole.directory).ok
    offline = iac.offline_project(SPEC, tmp_path / "offline", k8s_version="1.34.1-do.0")
    assert iac.fmt_check(offline).ok


@needs_tofu
def test_fmt_check_finds_bad_layout_and_syntax(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "a" {\ntype=string\n}\n')
    step = iac.fmt_check(tmp_path)
    assert not step.ok and "type = string" in step.output
    (tmp_path / "main.tf").write_text('variable "a" {\n  type = string\n')
    broken = iac.fmt_check(tmp_path)
    assert not broken.ok and "Error" in broken.output


@needs_tofu
def test_init_from_an_empty_mirror_fails_without_going_online(tmp_path: Path) -> None:
    project = iac.offline_project(SPEC, tmp_path / "p", k8s_version="1.34.1-do.0")
    (tmp_path / "mirror").mkdir()
    with pytest.raises(ToolError) as info:
        iac.init(project, mirror=tmp_path / "mirror")
    assert "digitalocean/digitalocean" in info.value.message
    assert "mirror" in info.value.hint
    report = iac.check(project, mirror=tmp_path / "mirror")
    assert [s.ok for s in report.steps] == [True, False] and report.plan is None
    assert report.steps_table()["says"].iloc[1].startswith("Error:")


@needs_tofu
def test_init_validate_plan_offline_with_the_builtin_provider(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BUILTIN_PROJECT)
    (tmp_path / "mirror").mkdir()
    report = iac.check(tmp_path, mirror=tmp_path / "mirror", variables={"node_size": "s-4vcpu-8gb", "node_count": 3})
    assert report.ok, report.steps_table().to_string()
    assert report.plan is not None
    pool = report.plan.resource("terraform_data.node_pool")
    assert pool.actions == ("create",)
    assert pool.after["input"] == {"size": "s-4vcpu-8gb", "count": 3}
    assert report.plan.summary == "Plan: 1 to add, 0 to change, 0 to destroy."
    assert "terraform_data.node_pool will be created" in report.plan.excerpt("terraform_data.node_pool")


@needs_tofu
def test_validate_names_the_wrong_argument(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {\n  inputs = 1\n}\n')
    (tmp_path / "mirror").mkdir()
    iac.init(tmp_path, mirror=tmp_path / "mirror")
    with pytest.raises(ToolError, match="Unsupported argument"):
        iac.validate(tmp_path, mirror=tmp_path / "mirror")


@needs_tofu
@needs_do_provider
def test_offline_plan_creates_the_cluster_with_the_spec_node_pool(tmp_path: Path) -> None:
    project = iac.offline_project(SPEC, tmp_path, k8s_version="1.34.1-do.0")
    report = iac.check(project)
    assert report.ok, report.steps_table().to_string()
    assert report.plan is not None
    cluster = report.plan.resource("digitalocean_kubernetes_cluster.k8s_cluster")
    assert cluster.actions == ("create",)
    pool = cluster.after["node_pool"][0]
    assert (pool["size"], pool["node_count"]) == (SPEC.node_pools[0].size, SPEC.node_pools[0].count)
