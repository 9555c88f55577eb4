"""Multi-region and multi-cluster: strategies, DNS-based failover with ExternalDNS, Cilium Cluster Mesh
checks, Argo CD ApplicationSets over labelled clusters, and what a second region costs.

Nothing here needs a second cluster: the ApplicationSet cluster generator is evaluated over a list of Argo CD
cluster Secrets exactly as Argo CD matches them (a Kubernetes label selector on the Secret's labels), and the
region table prices a second cluster from the same snapshot as part 1. Latency to real users cannot be
measured offline.

Example:
    >>> from course_lib import regions as rg
    >>> rg.match_clusters({"matchLabels": {"env": "production"}}, rg.example_clusters())
    ['prod-fra1', 'prod-nyc1', 'prod-sgp1']

Used in: notebook 09.
"""

from __future__ import annotations

from ..sim import selector_matches
from ..sim._appset import CLUSTER_SECRET_LABEL as CLUSTER_SECRET_LABEL  # course_lib.drills._regions uses it
from ..sim._appset import match_clusters
from ..sim._clustermesh import MeshCluster, check_clustermesh
from ._appsets import (
    LocalFleet,
    application_set,
    cluster_secret,
    example_clusters,
    fan_out,
    generated_applications,
    local_fleet,
    relabel,
    selector_table,
)
from ._plans import (
    EXTERNAL_DNS_IMAGE,
    REGION_GEOGRAPHY,
    FailoverTime,
    clustermesh_commands,
    dns_failover_time,
    external_dns_objects,
    global_service,
    region_costs,
    regional_ingress,
    strategies,
)

__all__ = [
    "LocalFleet",
    "fan_out",
    "local_fleet",
    "relabel",
    "EXTERNAL_DNS_IMAGE",
    "REGION_GEOGRAPHY",
    "FailoverTime",
    "MeshCluster",
    "application_set",
    "check_clustermesh",
    "cluster_secret",
    "clustermesh_commands",
    "dns_failover_time",
    "example_clusters",
    "external_dns_objects",
    "generated_applications",
    "global_service",
    "match_clusters",
    "region_costs",
    "regional_ingress",
    "selector_matches",
    "selector_table",
    "strategies",
]
