"""`course run` checks the parameters it can judge before any kernel starts, with the notebooks' own messages."""

from __future__ import annotations

from pathlib import Path

import pytest

import course_lib as cl
from course_lib import runner
from course_lib.params import CHECKS, check_parameters
from course_lib.provision import ClusterSpec


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"node_count": -3}, "node pool 'worker-pool' count is -3; it must be between 1 and 50"),
        ({"node_count": "two"}, "must be a whole number"),
        ({"region": "mars1"}, "region 'mars1' does not look like a DigitalOcean region slug"),
        ({"secondary_region": "Fra 1"}, "does not look like a DigitalOcean region slug"),
        ({"learner": "Ada Lovelace"}, "learner 'Ada Lovelace' is not a valid DNS-1123 label"),
        ({"namespace": "-shop"}, "is not a valid DNS-1123 label"),
        ({"canary_percent": 120}, "canary_percent is 120; it must be between 0 and 100"),
        ({"error_rate": -0.1}, "error_rate is -0.1"),
        ({"max_hourly_cost": "cheap"}, "max_hourly_cost must be a number"),
        ({"target": "aks"}, "unknown target 'aks'"),
        ({"prometheus_url": "localhost:9090"}, "must be an http:// or https:// URL"),
        ({"repo_remote": "github.com/you/gitops"}, "is not an https://, ssh://, git@host:path or file:// URL"),
        ({"repo_remote": 3}, "repo_remote must be a Git URL"),
    ],
)
def test_a_bad_value_names_the_parameter_and_says_what_the_notebook_says(params: dict, message: str) -> None:
    with pytest.raises(cl.ConfigError, match="parameter " + next(iter(params))) as info:
        check_parameters(params)
    assert message in info.value.message and info.value.hint


def test_a_remote_with_a_credential_is_refused_without_repeating_it() -> None:
    """A notebook parameter is saved with the notebook (and in the run's report): no token may go in one, and the
    refusal itself must not print it."""
    token = "ghp_" + "x" * 36
    for url in (f"https://you:{token}@github.com/you/gitops.git", f"https://{token}@github.com/you/gitops.git"):
        with pytest.raises(cl.ConfigError, match="user name or password") as info:
            check_parameters({"repo_remote": url})
        assert token not in f"{info.value.message} {info.value.hint}", info.value.message
    check_parameters({"repo_remote": "git@github.com:you/gitops.git"})
    check_parameters({"repo_remote": "ssh://git@github.com/you/gitops.git"})
    check_parameters({"repo_remote": ""})


def test_the_message_is_the_notebooks_own() -> None:
    """The notebook builds a ClusterSpec from the same parameter: the two messages agree."""
    with pytest.raises(cl.ConfigError) as notebook:
        ClusterSpec.single_pool("course-ada", count=-3)
    with pytest.raises(cl.ConfigError) as up_front:
        check_parameters({"node_count": -3})
    assert up_front.value.message.endswith(notebook.value.message)


def test_good_values_and_unknown_parameters_pass() -> None:
    check_parameters(
        {"node_count": 3, "region": "fra1", "node_size": "s-4vcpu-8gb", "learner": "ada", "seed": "anything"}
    )
    check_parameters({"prometheus_url": None, "canary_percent": 0, "dns_ttl": 60})
    assert "seed" not in CHECKS


def test_course_run_refuses_before_any_kernel_or_folder(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with pytest.raises(cl.ConfigError, match="01_infrastructure_as_code.ipynb: parameter node_count=-3"):
        runner.run_parts([1], target="sandbox", params={"node_count": -3}, out=out, progress=False)
    assert not out.exists()


def test_a_matrix_row_is_checked_and_its_learner_named(tmp_path: Path) -> None:
    matrix = tmp_path / "class.csv"
    matrix.write_text("learner,region\nada,nyc1\nbob,mars1\n")
    with pytest.raises(cl.ConfigError, match="learner 'bob', 01_infrastructure_as_code.ipynb: parameter region"):
        runner.run_parts([1], target="sandbox", matrix=matrix, out=tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs").exists()
