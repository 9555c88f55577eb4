"""The pure evaluators: one selector semantics for every part, and no heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course_lib import policy, regions, sim
from course_lib.errors import ConfigError


def test_every_part_uses_the_one_selector_evaluator() -> None:
    assert policy.selector_matches is sim.selector_matches is regions.selector_matches


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (None, {"app": "web"}, True),
        ({}, {}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}, {}, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {"env": "prod"}, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {"env": "prod"}, False),
    ],
)
def test_selector_semantics(selector: dict | None, labels: dict, expected: bool) -> None:
    assert sim.selector_matches(selector, labels) is expected


def test_malformed_selectors_are_named() -> None:
    with pytest.raises(ConfigError, match="operator 'Equals' is not valid"):
        sim.selector_matches({"matchExpressions": [{"key": "a", "operator": "Equals"}]}, {})
    with pytest.raises(ConfigError, match="unknown selector field"):
        sim.selector_matches({"labels": {"a": "b"}}, {})


def test_sim_imports_neither_pandas_nor_plotly() -> None:
    code = "import sys, course_lib.sim; print(sorted(m for m in ('pandas', 'plotly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_canary_model_band_holds_about_95_percent_of_seeded_runs() -> None:
    """The model's own check: of 400 seeded runs of 1000 weighted choices at 10 %, close to 95 % land in the band."""
    low, high = sim.count_band(0.1, 1000)
    inside = sum(low <= int(sim.weighted_draws(0.1, 1000, seed=s).sum()) <= high for s in range(400))
    assert 0.91 <= inside / 400 <= 0.99


def test_the_part_4_traffic_helpers_use_the_one_canary_model() -> None:
    from course_lib import traffic

    assert traffic.binomial_band is sim.binomial_band
    assert traffic.simulate_split(25, requests=100, seed=1).band == sim.count_band(0.25, 100)
