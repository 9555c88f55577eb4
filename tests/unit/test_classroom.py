"""``course classroom plan``: the values it writes (checked against the chart keys' schema), the node pool it sizes,
the cost guard, and bad input refused before any file is written. Prices from the dated snapshot (no token)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from course_lib.classroom import (
    LearnerResources,
    _plan,
    build_values,
    node_capacity,
    plan_classroom,
    repo2docker_command,
    split_image,
    validate_values,
)
from course_lib.cli import main
from course_lib.errors import ConfigError, CostLimitError, ValidationError
from course_lib.pins import JUPYTERHUB_CHART
from course_lib.provision import snapshot_options

IMAGE = "registry.example.com/class/k8s-course:abc123"


@pytest.fixture
def opts(no_token: None):  # type: ignore[no-untyped-def]
    return snapshot_options()


def test_learners_per_node_is_the_most_guarantees_that_fit_in_the_modelled_allocatable(opts) -> None:  # type: ignore[no-untyped-def]
    res = LearnerResources()
    for size in opts.sizes:
        cap = node_capacity(size.slug, memory_mib=size.memory_mb, vcpus=size.vcpus, resources=res)
        assert cap.allocatable_memory_mib < size.memory_mb and cap.allocatable_cpu < size.vcpus
        fits = cap.learners * res.memory_guarantee_mib <= cap.allocatable_memory_mib
        fits &= cap.learners * res.cpu_guarantee <= cap.allocatable_cpu + 1e-9
        assert fits, size.slug
        one_more = (cap.learners + 1) * res.memory_guarantee_mib > cap.allocatable_memory_mib or (
            cap.learners + 1
        ) * res.cpu_guarantee > cap.allocatable_cpu
        assert one_more, size.slug


def test_the_pool_is_the_fewest_nodes_that_hold_the_class_and_the_charts_pods(opts) -> None:  # type: ignore[no-untyped-def]
    for learners in (1, 7, 30, 100):
        plan = plan_classroom(learners, image=IMAGE, node_size="s-8vcpu-16gb", max_hourly_cost=100, options=opts)
        per_node = plan.capacity.learners
        slots = learners + math.ceil(_plan.CHART_PODS_MIB / plan.resources.memory_guarantee_mib)
        assert plan.nodes * per_node >= slots > (plan.nodes - 1) * per_node
        node_row = next(r for r in plan.estimate.rows if r.unit == "node")
        assert node_row.quantity == plan.nodes
        volume_row = next(r for r in plan.estimate.rows if r.unit == "GiB")
        assert volume_row.quantity == learners * _plan.HOME_GIB + _plan.HUB_DB_GIB


def test_without_a_node_size_the_cheapest_size_for_the_class_is_chosen(opts) -> None:  # type: ignore[no-untyped-def]
    chosen = plan_classroom(40, image=IMAGE, max_hourly_cost=100, options=opts)
    for size in opts.size_slugs:
        try:
            other = plan_classroom(40, image=IMAGE, node_size=size, max_hourly_cost=100, options=opts)
        except ConfigError:  # too small for one learner
            continue
        assert chosen.estimate.max_hourly <= other.estimate.max_hourly, size


def test_the_cost_guard_refuses_a_class_above_the_limit(opts) -> None:  # type: ignore[no-untyped-def]
    plan = plan_classroom(30, image=IMAGE, node_size="s-4vcpu-8gb", max_hourly_cost=100, options=opts)
    with pytest.raises(CostLimitError) as err:
        plan_classroom(30, image=IMAGE, node_size="s-4vcpu-8gb", max_hourly_cost=plan.estimate.max_hourly * 0.99,
                       options=opts)  # fmt: skip
    assert f"${plan.estimate.max_hourly:.4f}/hour" in err.value.message
    assert "--max-hourly-cost" in err.value.hint


def test_a_public_hub_is_a_load_balancer_and_is_priced_as_one(opts) -> None:  # type: ignore[no-untyped-def]
    private = plan_classroom(5, image=IMAGE, max_hourly_cost=100, options=opts)
    public = plan_classroom(5, image=IMAGE, max_hourly_cost=100, public=True, options=opts)
    assert private.values["proxy"]["service"]["type"] == "ClusterIP"
    assert public.values["proxy"]["service"]["type"] == "LoadBalancer"
    assert not [r for r in private.estimate.rows if r.item == "load balancers"]
    lb = opts.load_balancer.price_hourly
    assert public.estimate.hourly == pytest.approx(private.estimate.hourly + lb)


def test_the_values_carry_the_learners_resources_culling_and_no_privileges() -> None:
    res = LearnerResources(memory_guarantee_mib=3000, memory_limit_mib=5000, cpu_guarantee=1, cpu_limit=3)
    v = build_values(image=IMAGE, resources=res)
    su = v["singleuser"]
    assert su["image"] == {
        "name": "registry.example.com/class/k8s-course",
        "tag": "abc123",
        "pullPolicy": "IfNotPresent",
    }
    assert su["memory"] == {"guarantee": "3000M", "limit": "5000M"}
    assert su["cpu"] == {"guarantee": 1, "limit": 3}
    assert su["uid"] == 1000 and su["allowPrivilegeEscalation"] is False
    assert su["cloudMetadata"]["blockWithIptables"] is False  # the chart's privileged init container stays off
    assert su["networkPolicy"]["egressAllowRules"]["cloudMetadataServer"] is False
    assert su["nodeSelector"] == {_plan.POOL_LABEL: _plan.POOL_NAME}
    assert v["cull"]["enabled"] is True and v["cull"]["timeout"] == _plan.CULL_TIMEOUT_S


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("singleuser", "memroy"), {"limit": "1G"}, "memroy"),  # a key the chart does not have
        (("singleuser", "cpu", "guarantee"), "half", "'half' is not of type"),  # the chart takes a number
        (("cull", "timeout"), "1h", "'1h' is not of type"),
        (("proxy", "service", "type"), "Ingress", "'Ingress' is not one of"),
        (("hub", "config"), {}, "hub"),  # the plan writes no hub settings: a key outside its schema fails
    ],
)
def test_the_schema_rejects_what_the_chart_would_not_take(path: tuple[str, ...], value: object, problem: str) -> None:
    values = build_values(image=IMAGE, resources=LearnerResources())
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(ValidationError) as err:
        validate_values(values)
    assert problem in err.value.message and JUPYTERHUB_CHART.version in err.value.message


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("k8s-course", "no tag"),
        ("registry.example.com/k8s-course", "no tag"),
        ("k8s-course:latest", "'latest'"),
        ("Registry/K8s:1", "not a valid image reference"),
        ("", "an image is required"),
    ],
)
def test_bad_images_are_named(image: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        split_image(image)
    assert problem in err.value.message


def test_the_repo2docker_command_builds_this_repository_as_the_hubs_user() -> None:
    cmd = repo2docker_command(IMAGE).split()
    assert cmd[0] == "jupyter-repo2docker" and cmd[-1] == "."
    assert cmd[cmd.index("--image-name") + 1] == IMAGE
    assert cmd[cmd.index("--user-id") + 1] == str(
        build_values(image=IMAGE, resources=LearnerResources())["singleuser"]["uid"]
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"learners": 0}, "--learners must be a whole number"),
        ({"learners": 501}, "--learners must be a whole number"),
        ({"learners": True}, "--learners must be a whole number"),
        ({"max_hourly_cost": 0}, "--max-hourly-cost must be a positive"),
        ({"region": "mars1"}, "region 'mars1'"),
        ({"node_size": "s-9vcpu-99gb"}, "size 's-9vcpu-99gb'"),
        ({"node_size": "s-1vcpu-2gb"}, "no learner fits on a s-1vcpu-2gb node"),
        ({"learners": 500, "node_size": "s-4vcpu-8gb"}, "more than the course's 50 per pool"),
    ],
)
def test_bad_input_is_refused_with_what_to_change(opts, kwargs: dict, problem: str) -> None:  # type: ignore[no-untyped-def]
    args = {"learners": 10, "max_hourly_cost": 100, **kwargs}
    with pytest.raises(ConfigError) as err:
        plan_classroom(args.pop("learners"), image=IMAGE, options=opts, **args)
    assert problem in err.value.message and err.value.hint


def test_write_puts_the_values_and_the_plan_side_by_side(opts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = plan_classroom(12, image=IMAGE, max_hourly_cost=100, options=opts)
    files = plan.write(tmp_path / "class")
    assert yaml.safe_load(files["values"].read_text()) == plan.values
    data = json.loads(files["plan"].read_text())
    assert data["nodes"] == plan.nodes and data["node_size"] == plan.node_size
    assert data["usd_per_hour"] == round(plan.estimate.hourly, 4)
    assert f"--version {JUPYTERHUB_CHART.version}" in data["commands"]["install"]
    assert data["commands"]["check_values"].startswith("helm template ")


def test_cli_plan_prints_the_commands_and_writes_the_files(no_token: None, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    main(
        [
            "classroom",
            "plan",
            "--learners",
            "20",
            "--image",
            IMAGE,
            "--out",
            str(tmp_path / "c"),
            "--max-hourly-cost",
            "50",
        ]
    )
    out = capsys.readouterr().out
    assert "jupyter-repo2docker --no-run --push" in out
    assert f"helm template classroom jupyterhub/jupyterhub --version {JUPYTERHUB_CHART.version}" in out
    assert "helm upgrade --install classroom jupyterhub/jupyterhub" in out
    assert "dummy" in out  # the default authenticator is called out
    assert (tmp_path / "c" / "values.yaml").is_file()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--learners", "20", "--image", IMAGE, "--max-hourly-cost", "0.01"], "above the limit of $0.01/hour"),
        (["--learners", "0", "--image", IMAGE], "--learners must be a whole number"),
        (["--learners", "20", "--image", "k8s-course"], "no tag"),
    ],
)
def test_cli_refuses_before_writing_anything(
    no_token: None, tmp_path: Path, capsys, args: list[str], problem: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["classroom", "plan", *args, "--out", str(tmp_path / "c")])
    assert exit_.value.code == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
