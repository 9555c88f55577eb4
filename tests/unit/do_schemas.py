"""JSON schemas of the DigitalOcean API responses the course reads, written by hand from DigitalOcean's API reference.

Each schema lists the fields the reference defines for that response (nothing else is allowed:
``additionalProperties: false``), the fields it marks required, and the formats it gives (``uuid``, ``date-time``,
``cidr``, ``ipv4``). OpenAPI's ``nullable: true`` becomes a ``null`` type. Where the reference marks no field of an
object required (volumes, associated resources, cluster status, nodes), the schema requires the fields that every
response example in the reference carries, so a fixture cannot silently drop them either; those places say so.

Nested objects the course never reads (health checks, images, GPU info, cluster add-ons ...) are checked less
deeply; the comment at each says how. :func:`check_reply` picks the schema for a request (method and path) and
:func:`validate` raises :class:`jsonschema.ValidationError` for a body that does not fit.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import jsonschema

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
STRS: dict[str, Any] = {"type": "array", "items": STR}
INTS: dict[str, Any] = {"type": "array", "items": INT}
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    """A closed object: only ``props``; ``required`` must be present."""
    missing = set(required) - set(props)
    assert not missing, missing
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


# -- shared --------------------------------------------------------------------------------------------------------
LINKS = obj(pages=obj(first=STR, prev=STR, next=STR, last=STR))
META = obj(("total",), total=INT)
ERROR = obj(("id", "message"), id=STR, message=STR, request_id=STR)

REGION = obj(
    ("available", "features", "name", "sizes", "slug"),
    name=STR,
    slug=STR,
    features=STRS,
    available=BOOL,
    sizes=STRS,
)
DISK_INFO = obj(type=enum("local", "boot", "scratch"), size=obj(amount=INT, unit=STR))
SIZE = obj(
    (
        "available",
        "disk",
        "memory",
        "price_hourly",
        "price_monthly",
        "regions",
        "slug",
        "transfer",
        "vcpus",
        "description",
    ),
    slug=STR,
    memory={"type": "integer", "multipleOf": 8, "minimum": 8},
    vcpus=INT,
    disk=INT,
    transfer=NUM,
    price_monthly=NUM,
    price_hourly=NUM,
    regions=STRS,
    available=BOOL,
    description=STR,
    disk_info=array(DISK_INFO),
    gpu_info=ANY_OBJECT,  # GPU sizes only; never read
)


def listing(key: str, item: dict[str, Any], *, key_required: bool = True) -> dict[str, Any]:
    """A paginated list reply: ``{key: [...], "links": {...}, "meta": {"total": n}}``."""
    return obj((key, "meta") if key_required else ("meta",), **{key: array(item)}, links=LINKS, meta=META)


# -- Kubernetes ----------------------------------------------------------------------------------------------------
NODE = obj(  # the reference marks nothing required; every example carries all six
    ("id", "name", "status", "droplet_id", "created_at", "updated_at"),
    id=UUID,
    name=STR,
    status=obj(state=enum("provisioning", "running", "draining", "deleting")),
    droplet_id=STR,
    created_at=TIME,
    updated_at=TIME,
)
TAINT = obj(key=STR, value=STR, effect=enum("NoSchedule", "PreferNoSchedule", "NoExecute"))
NODE_POOL = obj(
    ("name", "size", "count"),
    id=UUID,
    name=STR,
    size=STR,
    count=INT,
    tags=STRS,
    labels=nullable(ANY_OBJECT),
    taints=array(TAINT),
    auto_scale=BOOL,
    min_nodes=INT,
    max_nodes=INT,
    nodes=array(NODE),
)
CLUSTER_STATES = ("running", "provisioning", "degraded", "error", "deleted", "upgrading", "deleting")
CLUSTER = obj(
    ("name", "region", "version", "node_pools"),
    id=UUID,
    name=STR,
    region=STR,
    version=STR,
    cluster_subnet={"type": "string", "format": "cidr"},
    service_subnet={"type": "string", "format": "cidr"},
    vpc_uuid=UUID,
    worker_subnet_uuid=UUID,
    ipv4=STR,
    endpoint=STR,
    tags=STRS,
    node_pools=array(NODE_POOL),
    maintenance_policy=nullable(obj(start_time=STR, duration=STR, day=STR)),
    auto_upgrade=BOOL,
    isolated_workers=BOOL,
    status=obj(("state",), state=enum(*CLUSTER_STATES), message=STR),  # state: in every example
    created_at=TIME,
    updated_at=TIME,
    surge_upgrade=BOOL,
    ha=BOOL,
    registry_enabled=BOOL,
    registries=nullable(STRS),
    # add-on settings: objects the course never reads
    control_plane_firewall=ANY_OBJECT,
    cluster_autoscaler_configuration=ANY_OBJECT,
    sso=ANY_OBJECT,
    routing_agent=ANY_OBJECT,
    amd_gpu_device_plugin=ANY_OBJECT,
    amd_gpu_device_metrics_exporter_plugin=ANY_OBJECT,
    nvidia_gpu_device_plugin=ANY_OBJECT,
    rdma_shared_dev_plugin=ANY_OBJECT,
    coredns_autoscaler=ANY_OBJECT,
    p2p_oci_registry_plugin=ANY_OBJECT,
)
ASSOCIATED_RESOURCE = obj(("id", "name"), id=STR, name=STR)  # both in every example
ASSOCIATED = obj(
    ("load_balancers", "volumes", "volume_snapshots"),  # the reply's description names all three keys
    load_balancers=array(ASSOCIATED_RESOURCE),
    volumes=array(ASSOCIATED_RESOURCE),
    volume_snapshots=array(ASSOCIATED_RESOURCE),
)
K8S_OPTIONS = obj(
    ("options",),
    options=obj(
        ("regions", "versions", "sizes"),  # the reply's description names all three
        regions=array(obj(("name", "slug"), name=STR, slug=STR)),
        versions=array(obj(("slug", "kubernetes_version"), slug=STR, kubernetes_version=STR, supported_features=STRS)),
        sizes=array(obj(("name", "slug"), name=STR, slug=STR)),
    ),
)

# -- load balancers, volumes, snapshots, Droplets ------------------------------------------------------------------
FORWARDING_RULE = obj(
    ("entry_protocol", "entry_port", "target_protocol", "target_port"),
    entry_protocol=enum("http", "https", "http2", "http3", "tcp", "udp"),
    entry_port=INT,
    target_protocol=enum("http", "https", "http2", "tcp", "udp"),
    target_port=INT,
    certificate_id=STR,
    tls_passthrough=BOOL,
)
LOAD_BALANCER = obj(
    ("forwarding_rules",),
    id=UUID,
    name=STR,
    project_id=STR,
    ip={"type": "string", "pattern": r"^$|^(\d{1,3}\.){3}\d{1,3}$"},
    ipv6=STR,
    size_unit={"type": "integer", "minimum": 1, "maximum": 100},
    size=enum("lb-small", "lb-medium", "lb-large"),
    algorithm=enum("round_robin", "least_connections"),
    status=enum("new", "active", "errored"),
    created_at=TIME,
    forwarding_rules=array(FORWARDING_RULE, minItems=1),
    health_check=obj(
        protocol=enum("http", "https", "tcp"),
        port=INT,
        path=STR,
        check_interval_seconds=INT,
        response_timeout_seconds=INT,
        unhealthy_threshold=INT,
        healthy_threshold=INT,
    ),
    sticky_sessions=obj(type=enum("cookies", "none"), cookie_name=STR, cookie_ttl_seconds=INT),
    redirect_http_to_https=BOOL,
    enable_proxy_protocol=BOOL,
    enable_backend_keepalive=BOOL,
    http_idle_timeout_seconds={"type": "integer", "minimum": 30, "maximum": 600},
    vpc_uuid=UUID,
    disable_lets_encrypt_dns_records=BOOL,
    firewall=obj(deny=STRS, allow=STRS),
    network=enum("EXTERNAL", "INTERNAL"),
    network_stack=enum("IPV4", "DUALSTACK"),
    type=enum("REGIONAL", "REGIONAL_NETWORK", "GLOBAL"),
    domains=array(ANY_OBJECT),  # global load balancers only
    glb_settings=ANY_OBJECT,  # global load balancers only
    target_load_balancer_ids=STRS,
    tls_cipher_policy=enum("DEFAULT", "STRONG"),
    region=REGION,
    droplet_ids=INTS,
    tag=STR,  # the Droplet selector; there is no "tags" field
)
VOLUME = obj(  # the reference marks nothing required; every example carries these seven
    ("id", "name", "region", "droplet_ids", "size_gigabytes", "created_at", "tags"),
    id=STR,
    droplet_ids=nullable(INTS),
    name=STR,
    description=STR,
    size_gigabytes=INT,
    created_at=TIME,
    tags=nullable(STRS),
    region=REGION,
    filesystem_type=STR,
    filesystem_label=STR,
)
SNAPSHOT = obj(
    ("id", "name", "created_at", "regions", "min_disk_size", "size_gigabytes", "resource_id", "resource_type", "tags"),
    id=STR,
    name=STR,
    created_at=TIME,
    regions=STRS,
    min_disk_size=INT,
    size_gigabytes=NUM,
    resource_id=STR,
    resource_type=enum("droplet", "volume"),
    tags=nullable(STRS),
)
IMAGE = obj(  # the reference marks nothing required
    id=INT,
    name=STR,
    type=enum("base", "snapshot", "backup", "custom", "admin"),
    distribution=STR,
    slug=nullable(STR),
    public=BOOL,
    regions=STRS,
    created_at=TIME,
    min_disk_size=nullable({"type": "integer", "minimum": 0}),
    size_gigabytes=nullable(NUM),
    description=STR,
    tags=nullable(STRS),
    status=enum("NEW", "available", "pending", "deleted", "retired"),
    error_message=STR,
)
NETWORK_V4 = obj(
    ip_address={"type": "string", "format": "ipv4"},
    netmask={"type": "string", "format": "ipv4"},
    gateway=STR,
    type=enum("public", "private"),
)
NETWORK_V6 = obj(ip_address=STR, netmask=INT, gateway=STR, type=enum("public"))
DROPLET = obj(
    (
        "id",
        "name",
        "memory",
        "vcpus",
        "disk",
        "locked",
        "status",
        "created_at",
        "features",
        "backup_ids",
        "next_backup_window",
        "snapshot_ids",
        "image",
        "volume_ids",
        "size",
        "size_slug",
        "networks",
        "region",
        "tags",
    ),
    id=INT,
    name=STR,
    memory=INT,
    vcpus=INT,
    disk=INT,
    disk_info=array(DISK_INFO),
    locked=BOOL,
    status=enum("new", "active", "off", "archive"),
    kernel=nullable(ANY_OBJECT),
    created_at=TIME,
    features=STRS,
    backup_ids=INTS,
    next_backup_window=nullable(obj(start=TIME, end=TIME)),
    snapshot_ids=INTS,
    image=IMAGE,
    volume_ids=STRS,
    size=SIZE,
    size_slug=STR,
    networks=obj(v4=array(NETWORK_V4), v6=array(NETWORK_V6)),
    region=REGION,
    tags=STRS,
    vpc_uuid=STR,
    gpu_info=ANY_OBJECT,
)

# -- replies by request --------------------------------------------------------------------------------------------
_UUID_PART = r"[0-9a-f-]{36}"
REPLIES: list[tuple[str, re.Pattern[str], dict[str, Any]]] = [
    ("GET", re.compile(r"/v2/sizes"), listing("sizes", SIZE)),
    ("GET", re.compile(r"/v2/kubernetes/options"), K8S_OPTIONS),
    ("GET", re.compile(r"/v2/kubernetes/clusters"), listing("kubernetes_clusters", CLUSTER, key_required=False)),
    ("POST", re.compile(r"/v2/kubernetes/clusters"), obj(kubernetes_cluster=CLUSTER)),
    ("GET", re.compile(rf"/v2/kubernetes/clusters/{_UUID_PART}"), obj(kubernetes_cluster=CLUSTER)),
    ("GET", re.compile(rf"/v2/kubernetes/clusters/{_UUID_PART}/destroy_with_associated_resources"), ASSOCIATED),
    ("GET", re.compile(r"/v2/load_balancers"), listing("load_balancers", LOAD_BALANCER, key_required=False)),
    ("GET", re.compile(r"/v2/volumes"), listing("volumes", VOLUME)),
    ("GET", re.compile(r"/v2/snapshots"), listing("snapshots", SNAPSHOT, key_required=False)),
    ("GET", re.compile(r"/v2/droplets"), listing("droplets", DROPLET, key_required=False)),
]
# replies with no body: the deletes (204 No Content)
NO_CONTENT = [
    ("DELETE", re.compile(rf"/v2/kubernetes/clusters/{_UUID_PART}/destroy_with_associated_resources/dangerous")),
    ("DELETE", re.compile(rf"/v2/load_balancers/{_UUID_PART}")),
    ("DELETE", re.compile(r"/v2/volumes/[^/]+")),
    ("DELETE", re.compile(r"/v2/snapshots/[^/]+")),
    ("DELETE", re.compile(r"/v2/droplets/\d+")),
]
KUBECONFIG = ("GET", re.compile(rf"/v2/kubernetes/clusters/{_UUID_PART}/kubeconfig"))

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return (
        not isinstance(value, str)
        or re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value) is not None
    )


@FORMATS.checks("date-time")
def _is_time(value: object) -> bool:
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
    return not isinstance(value, str) or re.fullmatch(pattern, value) is not None


@FORMATS.checks("cidr", raises=ValueError)
def _is_cidr(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.ip_network(value))


@FORMATS.checks("ipv4", raises=ValueError)
def _is_ipv4(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.IPv4Address(value))


def validate(body: Any, schema: dict[str, Any]) -> None:
    """Raise :class:`jsonschema.ValidationError` unless ``body`` fits ``schema`` (formats included)."""
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)


def schema_for(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The schema of the reply to ``method path`` with HTTP ``status`` (``None``: no body is defined)."""
    if status >= 400:
        return ERROR
    if any(m == method and p.fullmatch(path) for m, p in NO_CONTENT):
        return None
    for m, p, schema in REPLIES:
        if m == method and p.fullmatch(path):
            return schema
    raise LookupError(f"no schema for {method} {path}: add one from the API reference before serving it")


def check_reply(method: str, path: str, status: int, content_type: str, body: bytes | None) -> None:
    """Hold one served reply to the reference: its content type and, for JSON, its fields (``body=None``: the client
    streamed the body away, so only the content type and status can be checked)."""
    import json

    kind = content_type.split(";")[0].strip()
    if KUBECONFIG[0] == method and KUBECONFIG[1].fullmatch(path) and status < 400:
        assert kind == "application/yaml", f"{method} {path}: the kubeconfig is served as {kind}"
        return
    schema = schema_for(method, path, status)
    if schema is None:
        assert status == 204 and not body, f"{method} {path}: expected 204 with no body, got {status}"
        return
    assert kind == "application/json", f"{method} {path}: served as {kind}"
    if body is not None:
        validate(json.loads(body), schema)
