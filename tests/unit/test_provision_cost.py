"""Cost estimates, the cost guard, tables, figures and session cost (snapshot prices, no network)."""

from __future__ import annotations

import math

import pytest

from course_lib.errors import ConfigError, CostLimitError
from course_lib.provision import (
    ClusterSpec,
    NodePool,
    check_cost,
    cost_figure,
    estimate_cost,
    session_cost,
    snapshot_options,
)


@pytest.fixture
def opts():  # type: ignore[no-untyped-def]
    return snapshot_options()


def test_estimate_rows_follow_prices(opts) -> None:  # type: ignore[no-untyped-def]
    spec = ClusterSpec.single_pool("course-ada", size="s-4vcpu-8gb", count=3, ha=True)
    est = estimate_cost(spec, load_balancers=2, volumes_gb=25, options=opts)
    size = opts.size("s-4vcpu-8gb")
    by_item = {r.item.split(":")[0].split(" (")[0]: r for r in est.rows}
    assert by_item["nodes"].hourly == pytest.approx(3 * size.price_hourly)
    assert by_item["nodes"].monthly == pytest.approx(3 * size.price_monthly)
    assert by_item["HA control plane"].monthly == pytest.approx(opts.ha_control_plane.price_monthly)
    assert by_item["load balancers"].monthly == pytest.approx(2 * opts.load_balancer.price_monthly)
    assert by_item["volumes"].monthly == pytest.approx(25 * opts.volume_gib.price_monthly)
    assert est.daily == pytest.approx(est.hourly * 24)
    assert est.monthly == pytest.approx(sum(r.monthly for r in est.rows))
    assert est.max_hourly == pytest.approx(est.hourly)  # no autoscaling: worst case is the normal case


def test_no_ha_no_addons_rows(opts) -> None:  # type: ignore[no-untyped-def]
    est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=0, volumes_gb=0, options=opts)
    assert [r.item for r in est.rows] == ["nodes: worker-pool (s-2vcpu-4gb)"]
    assert est.monthly == pytest.approx(48.0)


def test_autoscale_worst_case_and_guard(opts) -> None:  # type: ignore[no-untyped-def]
    pool = NodePool(size="s-2vcpu-4gb", count=1, auto_scale=True, min_nodes=1, max_nodes=10)
    est = estimate_cost(
        ClusterSpec(name="course-ada", node_pools=(pool,)), load_balancers=0, volumes_gb=0, options=opts
    )
    assert est.max_hourly == pytest.approx(10 * opts.size("s-2vcpu-4gb").price_hourly)
    assert est.hourly < est.max_hourly
    with pytest.raises(CostLimitError, match=r"up to \$0\.357") as info:
        check_cost(est, max_hourly_cost=0.30)
    assert "max_nodes" in info.value.hint
    assert check_cost(est, max_hourly_cost=0.40) is est


def test_table_and_figure(opts) -> None:  # type: ignore[no-untyped-def]
    est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=1, volumes_gb=10, options=opts)
    table = est.table()
    assert list(table.columns) == ["item", "quantity", "unit", "usd_per_hour", "usd_per_day", "usd_per_month"]
    assert table.iloc[-1]["item"] == "total"
    assert table.iloc[-1]["usd_per_month"] == pytest.approx(round(est.monthly, 2))
    assert math.isclose(table.iloc[:-1]["usd_per_month"].sum(), est.monthly, abs_tol=0.02)
    fig = cost_figure(est, period="day")
    assert list(fig.data[0].y) == pytest.approx([r.daily for r in est.rows])
    assert "USD per day" in fig.layout.yaxis.title.text
    assert "2026" in str(est) or est.source == "live"


def test_negative_addons_rejected(opts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="must not be negative"):
        estimate_cost(ClusterSpec(name="course-ada"), load_balancers=-1, options=opts)


def test_session_cost(opts) -> None:  # type: ignore[no-untyped-def]
    est = estimate_cost(ClusterSpec.single_pool("course-ada", count=2), load_balancers=0, volumes_gb=0, options=opts)
    cost = session_cost(est, created_at="2026-11-26T08:00:00Z", until="2026-11-26T10:30:00Z")
    assert cost.hours == pytest.approx(2.5)
    assert cost.usd == pytest.approx(round(2.5 * est.hourly, 2))
    # minimum charge: $0.01 per node
    tiny = session_cost(est, created_at="2026-11-26T08:00:00Z", until="2026-11-26T08:00:30Z")
    assert tiny.usd == pytest.approx(0.02)
    # capped at 672 hours a month
    long = session_cost(est, created_at="2026-01-01T00:00:00Z", until="2026-03-01T00:00:00Z")
    assert long.hours == 672
    with pytest.raises(ConfigError, match="before its start"):
        session_cost(est, created_at="2026-11-26T10:00:00Z", until="2026-11-26T09:00:00Z")
    with pytest.raises(ConfigError, match="ISO 8601"):
        session_cost(est, created_at="yesterday")
