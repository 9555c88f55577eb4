"""DigitalOcean provisioning: cluster specs, sizes and prices, cost guard, DOKS via pydo, leftovers, Terraform.

Nothing here imports pydo, pandas or plotly until a function needs it.

Example:
    >>> from course_lib.provision import ClusterSpec, estimate_cost
    >>> spec = ClusterSpec.single_pool("course-ada", region="nyc1", size="s-2vcpu-4gb", count=2)
    >>> round(estimate_cost(spec, load_balancers=0, volumes_gb=0).monthly, 2)
    48.0

Used in: notebook 01 (infrastructure as code) and notebook 11 (cleanup and costs).
"""

from __future__ import annotations

from ._api import (
    ClusterInfo,
    DeleteResult,
    KubeconfigFile,
    PlannedRequest,
    RequestPlan,
    create_cluster,
    delete_cluster,
    get_cluster,
    kubeconfig,
    plan_requests,
)
from ._client import DOApi, get_options
from ._cost import (
    COURSE_LOAD_BALANCERS,
    COURSE_VOLUMES_GB,
    CostEstimate,
    CostRow,
    SessionCost,
    check_cost,
    cost_figure,
    estimate_cost,
    session_cost,
)
from ._exercise import check_budget_spec, check_leftover_kinds
from ._leftovers import Leftover, LeftoverReport, find_leftovers, leftover_plan
from ._options import Options, Size, snapshot_options
from ._spec import MAX_NODES_PER_POOL, ClusterSpec, NodePool
from ._terraform import FmtResult, TerraformFiles, fmt_check, render_terraform, write_terraform

__all__ = [
    "COURSE_LOAD_BALANCERS",
    "COURSE_VOLUMES_GB",
    "MAX_NODES_PER_POOL",
    "ClusterInfo",
    "ClusterSpec",
    "CostEstimate",
    "CostRow",
    "DOApi",
    "DeleteResult",
    "FmtResult",
    "KubeconfigFile",
    "Leftover",
    "LeftoverReport",
    "NodePool",
    "Options",
    "PlannedRequest",
    "RequestPlan",
    "SessionCost",
    "Size",
    "TerraformFiles",
    "check_budget_spec",
    "check_cost",
    "check_leftover_kinds",
    "cost_figure",
    "create_cluster",
    "delete_cluster",
    "estimate_cost",
    "find_leftovers",
    "fmt_check",
    "get_cluster",
    "get_options",
    "kubeconfig",
    "leftover_plan",
    "plan_requests",
    "render_terraform",
    "session_cost",
    "snapshot_options",
    "write_terraform",
]
