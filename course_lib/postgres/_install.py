"""Part 8 on a cluster: managed database or operator, installing the pinned CloudNativePG, the Services and
connection strings an app uses, the orders Deployment (manifest ``08/orders-app``, registered on import), the
sandbox's placeholder CRDs and the monthly cost. See :mod:`course_lib.postgres`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import ConfigError
from ..pins import CNPG_CHART, CNPG_CHART_VERSION, CNPG_VERSION

CNPG_MANIFEST_URL = (
    "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/release-{minor}/releases/cnpg-{version}.yaml"
)

#: DigitalOcean Spaces pricing (USD, public pricing page, same date as ``data/digitalocean``): a subscription
#: includes 250 GiB of storage and 1 TiB of outbound transfer; storage beyond that is billed per GiB.
SPACES_MONTHLY = 5.0
SPACES_INCLUDED_GB = 250.0
SPACES_EXTRA_PER_GB = 0.02

ServiceKind = Literal["rw", "ro", "r", "pooler"]


# --- managed vs operator -------------------------------------------------------------------------


def managed_vs_operator() -> Any:
    """The trade-offs between a managed database (DigitalOcean Managed PostgreSQL) and an operator in the cluster.

    Returns:
        A pandas DataFrame, one row per concern.

    Used in: notebook 08.
    """
    import pandas as pd

    rows = [
        ("set-up", "a few clicks or one API call", "install the operator, write a Cluster manifest"),
        ("backups & PITR", "built in (daily backups, 7-day PITR)", "you configure object storage and schedules"),
        ("upgrades", "provider applies minor versions in a window", "you bump the operator and image, it rolls"),
        ("failover", "standby nodes (billed per node)", "replicas on your nodes, operator promotes one"),
        ("cost", "pay per database node, above raw compute", "node share + volumes + object storage"),
        ("control", "limited parameters, no superuser", "every postgresql.conf parameter, extensions"),
        ("lock-in", "provider's API and tooling", "same manifests on any Kubernetes"),
        ("who is paged", "the provider, for the platform", "you, for everything"),
    ]
    return pd.DataFrame(rows, columns=["concern", "managed (DO Managed Databases)", "operator (CloudNativePG)"])


# --- install -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CnpgInstall:
    """How to install the pinned operator, two ways (run one of them on a cluster target)."""

    version: str
    chart_version: str
    helm: tuple[str, ...]
    manifest: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(
            [f"# Helm (chart {self.chart_version} = operator {self.version})", *self.helm, "", "# or the manifest"]
            + list(self.manifest)
        )

    __repr__ = __str__


def install_commands(*, version: str = CNPG_VERSION, chart_version: str = CNPG_CHART_VERSION) -> CnpgInstall:
    """The commands that install CloudNativePG ``version`` (Helm chart or the release manifest).

    Example:
        >>> "--version 0.29.0" in str(install_commands())
        True

    Used in: notebook 08.
    """
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"version {version!r} is not X.Y.Z", hint=f"e.g. {CNPG_VERSION!r}")
    minor = ".".join(parts[:2])
    import shlex

    chart = CNPG_CHART if chart_version == CNPG_CHART.version else replace(CNPG_CHART, version=chart_version)
    helm = (
        f"helm repo add {chart.repo_name} {chart.repo_url}",
        f"helm repo update {chart.repo_name}",
        shlex.join(["helm", *chart.install_args(), "--wait"]),
    )
    manifest = (
        f"kubectl apply --server-side -f {CNPG_MANIFEST_URL.format(minor=minor, version=version)}",
        "kubectl rollout status deployment -n cnpg-system cnpg-controller-manager",
    )
    return CnpgInstall(version, chart_version, helm, manifest)


# --- services and connections --------------------------------------------------------------------


def cluster_services(cluster: str = "production-db", *, pooler: str | None = "pooler-rw") -> Any:
    """The Services CloudNativePG creates for ``cluster`` (and the Pooler's), with what each one reaches.

    Used in: notebook 08.
    """
    import pandas as pd

    rows = [
        (f"{cluster}-rw", "the primary only", "writes, and reads that must see them"),
        (f"{cluster}-ro", "hot-standby replicas only", "read-only queries, reports"),
        (f"{cluster}-r", "any instance, primary included", "reads that tolerate a little lag"),
    ]
    if pooler:
        rows.append((pooler, "PgBouncer pods → the primary", "many short-lived app connections"))
    return pd.DataFrame(rows, columns=["service", "points to", "use for"])


def connection_string(
    cluster: str = "production-db",
    *,
    via: ServiceKind = "rw",
    pooler: str = "pooler-rw",
    namespace: str = "database",
    database: str = "app",
    user: str = "app",
) -> str:
    """A libpq URI (without password: that stays in the ``<cluster>-app`` Secret) for one way in.

    Example:
        >>> connection_string(via="pooler")
        'postgresql://app@pooler-rw.database.svc:5432/app'

    Used in: notebook 08.
    """
    if via not in ("rw", "ro", "r", "pooler"):
        raise ConfigError(f"via={via!r} is not a way in", hint="use 'rw', 'ro', 'r' or 'pooler'")
    host = pooler if via == "pooler" else f"{cluster}-{via}"
    return f"postgresql://{user}@{host}.{namespace}.svc:5432/{database}"


def app_deployment(
    name: str = "orders",
    *,
    namespace: str = "database",
    cluster: str = "production-db",
    pooler: str = "pooler-rw",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment whose container reaches PostgreSQL through the Pooler, with the password from the
    ``<cluster>-app`` Secret that CloudNativePG writes (keys ``username``, ``password``, ``dbname``, ``uri``).

    Used in: notebook 08.
    """
    from ..manifests import CHECKOUT_IMAGE, object_meta

    secret = f"{cluster}-app"
    env = [
        {"name": "DB_HOST", "value": pooler},
        {"name": "DB_PORT", "value": "5432"},
        {"name": "DB_NAME", "valueFrom": {"secretKeyRef": {"name": secret, "key": "dbname"}}},
        {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}},
    ]
    container = {
        "name": name,
        "image": CHECKOUT_IMAGE,
        "env": env,
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(name, namespace=namespace, labels=labels),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [container]},
            },
        },
    }


# --- sandbox CRDs --------------------------------------------------------------------------------


def sandbox_crds(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Open placeholder CustomResourceDefinitions for the custom kinds in ``objects``, for the **sandbox** only
    (:func:`course_lib.sandbox.crds.placeholders`; the session installs upstream's real CRDs where it can and adds
    placeholders only for the rest). Never apply them to a real cluster.

    Example:
        >>> [c["metadata"]["name"] for c in sandbox_crds([{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Pooler"}])]
        ['poolers.postgresql.cnpg.io']
    """
    from ..sandbox._crds import placeholders

    return placeholders(objects)


def sandbox_prerequisites(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the sandbox's API server needs before ``objects``: :func:`sandbox_crds` plus a Namespace for every
    namespace the objects use but do not create (on a real cluster the operators' charts bring both);
    :func:`course_lib.sandbox.crds.prerequisites` with no CRD known.

    Example:
        >>> [o["kind"] for o in sandbox_prerequisites([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        ...                                             "metadata": {"name": "root", "namespace": "argocd"}}])]
        ['CustomResourceDefinition', 'Namespace']
    """
    from ..sandbox._crds import prerequisites

    return prerequisites(objects)


# --- costs ---------------------------------------------------------------------------------------


def setup_costs(
    *,
    instances: int = 3,
    storage_gb: float = 10,
    db_size_gb: float = 5,
    wal_gb_per_day: float = 1,
    retention_days: int = 30,
    backups_per_day: float = 1,
    compression: float = 0.35,
    options: Any | None = None,
) -> Any:
    """Monthly cost of Part 8's setup on DigitalOcean: block-storage volumes and the Spaces bucket.

    The instances and poolers run on the cluster's existing nodes (no extra line unless you need bigger nodes).

    Args:
        db_size_gb: data size; each base backup stores about ``db_size_gb * compression``.
        wal_gb_per_day: WAL written per day (gzip-compressed by the same ratio).
        retention_days: ``retentionPolicy`` (backups and WAL older than that are deleted).

    Returns:
        A DataFrame (item, quantity, unit, usd_per_month) with a ``total`` row.

    Used in: notebook 08.
    """
    import pandas as pd

    from ..provision import get_options

    if min(instances, storage_gb, db_size_gb, wal_gb_per_day, retention_days, backups_per_day) < 0:
        raise ConfigError("sizes and counts must not be negative", hint="use 0 for 'none'")
    opts = options or get_options(live=False)
    stored = (db_size_gb * backups_per_day * retention_days + wal_gb_per_day * retention_days) * compression
    extra = max(0.0, stored - SPACES_INCLUDED_GB)
    rows = [
        (
            "volumes (one PVC per instance)",
            instances * storage_gb,
            "GiB",
            instances * storage_gb * opts.volume_gib.price_monthly,
        ),
        ("Spaces subscription (250 GiB included)", 1, "bucket set", SPACES_MONTHLY),
        ("backups + WAL kept in Spaces", round(stored, 1), "GiB", extra * SPACES_EXTRA_PER_GB),
    ]
    frame = pd.DataFrame(rows, columns=["item", "quantity", "unit", "usd_per_month"])
    total = pd.DataFrame([("total", float("nan"), "", frame.usd_per_month.sum())], columns=frame.columns)
    out = pd.concat([frame, total], ignore_index=True)
    out["usd_per_month"] = out["usd_per_month"].round(2)
    return out


def _register_manifests() -> None:
    from ..manifests import register

    register("08/orders-app", lambda lb: app_deployment(labels=lb), replace=True)


_register_manifests()
