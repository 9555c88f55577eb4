"""The course's DOKS cluster on DigitalOcean: create (behind the cost guard), get, kubeconfig, delete, request plans.

Requests go through :class:`~course_lib.provision._client.DOApi`. The create request (a POST) is never retried
blindly: after a 429/5xx/timeout we first look for the cluster by name, so a retry cannot make a twin.

Used in: notebook 01 (create, kubeconfig), notebook 11 (delete, leftovers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import COURSE_TAG, Settings
from ..errors import ConfigError, ProvisionError
from ._client import DOApi
from ._cost import COURSE_LOAD_BALANCERS, COURSE_VOLUMES_GB, check_cost, estimate_cost

if TYPE_CHECKING:
    from ._spec import ClusterSpec

DEFAULT_CREATE_TIMEOUT = 20 * 60.0
DEFAULT_DELETE_TIMEOUT = 10 * 60.0


@dataclass(frozen=True)
class ClusterInfo:
    """A DOKS cluster as DigitalOcean reports it.

    Attributes:
        state: ``provisioning``, ``running``, ``degraded``, ``error``, ``deleting``, ``deleted`` ...
        reused: ``True`` when :func:`create_cluster` found the course's cluster instead of creating a twin.
    """

    id: str
    name: str
    region: str
    version: str
    state: str
    node_count: int
    nodes_running: int
    endpoint: str
    created_at: str
    tags: tuple[str, ...]
    ha: bool
    reused: bool = False
    nodes: tuple[tuple[str, str, str], ...] = ()

    def nodes_table(self) -> Any:
        """A pandas DataFrame of the worker nodes as DigitalOcean reports them (pool, name, state)."""
        import pandas as pd

        return pd.DataFrame(list(self.nodes), columns=["pool", "node", "state"])

    @classmethod
    def from_api(cls, raw: dict[str, Any], *, reused: bool = False) -> ClusterInfo:
        nodes = [n for p in raw.get("node_pools", []) for n in p.get("nodes", [])]
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name", "")),
            region=str(raw.get("region", "")),
            version=str(raw.get("version", "")),
            state=str((raw.get("status") or {}).get("state", "unknown")),
            node_count=sum(int(p.get("count", 0)) for p in raw.get("node_pools", [])),
            nodes_running=sum(1 for n in nodes if (n.get("status") or {}).get("state") == "running"),
            endpoint=str(raw.get("endpoint") or ""),
            created_at=str(raw.get("created_at") or ""),
            tags=tuple(raw.get("tags") or ()),
            ha=bool(raw.get("ha", False)),
            reused=reused,
            nodes=tuple(
                (str(p.get("name", "")), str(n.get("name", "")), str((n.get("status") or {}).get("state", "")))
                for p in raw.get("node_pools", [])
                for n in p.get("nodes", [])
            ),
        )


def _api(api: DOApi | None) -> DOApi:
    return api if api is not None else DOApi()


def _wait_running(api: DOApi, info: ClusterInfo, *, deadline: float, progress: bool) -> ClusterInfo:
    from tqdm.auto import tqdm

    with tqdm(
        total=max(info.node_count, 1), desc=f"{info.name}: {info.state}", unit="node", disable=not progress
    ) as bar:
        while True:
            info = ClusterInfo.from_api(api.get_cluster(info.id), reused=info.reused)
            bar.n = info.nodes_running
            bar.set_description(f"{info.name}: {info.state}")
            bar.refresh()
            if info.state == "running":
                return info
            if info.state in ("error", "deleting", "deleted"):
                raise ProvisionError(
                    f"cluster {info.name!r} went to state {info.state!r} while we waited for 'running'",
                    hint="look at the cluster in the control panel; delete it with delete_cluster() and try again",
                    cluster_id=info.id,
                )
            remaining = deadline - api.clock()
            if remaining <= 0:
                raise ProvisionError(
                    f"cluster {info.name!r} is not running before the deadline (state {info.state!r}, "
                    f"{info.nodes_running}/{info.node_count} nodes ready)",
                    hint=(
                        "it is still being created and billed: run create_cluster again with a longer timeout (it "
                        "reuses the cluster), or delete it with delete_cluster()"
                    ),
                    cluster_id=info.id,
                )
            api.sleep(min(api.poll_interval, remaining))


def _retry_after(exc: ProvisionError, default: float) -> float:
    value = exc.context.get("retry_after")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def create_cluster(
    spec: ClusterSpec,
    *,
    confirm: bool = False,
    max_hourly_cost: float | None = None,
    timeout: float = DEFAULT_CREATE_TIMEOUT,
    load_balancers: int = COURSE_LOAD_BALANCERS,
    volumes_gb: float = COURSE_VOLUMES_GB,
    wait: bool = True,
    progress: bool = True,
    api: DOApi | None = None,
) -> ClusterInfo:
    """Create (or reuse) the course's DOKS cluster and wait until it runs.

    Order: ``confirm`` and the token are checked first (no request); then options are read and the spec is
    validated; then the cost guard runs; then an existing cluster with the same name and the ``k8s-course`` tag is
    reused instead of creating a twin; only then is ``POST /v2/kubernetes/clusters`` sent. One deadline
    (``timeout`` seconds) covers the whole call.

    Args:
        spec: the cluster.
        confirm: must be ``True``: creating a cluster costs money.
        max_hourly_cost: USD/hour limit for the worst case; default ``Settings.max_hourly_cost``.
        timeout: seconds for everything, creation and waiting (DOKS usually needs 4–8 minutes).
        load_balancers, volumes_gb: add-ons priced into the guard (see :func:`estimate_cost`).
        wait: wait until the state is ``running``.
        progress: show a tqdm progress bar of ready nodes.

    Example:
        >>> create_cluster(spec, confirm=True)  # doctest: +SKIP
        ClusterInfo(id='…', name='course-ada', state='running', ...)

    Used in: notebook 01 (``target="doks"`` only).
    """
    if confirm is not True:
        raise ConfigError(
            f"creating cluster {spec.name!r} costs money and needs confirm=True",
            hint="look at estimate_cost(spec) first, then set confirm = True in the parameters cell",
        )
    limit = Settings().max_hourly_cost if max_hourly_cost is None else max_hourly_cost
    api = _api(api)
    deadline = api.clock() + timeout
    options = api.options()
    spec.validate(options)
    check_cost(
        estimate_cost(spec, load_balancers=load_balancers, volumes_gb=volumes_gb, options=options),
        max_hourly_cost=limit,
    )
    raw: dict[str, Any] | None = None
    reused = False
    attempt = 0
    while raw is None:
        existing = api.find_cluster(spec.name)
        if existing is not None:
            if COURSE_TAG not in (existing.get("tags") or []):
                raise ProvisionError(
                    f"a cluster named {spec.name!r} exists but was not created by the course (no {COURSE_TAG!r} tag)",
                    hint="choose another name (e.g. change `learner`), or delete that cluster yourself if it is yours",
                    cluster_id=existing.get("id"),
                )
            raw, reused = existing, True
            break
        try:
            raw = api.post_cluster(spec.to_body())
        except ProvisionError as exc:
            status = exc.context.get("status")
            retryable = status is None or status == 429 or (isinstance(status, int) and status >= 500)
            attempt += 1
            wait_s = _retry_after(exc, min(2.0**attempt, 30.0))
            if not retryable or attempt > 4 or api.clock() + wait_s >= deadline:
                raise
            api.sleep(wait_s)  # then look again by name before re-sending
    info = ClusterInfo.from_api(raw, reused=reused)
    if wait and info.state != "running":
        info = _wait_running(api, info, deadline=deadline, progress=progress)
    return info


def get_cluster(name: str, *, api: DOApi | None = None) -> ClusterInfo | None:
    """The course cluster called ``name``, or ``None``.

    Used in: notebook 11.
    """
    raw = _api(api).find_cluster(name)
    return ClusterInfo.from_api(raw) if raw else None


@dataclass(frozen=True)
class KubeconfigFile:
    """Where a kubeconfig was written. The file holds a bearer token for the cluster: never print it.

    Attributes:
        expiry_seconds: the token's lifetime; DigitalOcean's default (``None``) is 7 days. After that, fetch a new
            one with :func:`kubeconfig`; the cluster itself is unaffected.
    """

    path: Path
    cluster_id: str
    context: str
    expiry_seconds: int | None


def kubeconfig(
    cluster_id: str, path: str | os.PathLike[str], *, expiry_seconds: int | None = None, api: DOApi | None = None
) -> KubeconfigFile:
    """Write the cluster's kubeconfig to ``path`` with mode 0600 (only you may read it).

    DigitalOcean puts a token in it that expires: after 7 days by default, or ``expiry_seconds``. When kubectl then
    answers ``Unauthorized``, call this function again; nothing else changes.

    Example:
        >>> kubeconfig(info.id, "~/.kube/course-ada.yaml")  # doctest: +SKIP
        KubeconfigFile(path=PosixPath('/home/ada/.kube/course-ada.yaml'), ...)

    Used in: notebook 01.
    """
    import yaml

    if expiry_seconds is not None and expiry_seconds <= 0:
        raise ConfigError("expiry_seconds must be positive", hint="omit it for DigitalOcean's default of 7 days")
    text = _api(api).kubeconfig_text(cluster_id, expiry_seconds=expiry_seconds)
    try:
        context = str((yaml.safe_load(text) or {}).get("current-context", ""))
    except yaml.YAMLError:
        raise ProvisionError(
            f"the kubeconfig of cluster {cluster_id} is not valid YAML", hint="try again; report if it persists"
        ) from None
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return KubeconfigFile(target, cluster_id, context, expiry_seconds)


@dataclass(frozen=True)
class DeleteResult:
    """What :func:`delete_cluster` removed.

    Attributes:
        associated: names of the load balancers, volumes and volume snapshots deleted with the cluster, by kind.
    """

    cluster_id: str
    name: str
    gone: bool
    seconds: float
    associated: tuple[tuple[str, tuple[str, ...]], ...] = ()


def delete_cluster(
    cluster: ClusterInfo | str,
    *,
    confirm: bool = False,
    timeout: float = DEFAULT_DELETE_TIMEOUT,
    api: DOApi | None = None,
) -> DeleteResult:
    """Delete a course cluster **with its load balancers, volumes and volume snapshots**, then check it is gone.

    This uses DigitalOcean's ``destroy_with_associated_resources/dangerous`` endpoint: data on the cluster's
    volumes is lost. Only clusters tagged ``k8s-course`` are deleted.

    Args:
        cluster: a :class:`ClusterInfo` or the cluster's name.
        confirm: must be ``True``.
        timeout: seconds to wait until the API no longer knows the cluster.

    Used in: notebook 11.
    """
    name = cluster.name if isinstance(cluster, ClusterInfo) else cluster
    if confirm is not True:
        raise ConfigError(
            f"deleting cluster {name!r} destroys it and its volumes; it needs confirm=True",
            hint="set confirm = True in the parameters cell when you are done with the cluster",
        )
    api = _api(api)
    start = api.clock()
    raw = api.find_cluster(name)
    if raw is None:
        raise ProvisionError(
            f"there is no cluster named {name!r}", hint="it may be deleted already; run `course provision leftovers`"
        )
    if COURSE_TAG not in (raw.get("tags") or []):
        raise ProvisionError(
            f"cluster {name!r} has no {COURSE_TAG!r} tag; the course deletes only what it created",
            hint="delete it in the control panel if it is really yours",
        )
    cid = str(raw["id"])
    listed = api.call(
        f"list resources associated with cluster {cid}", api.client.kubernetes.list_associated_resources, cid
    )
    associated = tuple(
        (kind, tuple(str(r.get("name") or r.get("id")) for r in (listed or {}).get(kind) or []))
        for kind in ("load_balancers", "volumes", "volume_snapshots")
    )
    api.destroy_cluster(cid)
    while True:
        try:
            state = (api.get_cluster(cid).get("status") or {}).get("state")
        except ProvisionError as exc:
            if exc.context.get("status") == 404:
                return DeleteResult(cid, name, True, api.clock() - start, associated)
            raise
        if state == "deleted":
            return DeleteResult(cid, name, True, api.clock() - start, associated)
        remaining = start + timeout - api.clock()
        if remaining <= 0:
            raise ProvisionError(
                f"cluster {name!r} is still there (state {state!r}) after {timeout:.0f} s",
                hint="deletion continues on DigitalOcean's side; check again in a few minutes with get_cluster()",
                cluster_id=cid,
            )
        api.sleep(min(api.poll_interval, remaining))


@dataclass(frozen=True)
class PlannedRequest:
    method: str
    path: str
    purpose: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class RequestPlan:
    """The API calls :func:`create_cluster` would send, without sending them (no token needed)."""

    requests: tuple[PlannedRequest, ...]
    headers: tuple[tuple[str, str], ...]

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [{"method": r.method, "path": r.path, "purpose": r.purpose} for r in self.requests],
        )

    def post_body(self) -> dict[str, Any]:
        """The JSON body of the creating request."""
        return next(r.body for r in self.requests if r.method == "POST" and r.body is not None)


def plan_requests(spec: ClusterSpec, *, with_delete: bool = False) -> RequestPlan:
    """What :func:`create_cluster` (and optionally :func:`delete_cluster`) would send for ``spec``.

    Example:
        >>> from course_lib.provision import ClusterSpec
        >>> [r.method for r in plan_requests(ClusterSpec(name="course-ada")).requests][:4]
        ['GET', 'GET', 'GET', 'POST']

    Used in: notebook 01 (sandbox: shows the requests instead of sending them).
    """
    reqs = [
        PlannedRequest("GET", "/v2/kubernetes/options", "check region, node sizes and version"),
        PlannedRequest("GET", "/v2/sizes?per_page=200", "read node prices for the cost guard"),
        PlannedRequest(
            "GET",
            "/v2/kubernetes/clusters?per_page=200&page=1",
            f"reuse a cluster named {spec.name!r} tagged {COURSE_TAG!r} instead of creating a twin",
        ),
        PlannedRequest(
            "POST", "/v2/kubernetes/clusters", "create the cluster (only if none was found)", spec.to_body()
        ),
        PlannedRequest("GET", "/v2/kubernetes/clusters/{id}", "poll every 10 s until status.state is 'running'"),
        PlannedRequest("GET", "/v2/kubernetes/clusters/{id}/kubeconfig", "download the kubeconfig (written mode 0600)"),
    ]
    if with_delete:
        reqs += [
            PlannedRequest(
                "GET",
                "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources",
                "list the load balancers, volumes and volume snapshots that go with it",
            ),
            PlannedRequest(
                "DELETE",
                "/v2/kubernetes/clusters/{id}/destroy_with_associated_resources/dangerous",
                "delete the cluster with its load balancers, volumes and volume snapshots",
            ),
            PlannedRequest("GET", "/v2/kubernetes/clusters/{id}", "poll until HTTP 404: the cluster is gone"),
        ]
    headers = (("Authorization", "Bearer *** (from DIGITALOCEAN_TOKEN)"), ("Content-Type", "application/json"))
    return RequestPlan(tuple(reqs), headers)
