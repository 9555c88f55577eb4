"""CloudNativePG objects: an HA PostgreSQL Cluster with backups to DigitalOcean Spaces, a ScheduledBackup,
a point-in-time recovery Cluster and a PgBouncer Pooler.

Backups: the seed configures ``spec.backup.barmanObjectStore`` (CloudNativePG's built-in Barman Cloud
support). CloudNativePG 1.26 deprecated it in favour of the Barman Cloud *plugin* (an ``ObjectStore`` of
``barmancloud.cnpg.io/v1`` plus ``spec.plugins`` on the Cluster); the 1.30 release notes say the built-in
support will be removed in 1.31. :func:`cnpg_cluster` writes either form (``backup="barmanObjectStore"`` or
``backup="plugin"``).

Example:
    >>> c = cnpg_cluster("production-db", namespace="database", spaces=SpacesBucket())
    >>> c["spec"]["instances"], c["spec"]["storage"]["size"]
    (3, '10Gi')

Used in: notebook 08.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..errors import ConfigError
from ._meta import Manifest, check_name, object_meta, resource

CNPG_API_VERSION = "postgresql.cnpg.io/v1"
BARMAN_PLUGIN_API_VERSION = "barmancloud.cnpg.io/v1"
BARMAN_PLUGIN_NAME = "barman-cloud.cloudnative-pg.io"

BackupMode = Literal["barmanObjectStore", "plugin"]


@dataclass(frozen=True)
class SpacesBucket:
    """Where backups go: an S3-compatible DigitalOcean Spaces bucket and the Secret holding its keys.

    Args:
        destination_path: ``s3://<bucket>/<prefix>/``.
        endpoint_url: the Spaces endpoint of the bucket's region.
        credentials_secret: Secret (e.g. written by an ExternalSecret) with the access key pair.
        access_key_key: key of the access key id in that Secret.
        secret_key_key: key of the secret access key in that Secret.
    """

    destination_path: str = "s3://course-backups/postgres/"
    endpoint_url: str = "https://nyc3.digitaloceanspaces.com"
    credentials_secret: str = "backup-s3-creds"
    access_key_key: str = "ACCESS_KEY_ID"
    secret_key_key: str = "SECRET_ACCESS_KEY"

    def __post_init__(self) -> None:
        if not self.destination_path.startswith("s3://"):
            raise ConfigError(
                f"destination_path {self.destination_path!r} is not an s3:// URL",
                hint="Spaces speaks S3: use s3://<bucket>/<prefix>/",
            )
        if not self.endpoint_url.startswith("https://"):
            raise ConfigError(
                f"endpoint_url {self.endpoint_url!r} is not an https URL",
                hint="e.g. https://nyc3.digitaloceanspaces.com (the bucket's region)",
            )
        check_name(self.credentials_secret, what="credentials_secret")

    def barman_configuration(self, *, compression: bool = True) -> dict[str, Any]:
        """The Barman Cloud object-store block (same fields in the Cluster and in the plugin's ObjectStore)."""
        conf: dict[str, Any] = {
            "destinationPath": self.destination_path,
            "endpointURL": self.endpoint_url,
            "s3Credentials": {
                "accessKeyId": {"name": self.credentials_secret, "key": self.access_key_key},
                "secretAccessKey": {"name": self.credentials_secret, "key": self.secret_key_key},
            },
        }
        if compression:
            conf["wal"] = {"compression": "gzip"}
            conf["data"] = {"compression": "gzip"}
        return conf


def _storage(size: str, storage_class: str) -> dict[str, str]:
    if not size or not size[0].isdigit():
        raise ConfigError(f"storage size {size!r} is not a quantity", hint="e.g. '10Gi'")
    return {"size": size, "storageClass": storage_class}


def cnpg_cluster(
    name: str = "production-db",
    *,
    namespace: str = "database",
    instances: int = 3,
    storage_size: str = "10Gi",
    storage_class: str = "do-block-storage",
    parameters: Mapping[str, str] | None = None,
    spaces: SpacesBucket | None = None,
    backup: BackupMode = "barmanObjectStore",
    retention: str = "30d",
    object_store: str = "spaces-store",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A CloudNativePG Cluster: ``instances`` PostgreSQL pods (1 primary + replicas) on DO block storage.

    Args:
        parameters: postgresql.conf settings (strings), default ``max_connections`` and ``shared_buffers``.
        spaces: where to archive WAL and base backups; ``None`` for no backups.
        backup: ``"barmanObjectStore"`` (built-in, as in the seed; deprecated since 1.26) or ``"plugin"``
            (Barman Cloud plugin; pair with :func:`cnpg_object_store` named ``object_store``).
        retention: how long backups are kept, e.g. ``"30d"``.

    Used in: notebook 08.
    """
    if not isinstance(instances, int) or instances < 1:
        raise ConfigError(f"instances must be >= 1, got {instances!r}", hint="use 3 for one primary and two replicas")
    params = dict(parameters) if parameters is not None else {"max_connections": "200", "shared_buffers": "256MB"}
    for key, value in params.items():
        if not isinstance(value, str):
            raise ConfigError(f"parameter {key}={value!r} must be a string", hint=f'quote it: "{value}"')
    spec: dict[str, Any] = {
        "instances": instances,
        "storage": _storage(storage_size, storage_class),
        "postgresql": {"parameters": params},
    }
    if spaces is not None:
        if backup == "barmanObjectStore":
            spec["backup"] = {"retentionPolicy": retention, "barmanObjectStore": spaces.barman_configuration()}
        elif backup == "plugin":
            spec["plugins"] = [
                {
                    "name": BARMAN_PLUGIN_NAME,
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": check_name(object_store, what="object_store")},
                }
            ]
        else:
            raise ConfigError(f"backup {backup!r} is not a backup mode", hint="use 'barmanObjectStore' or 'plugin'")
    return resource(CNPG_API_VERSION, "Cluster", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def cnpg_object_store(
    name: str = "spaces-store",
    *,
    namespace: str = "database",
    spaces: SpacesBucket,
    retention: str = "30d",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """The Barman Cloud plugin's ObjectStore (the newer home of the bucket settings and retention).

    Used in: notebook 08.
    """
    spec = {"retentionPolicy": retention, "configuration": spaces.barman_configuration()}
    return resource(
        BARMAN_PLUGIN_API_VERSION, "ObjectStore", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def cnpg_scheduled_backup(
    name: str,
    *,
    namespace: str = "database",
    cluster: str = "production-db",
    schedule: str = "0 0 3 * * *",
    backup: BackupMode = "barmanObjectStore",
    immediate: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A ScheduledBackup of ``cluster``. The schedule has **six** fields (seconds first): ``0 0 3 * * *`` is 03:00.

    Example:
        >>> cnpg_scheduled_backup("nightly")["spec"]["schedule"]
        '0 0 3 * * *'

    Used in: notebook 08.
    """
    if len(schedule.split()) != 6:
        raise ConfigError(
            f"schedule {schedule!r} has {len(schedule.split())} fields, CloudNativePG wants 6",
            hint="the first field is seconds: '0 0 3 * * *' runs every day at 03:00:00",
        )
    spec: dict[str, Any] = {
        "schedule": schedule,
        "immediate": immediate,
        "backupOwnerReference": "self",
        "cluster": {"name": check_name(cluster, what="cluster")},
        "method": backup,
    }
    if backup == "plugin":
        spec["pluginConfiguration"] = {"name": BARMAN_PLUGIN_NAME}
    return resource(
        CNPG_API_VERSION, "ScheduledBackup", object_meta(name, namespace=namespace, labels=labels), spec=spec
    )


def _target_time(value: str | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(
                "target_time has no time zone",
                hint="pass an aware datetime, e.g. datetime(2026, 11, 26, 14, tzinfo=UTC)",
            )
        return value.isoformat()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"target_time {value!r} is not a timestamp", hint="use RFC 3339, e.g. '2026-11-26T14:00:00Z'"
        ) from None
    if parsed.tzinfo is None:
        raise ConfigError(f"target_time {value!r} has no time zone", hint="add one, e.g. '2026-11-26T14:00:00Z'")
    return value


def cnpg_recovery_cluster(
    name: str,
    *,
    namespace: str = "database",
    source_cluster: str = "production-db",
    target_time: str | datetime,
    spaces: SpacesBucket,
    instances: int = 3,
    storage_size: str = "10Gi",
    storage_class: str = "do-block-storage",
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A *new* Cluster bootstrapped from ``source_cluster``'s backups, replayed up to ``target_time`` (PITR).

    Example:
        >>> r = cnpg_recovery_cluster("restored-db", target_time="2026-11-26T14:00:00Z", spaces=SpacesBucket())
        >>> r["spec"]["bootstrap"]["recovery"]["recoveryTarget"]
        {'targetTime': '2026-11-26T14:00:00Z'}

    Used in: notebook 08.
    """
    source = check_name(source_cluster, what="source_cluster")
    if source == name:
        raise ConfigError(
            "the recovery cluster must have a new name", hint="e.g. name='restored-db' next to 'production-db'"
        )
    spec = {
        "instances": instances,
        "storage": _storage(storage_size, storage_class),
        "bootstrap": {"recovery": {"source": source, "recoveryTarget": {"targetTime": _target_time(target_time)}}},
        "externalClusters": [{"name": source, "barmanObjectStore": spaces.barman_configuration(compression=False)}],
    }
    return resource(CNPG_API_VERSION, "Cluster", object_meta(name, namespace=namespace, labels=labels), spec=spec)


def cnpg_pooler(
    name: str = "pooler-rw",
    *,
    namespace: str = "database",
    cluster: str = "production-db",
    instances: int = 2,
    pooler_type: Literal["rw", "ro"] = "rw",
    pool_mode: Literal["session", "transaction"] = "transaction",
    parameters: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Manifest:
    """A PgBouncer Pooler in front of ``cluster``; apps connect to the Service named like the Pooler.

    Used in: notebook 08.
    """
    params = dict(parameters) if parameters is not None else {"max_client_conn": "1000", "default_pool_size": "20"}
    spec = {
        "cluster": {"name": check_name(cluster, what="cluster")},
        "instances": instances,
        "type": pooler_type,
        "pgbouncer": {"poolMode": pool_mode, "parameters": params},
    }
    return resource(CNPG_API_VERSION, "Pooler", object_meta(name, namespace=namespace, labels=labels), spec=spec)
