"""``course classroom plan``: Helm values for Zero to JupyterHub on DOKS, a node pool sized for the class, its cost.

Everything is checked before anything is written: the learner count, the image reference, the region and node
size (against live DigitalOcean options with a token, else the dated snapshot), that a learner fits on a node,
the pool's size limit and the cost guard. Nothing is created: the plan writes files and prints the commands.

Used in: ``course classroom plan`` (README, "Running a class").
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._resources import data_path
from ..errors import ConfigError, ValidationError
from ..pins import JUPYTERHUB_CHART
from ._resources import LearnerResources, NodeCapacity, node_capacity

if TYPE_CHECKING:
    from ..provision import CostEstimate, Options

#: The class's cluster and node pool (its name is what ``singleuser.nodeSelector`` selects).
CLUSTER_NAME = "course-classroom"
POOL_NAME = "learners"
#: DOKS labels every node with its pool's name.
POOL_LABEL = "doks.digitalocean.com/node-pool"
#: Room kept for the chart's own pods (hub, proxy, two user-schedulers, the image puller), in learner slots'
#: worth of memory/CPU: an assumption, printed with the plan.
CHART_PODS_MIB = 1024
CHART_PODS_CPU = 0.5
#: Each learner's home volume (the chart's default is 10Gi; executed notebooks and state are small), and the hub's
#: database volume (the chart's sqlite-pvc default, 1Gi). DigitalOcean bills volumes per GiB.
HOME_GIB = 5
HUB_DB_GIB = 1
#: The user inside repo2docker's images (``jovyan``, uid 1000); the course's processes run as this user.
UID = 1000
#: repo2docker puts the repository into the user's home; learners' own files go on the volume below it.
HOME = "/home/jovyan"
WORK = f"{HOME}/work"
#: Idle culling: a server with no activity for an hour is stopped (its volume stays); checked every 5 minutes.
CULL_TIMEOUT_S = 3600
CULL_EVERY_S = 300
#: repo2docker's images are large (conda, Go tools); the first pull on a fresh node takes minutes.
START_TIMEOUT_S = 900
MAX_LEARNERS = 500
#: ``registry/path/name:tag`` (a tag is required: ``latest`` would make every node pull something different).
_IMAGE_RE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r":(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$"
)
IMAGE_HINT = "give the image repo2docker builds as name:tag, e.g. registry.digitalocean.com/my-class/k8s-course:2026-12"


def split_image(image: str) -> tuple[str, str]:
    """``(name, tag)`` of an image reference; a :class:`ConfigError` naming the problem otherwise."""
    if not isinstance(image, str) or not image:
        raise ConfigError("an image is required", hint=IMAGE_HINT)
    m = _IMAGE_RE.match(image)
    if m is None:
        why = "it has no tag" if ":" not in image.rsplit("/", 1)[-1] else "it is not a valid image reference"
        raise ConfigError(f"image {image!r}: {why}", hint=IMAGE_HINT)
    if m["tag"] == "latest":
        raise ConfigError(f"image {image!r} uses the tag 'latest'", hint="tag each build, e.g. with the git commit")
    return m["name"], m["tag"]


def repo2docker_command(image: str, *, repo: str = ".") -> str:
    """The ``jupyter-repo2docker`` command that builds the single-user image from this repository's Binder files
    (``apt.txt``, ``environment.yml``, ``postBuild``) and pushes it: run it where Docker is (not in the sandbox).

    Example:
        >>> repo2docker_command("registry.example.com/k8s-course:abc123")
        'jupyter-repo2docker --no-run --push --user-id 1000 --user-name jovyan --image-name registry.example.com/k8s-course:abc123 .'
    """
    split_image(image)
    return (
        f"jupyter-repo2docker --no-run --push --user-id {UID} --user-name jovyan "
        f"--image-name {shlex.quote(image)} {shlex.quote(repo)}"
    )


@dataclass(frozen=True)
class ClassroomPlan:
    """A class on JupyterHub: the chart's values, the node pool and what it costs.

    Attributes:
        values: the Helm values (``values.yaml``).
        capacity: learners per node and how that was worked out.
        nodes: nodes in the pool.
        estimate: the course's cost estimate of the pool, volumes and load balancer.
    """

    learners: int
    region: str
    image: str
    resources: LearnerResources
    capacity: NodeCapacity
    nodes: int
    public: bool
    estimate: CostEstimate
    max_hourly_cost: float
    values: dict[str, Any] = field(repr=False)

    @property
    def node_size(self) -> str:
        return self.capacity.size

    def helm_command(self, values_file: str | Path = "values.yaml") -> str:
        """``helm upgrade --install`` of the pinned chart with these values."""
        c = JUPYTERHUB_CHART
        return (
            f"helm repo add {c.repo_name} {c.repo_url} && helm repo update {c.repo_name}\n"
            f"helm upgrade --install {c.release} {c.repo_name}/{c.chart} --version {c.version} "
            f"--namespace {c.namespace} --create-namespace -f {shlex.quote(str(values_file))} --timeout 20m --wait"
        )

    def template_command(self, values_file: str | Path = "values.yaml") -> str:
        """``helm template`` with the real chart: the full check of these values (where the chart can be fetched)."""
        c = JUPYTERHUB_CHART
        return f"helm template {c.release} {c.repo_name}/{c.chart} --version {c.version} -f {shlex.quote(str(values_file))}"

    def doctl_command(self) -> str:
        """The ``doctl`` command that creates the class's cluster with this node pool (billable)."""
        return (
            f"doctl kubernetes cluster create {CLUSTER_NAME} --region {self.region} --tag k8s-course "
            f'--node-pool "name={POOL_NAME};size={self.node_size};count={self.nodes};tag=k8s-course"'
        )

    def summary(self) -> str:
        r = self.resources
        access = (
            "proxy-public is a LoadBalancer (public): configure a real authenticator first (below)"
            if self.public
            else "proxy-public is ClusterIP: reach it with `kubectl -n classroom port-forward svc/proxy-public 8080:80`"
        )
        return "\n".join(
            [
                f"Class of {self.learners} learners on JupyterHub (chart {JUPYTERHUB_CHART.chart} "
                f"{JUPYTERHUB_CHART.version}, JupyterHub {JUPYTERHUB_CHART.app_version}) in {self.region}",
                f"per learner: memory {r.memory_guarantee_mib} MiB guaranteed / {r.memory_limit_mib} MiB limit, "
                f"CPU {r.cpu_guarantee} guaranteed / {r.cpu_limit} limit, a {HOME_GIB} GiB home volume",
                f"node pool {POOL_NAME!r}: {self.nodes} x {self.node_size}  ({self.capacity.explain(r)}; room for "
                f"the chart's own pods kept: {CHART_PODS_MIB} MiB, {CHART_PODS_CPU} CPU)",
                f"cost: {self.estimate}  — limit ${self.max_hourly_cost:.2f}/hour",
                f"idle servers are stopped after {CULL_TIMEOUT_S // 60} min without activity (cull.timeout)",
                access,
            ]
        )

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``values.yaml`` and ``plan.json`` into ``out``; returns their paths."""
        import yaml

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        values = folder / "values.yaml"
        header = (
            f"# Zero to JupyterHub {JUPYTERHUB_CHART.version} values written by `course classroom plan` for "
            f"{self.learners} learners.\n"
            f"# Checked against the keys the course knows for this chart version; the full check is:\n"
            f"#   {self.template_command(values.name)}\n"
        )
        values.write_text(header + yaml.safe_dump(self.values, sort_keys=False))
        plan = folder / "plan.json"
        data = {
            "learners": self.learners,
            "region": self.region,
            "node_size": self.node_size,
            "nodes": self.nodes,
            "learners_per_node": self.capacity.learners,
            "allocatable_memory_mib_modelled": round(self.capacity.allocatable_memory_mib),
            "allocatable_cpu_modelled": round(self.capacity.allocatable_cpu, 2),
            "resources": self.resources.kubernetes(),
            "usd_per_hour": round(self.estimate.hourly, 4),
            "usd_per_hour_worst_case": round(self.estimate.max_hourly, 4),
            "usd_per_month": round(self.estimate.monthly, 2),
            "prices": self.estimate.source,
            "prices_date": self.estimate.snapshot_date,
            "max_hourly_cost": self.max_hourly_cost,
            "chart": {"name": JUPYTERHUB_CHART.chart, "version": JUPYTERHUB_CHART.version},
            "image": self.image,
            "commands": {
                "build_image": repo2docker_command(self.image),
                "create_cluster": self.doctl_command(),
                "install": self.helm_command(values.name),
                "check_values": self.template_command(values.name),
            },
        }
        plan.write_text(json.dumps(data, indent=2) + "\n")
        return {"values": values, "plan": plan}


def build_values(*, image: str, resources: LearnerResources, public: bool = False) -> dict[str, Any]:
    """The chart values for a class (every key is one the chart 4.4.0 declares; see :func:`validate_values`)."""
    name, tag = split_image(image)
    values: dict[str, Any] = {
        "proxy": {"service": {"type": "LoadBalancer" if public else "ClusterIP"}},
        "singleuser": {
            "image": {"name": name, "tag": tag, "pullPolicy": "IfNotPresent"},
            # KubeSpawner reads "2048M" with K/M/G/T as powers of 1024: these are the MiB figures above
            "memory": {"guarantee": f"{resources.memory_guarantee_mib}M", "limit": f"{resources.memory_limit_mib}M"},
            "cpu": {"guarantee": resources.cpu_guarantee, "limit": resources.cpu_limit},
            # repo2docker's image keeps the course (and its built tools under ~/.cache) in the home folder; the
            # learner's volume is mounted below it so the image's files stay visible
            "storage": {"type": "dynamic", "capacity": f"{HOME_GIB}Gi", "homeMountPath": WORK},
            "uid": UID,
            "fsGid": UID,
            "allowPrivilegeEscalation": False,
            # the chart's default blocks the cloud metadata address with a privileged iptables init container;
            # the NetworkPolicy below blocks it without privileges (DOKS's Cilium enforces NetworkPolicy)
            "cloudMetadata": {"blockWithIptables": False, "ip": "169.254.169.254"},
            "networkPolicy": {"enabled": True, "egressAllowRules": {"cloudMetadataServer": False}},
            "extraEnv": {
                # the learner's progress and sandbox state on the volume (processes are recognised by pid and
                # start time, so a state file from a culled server is harmless)
                "COURSE_STATE_DIR": f"{WORK}/.course-state",
            },
            "extraLabels": {"app.kubernetes.io/part-of": "k8s-course"},
            "nodeSelector": {POOL_LABEL: POOL_NAME},
            "lifecycleHooks": {
                "postStart": {
                    "exec": {
                        # the learner's own copy of the notebooks, on the volume; never overwrites their edits
                        "command": ["sh", "-c", f"mkdir -p {WORK} && cp -rn {HOME}/notebooks {WORK}/ || true"]
                    }
                }
            },
            "defaultUrl": "/lab/tree/work/notebooks/00_welcome_and_setup.ipynb",
            "startTimeout": START_TIMEOUT_S,
        },
        "scheduling": {
            "userScheduler": {"enabled": True},
            # the pool is sized for the class: no placeholder pods keeping extra nodes warm
            "userPlaceholder": {"enabled": False},
            "podPriority": {"enabled": False},
        },
        "prePuller": {"hook": {"enabled": True}, "continuous": {"enabled": True}},
        "cull": {
            "enabled": True,
            "timeout": CULL_TIMEOUT_S,
            "every": CULL_EVERY_S,
            "users": False,
            "removeNamedServers": False,
            "maxAge": 0,
            "concurrency": 10,
        },
    }
    validate_values(values)
    return values


def values_schema() -> dict[str, Any]:
    """The schema of the keys the plan writes (``data/classroom/z2jh-values.schema.json``)."""
    return json.loads((data_path("classroom") / "z2jh-values.schema.json").read_text())


def validate_values(values: dict[str, Any]) -> None:
    """Check values against the schema of the chart's keys the course uses; :class:`ValidationError` lists every
    problem (a key the chart does not have, a wrong type)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(values_schema())
    problems = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"{'.'.join(map(str, p.absolute_path)) or '(top)'}: {p.message}" for p in problems]
        raise ValidationError(
            f"the values do not match the keys of {JUPYTERHUB_CHART.chart} {JUPYTERHUB_CHART.version}:\n"
            + "\n".join(lines),
            hint="fix or remove those keys (the chart's values.schema.yaml at that version lists them)",
        )


def _check_inputs(learners: object, max_hourly_cost: object) -> None:
    if isinstance(learners, bool) or not isinstance(learners, int) or not 1 <= learners <= MAX_LEARNERS:
        raise ConfigError(
            f"--learners must be a whole number from 1 to {MAX_LEARNERS}, got {learners!r}",
            hint="give the number of learners in the class, e.g. --learners 30",
        )
    if isinstance(max_hourly_cost, bool) or not isinstance(max_hourly_cost, int | float) or max_hourly_cost <= 0:
        raise ConfigError(
            f"--max-hourly-cost must be a positive number of USD per hour, got {max_hourly_cost!r}",
            hint="e.g. --max-hourly-cost 2.5",
        )


def _size_plan(learners: int, size: str, opts: Options, resources: LearnerResources) -> tuple[NodeCapacity, int | None]:
    s = opts.size(size)
    cap = node_capacity(size, memory_mib=s.memory_mb, vcpus=s.vcpus, resources=resources)
    if cap.learners == 0:
        return cap, None
    chart_slots = math.ceil(
        max(CHART_PODS_MIB / resources.memory_guarantee_mib, CHART_PODS_CPU / resources.cpu_guarantee)
    )
    return cap, math.ceil((learners + chart_slots) / cap.learners)


def plan_classroom(
    learners: int,
    *,
    image: str,
    region: str = "nyc1",
    node_size: str | None = None,
    max_hourly_cost: float = 5.0,
    resources: LearnerResources | None = None,
    public: bool = False,
    options: Options | None = None,
) -> ClassroomPlan:
    """Plan a class on JupyterHub: values, the node pool for ``learners`` and its cost, refused above the limit.

    Args:
        learners: how many learners (their servers run at the same time at most).
        image: the single-user image repo2docker builds (``name:tag``).
        region: DOKS region slug.
        node_size: node size slug; ``None`` picks the size with the lowest hourly cost for the class.
        max_hourly_cost: the cost guard, USD per hour for the whole class (worst case).
        resources: per-learner guarantees and limits (default :class:`LearnerResources`).
        public: a public LoadBalancer for the hub (billed; needs a real authenticator) instead of ClusterIP.
        options: DigitalOcean options and prices (default: live with a token, else the snapshot).

    Raises:
        ConfigError: bad input (named, with the fix); CostLimitError: above ``max_hourly_cost``.

    Example:
        >>> plan = plan_classroom(10, image="registry.example.com/k8s-course:abc123")  # doctest: +SKIP
        >>> plan.nodes, plan.node_size  # doctest: +SKIP

    Used in: ``course classroom plan``.
    """
    from ..provision import ClusterSpec, check_cost, estimate_cost, get_options
    from ..provision._spec import MAX_NODES_PER_POOL

    _check_inputs(learners, max_hourly_cost)
    split_image(image)
    resources = resources or LearnerResources()
    opts = options or get_options()
    ClusterSpec.single_pool(CLUSTER_NAME, region=region, size=node_size or "s-2vcpu-4gb").validate(opts)
    volumes = learners * HOME_GIB + HUB_DB_GIB
    lbs = 1 if public else 0
    candidates = [node_size] if node_size else list(opts.size_slugs)
    priced: list[tuple[float, NodeCapacity, int, CostEstimate]] = []
    too_small: list[NodeCapacity] = []
    too_many: list[tuple[str, int]] = []
    for size in candidates:
        cap, nodes = _size_plan(learners, size, opts, resources)
        if nodes is None:
            too_small.append(cap)
            continue
        if nodes > MAX_NODES_PER_POOL:
            too_many.append((size, nodes))
            continue
        spec = ClusterSpec.single_pool(CLUSTER_NAME, region=region, size=size, count=nodes)
        est = estimate_cost(spec, load_balancers=lbs, volumes_gb=volumes, options=opts)
        priced.append((est.max_hourly, cap, nodes, est))
    if not priced:
        if too_small and node_size:
            raise ConfigError(
                f"no learner fits on a {node_size} node: {too_small[0].explain(resources)}",
                hint="choose a bigger --node-size, e.g. s-4vcpu-8gb or s-8vcpu-16gb (`course provision options`)",
            )
        size, nodes = too_many[0] if too_many else ("?", 0)
        raise ConfigError(
            f"{learners} learners need {nodes} nodes of {size}, more than the course's {MAX_NODES_PER_POOL} per pool",
            hint="choose a bigger --node-size, or split the class into several hubs",
        )
    priced.sort(key=lambda row: (row[0], row[1].size))
    _, cap, nodes, est = priced[0]
    check_cost(
        est,
        max_hourly_cost=float(max_hourly_cost),
        hint=(
            "raise --max-hourly-cost on purpose, choose a cheaper --node-size, or plan a smaller class "
            "(the estimate above is the whole pool, its volumes and load balancer)"
        ),
    )
    values = build_values(image=image, resources=resources, public=public)
    return ClassroomPlan(
        learners=learners,
        region=region,
        image=image,
        resources=resources,
        capacity=cap,
        nodes=nodes,
        public=public,
        estimate=est,
        max_hourly_cost=float(max_hourly_cost),
        values=values,
    )


__all__ = [
    "ClassroomPlan",
    "build_values",
    "plan_classroom",
    "repo2docker_command",
    "split_image",
    "validate_values",
    "values_schema",
]
