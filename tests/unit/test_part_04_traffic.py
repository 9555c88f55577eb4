"""Part 4: canary weights, objects, simulation, the slider and the 75/25 exercise."""

from __future__ import annotations

import ipywidgets as w
import plotly.graph_objects as go
import pytest

from course_lib import plots, traffic, widgets
from course_lib.errors import ConfigError
from course_lib.exercises import check


@pytest.mark.parametrize("percent", [0, 10, 25, 100])
def test_canary_plan_builds_valid_objects_with_matching_weights(percent: int) -> None:
    plan = traffic.canary_plan(percent)
    assert plan.ok
    assert plan.weights == {"v1": 100 - percent, "v2": percent}
    kinds = [o["kind"] for o in plan.objects]
    assert kinds == ["DestinationRule", "VirtualService", "TraefikService"]
    weights = {(r["kind"], r["backend"]): r["weight"] for r in traffic.route_weights(list(plan.objects))}
    assert weights[("VirtualService", "v2")] == percent
    assert weights[("TraefikService", "checkout-v2")] == percent
    assert weights[("TraefikService", "checkout-v1")] == 100 - percent
    assert all(o["apiVersion"].startswith(("networking.istio.io/v1", "traefik.io/")) for o in plan.objects)


@pytest.mark.parametrize("bad", [-1, 101, 12.5, True, "10"])
def test_canary_weights_refuses_bad_shares(bad: object) -> None:
    with pytest.raises(ConfigError):
        traffic.canary_weights(bad)  # type: ignore[arg-type]


def test_plan_rows_show_share_and_schema_result() -> None:
    rows = traffic.canary_plan(30).rows()
    assert {r["share"] for r in rows if r["backend"] in ("v2", "checkout-v2")} == {"30%"}
    assert {r["schema"] for r in rows} == {"ok"}
    assert "canary 30%: valid" in str(traffic.canary_plan(30))


def test_simulation_is_deterministic_per_seed_and_consistent() -> None:
    a = traffic.simulate_split(10, requests=2000, seed=7)
    b = traffic.simulate_split(10, requests=2000, seed=7)
    c = traffic.simulate_split(10, requests=2000, seed=8)
    assert a.canary == b.canary and a.frame.equals(b.frame)
    assert not a.frame["backend"].equals(c.frame["backend"])
    assert a.canary == int((a.frame["backend"] == "v2").sum())
    assert a.stable + a.canary == 2000
    assert a.frame["canary_share"].iloc[-1] == pytest.approx(a.canary / 2000)


def test_simulation_lands_in_the_band_for_most_seeds() -> None:
    inside = sum(traffic.simulate_split(20, requests=500, seed=s).within_band for s in range(60))
    assert 50 <= inside <= 60  # ~95 % of runs fall inside a 95 % band


def test_extreme_shares_send_everything_one_way() -> None:
    assert traffic.simulate_split(0, requests=300).canary == 0
    assert traffic.simulate_split(100, requests=300).canary == 300


def test_binomial_band() -> None:
    low, high = traffic.binomial_band(0.1, 1000)
    assert low == pytest.approx(0.1 - 1.959964 * (0.09 / 1000) ** 0.5)
    assert high == pytest.approx(0.1 + 1.959964 * (0.09 / 1000) ** 0.5)
    assert traffic.binomial_band(0.0, 10) == (0.0, 0.0)
    with pytest.raises(ConfigError):
        traffic.binomial_band(1.5, 10)


def test_simulate_refuses_bad_request_counts() -> None:
    with pytest.raises(ConfigError):
        traffic.simulate_split(10, requests=0)


def test_split_figure_is_small_and_ends_on_the_observed_share() -> None:
    sim = traffic.simulate_split(25, requests=5000, seed=1)
    fig = plots.split_figure(sim, max_points=100)
    observed = fig.data[-1]
    assert len(observed.x) <= 100 and observed.x[-1] == 5000
    assert observed.y[-1] == pytest.approx(100 * sim.canary / 5000, abs=0.01)
    assert "25%" in fig.data[2].name


def test_slider_static_returns_figure_and_live_returns_widget() -> None:
    fig = widgets.canary_slider(initial=20, requests=200, static=True)
    assert isinstance(fig, go.Figure) and "200 requests" in fig.layout.title.text
    box = widgets.canary_slider(initial=20, requests=200, static=False)
    assert isinstance(box, w.VBox)
    box.slider.value = 40
    assert "canary 40%: valid" in box.children[1].value
    with pytest.raises(ConfigError):
        widgets.canary_slider(initial=150)


def test_install_plans() -> None:
    values = traffic.traefik_values(email="ops@example.com", resolver="le", staging=False)
    acme = values["certificatesResolvers"]["le"]["acme"]
    assert acme["email"] == "ops@example.com" and "caServer" not in acme
    assert values["persistence"]["enabled"] is True
    assert "--version 41.3.0" in traffic.traefik_install_commands()[-1]
    assert any("profile=demo" in c for c in traffic.istio_install_commands())
    assert any("istio/istiod --version 1.30.3" in c for c in traffic.istio_install_commands(method="helm"))
    with pytest.raises(ConfigError):
        traffic.traefik_values(email="not-an-address")
    with pytest.raises(ConfigError):
        traffic.istio_install_commands(method="kubectl")  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [{"v1": 75, "v2": 25}, {"v1": 3, "v2": 1}])
def test_exercise_accepts_75_25_as_relative_weights(answer: dict[str, int]) -> None:
    result = check("04-canary-75-25", answer)
    assert result.passed, result.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"v1": 25, "v2": 75}, "swapped"),
        ({"v1": 75, "v2": 20}, "add up to 95, so v2 gets 21 %"),
        ({"v1": 1, "v2": 3}, "swapped"),
        ({"v1": 0, "v2": 0}, "both weights are 0"),
        ({"v1": 50, "v2": 50}, "v2 gets 50"),
        ({"stable": 75, "canary": 25}, "subsets"),
        ({"v1": 75.0, "v2": 25}, "whole numbers"),
        ("75/25", "not a dict"),
    ],
)
def test_exercise_explains_wrong_answers(answer: object, says: str) -> None:
    result = check("04-canary-75-25", answer)
    assert not result.passed
    assert says in result.message and result.hint
