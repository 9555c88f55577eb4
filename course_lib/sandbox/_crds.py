"""Upstream's own CustomResourceDefinitions on the sandbox's API server.

The projects the course installs on a cluster (Argo CD, Kyverno, CloudNativePG, Traefik, Istio, Gateway API, the
Prometheus Operator, Sealed Secrets) ship their CRDs as YAML files inside their Go modules. ``make tools`` runs
:func:`fetch`: it downloads each module pinned in :data:`course_lib.pins.UPSTREAM_CRDS` from the Go module proxy
(source only; nothing is compiled) and copies the CRD documents into the cache, with a manifest of where each came
from. The session then installs them into the sandbox's control plane (:func:`install`), so a custom resource
applied there is judged by upstream's schema, CEL rules included — not by the course's authored copy.

Kinds with no obtainable CRD (External Secrets Operator: its module is not served) get an open placeholder CRD
(:func:`placeholders`) and are checked by the authored schemas in ``data/crds`` only.

Example:
    >>> from course_lib.sandbox import crds
    >>> crds.cache_path().name.startswith("crds-")
    True
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import CourseError, SandboxError
from . import _process

if TYPE_CHECKING:  # pragma: no cover
    from ..cluster import ApplyReport, Cluster
    from ..pins import CrdSource

#: Label on every upstream CRD the course installed, valued with the pin hash (a changed pin reinstalls them).
LABEL = "course-lib/upstream-crds"


def _sources() -> tuple[CrdSource, ...]:
    from ..pins import UPSTREAM_CRDS

    return UPSTREAM_CRDS


def pin_hash(sources: Sequence[CrdSource] | None = None) -> str:
    """First 12 hex digits of the sha256 of the pinned sources: the cache folder's name and the CRDs' label."""
    text = json.dumps(
        [[s.module, s.version, list(s.paths), *([list(s.kinds)] if s.kinds else [])] for s in (sources or _sources())]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_path(sources: Sequence[CrdSource] | None = None) -> Path:
    """``<cache>/crds-<pin hash>``: where :func:`fetch` writes the CRDs of these sources."""
    return config.cache_dir() / f"crds-{pin_hash(sources)}"


@dataclass(frozen=True)
class FetchedCrd:
    """One CRD as fetched: its name, group, kinds and where it came from."""

    name: str
    group: str
    kind: str
    project: str
    module: str
    version: str
    file: str


def _split_crds(text: str, source: str) -> list[dict[str, Any]]:
    from ..manifests import from_yaml

    return [d for d in from_yaml(text, source=source) if d.get("kind") == "CustomResourceDefinition"]


def _module_dir(module: str, version: str, *, timeout: float) -> Path:
    from .. import tools

    with tempfile.TemporaryDirectory(prefix="course-crds-") as tmp:  # outside any go.mod
        result = tools.run(
            "go",
            ["mod", "download", "-json", f"{module}@{version}"],
            cwd=tmp,
            env={"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"},
            timeout=timeout,
            what=f"go mod download {module}@{version}",
            hint="the Go module proxy must serve this version; pick another in course_lib/pins.py (UPSTREAM_CRDS)",
            include_stdout=True,
        )
    info = json.loads(result.stdout)
    if info.get("Error") or not info.get("Dir"):
        raise SandboxError(f"go mod download {module}@{version} failed: {info.get('Error')}", hint="check the pin")
    return Path(info["Dir"])


def fetch(sources: Sequence[CrdSource] | None = None, *, timeout: float = 600.0) -> Path:
    """Download the pinned modules and write their CRDs to :func:`cache_path` (skipped when already there).

    Writes one ``<project>.yaml`` per source and ``manifest.json`` (one :class:`FetchedCrd` per CRD). Everything is
    written to a temporary folder first, so a failed fetch leaves nothing half-done.

    Raises:
        ToolMissingError: no ``go`` on this machine.
        SandboxError / ToolError: a module or a file named in the pins is missing (the message names which).
    """
    chosen = tuple(sources or _sources())
    target = cache_path(chosen)
    if (target / "manifest.json").is_file():
        return target
    import yaml

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".partial.", dir=target.parent))
    try:
        entries: list[dict[str, str]] = []
        for source in chosen:
            root = _module_dir(source.module, source.version, timeout=timeout)
            docs: list[dict[str, Any]] = []
            for pattern in source.paths:
                files = sorted(p for p in root.rglob("*") if fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern))
                if not files:
                    raise SandboxError(
                        f"{source.module}@{source.version} has no file matching {pattern!r}",
                        hint="upstream moved its CRDs: update the path in course_lib/pins.py (UPSTREAM_CRDS)",
                    )
                for file in files:
                    found = [
                        d
                        for d in _split_crds(file.read_text(), str(file))
                        if not source.kinds or (d.get("spec") or {}).get("names", {}).get("kind") in source.kinds
                    ]
                    docs.extend(found)
                    rel = file.relative_to(root).as_posix()
                    for doc in found:
                        spec = doc.get("spec") or {}
                        entries.append(
                            {
                                "name": doc["metadata"]["name"],
                                "group": str(spec.get("group")),
                                "kind": str((spec.get("names") or {}).get("kind")),
                                "project": source.project,
                                "module": source.module,
                                "version": source.version,
                                "file": rel,
                            }
                        )
            slug = source.project.lower().replace(" ", "-")
            (partial / f"{slug}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
        (partial / "manifest.json").write_text(json.dumps(entries, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def available(sources: Sequence[CrdSource] | None = None) -> bool:
    """True when :func:`fetch` has written the CRDs of the current pins."""
    return (cache_path(sources) / "manifest.json").is_file()


def manifest(sources: Sequence[CrdSource] | None = None) -> list[FetchedCrd]:
    """What was fetched: one entry per CRD (empty when nothing was)."""
    path = cache_path(sources) / "manifest.json"
    if not path.is_file():
        return []
    return [FetchedCrd(**entry) for entry in json.loads(path.read_text())]


def load(sources: Sequence[CrdSource] | None = None) -> list[dict[str, Any]]:
    """The fetched CRD objects, each labelled with :data:`LABEL` (empty when nothing was fetched)."""
    folder = cache_path(sources)
    if not (folder / "manifest.json").is_file():
        return []
    label = pin_hash(sources)
    crds = []
    for file in sorted(folder.glob("*.yaml")):
        for doc in _split_crds(file.read_text(), str(file)):
            meta = doc.setdefault("metadata", {})
            meta.pop("creationTimestamp", None)
            meta.setdefault("labels", {})[LABEL] = label
            doc.pop("status", None)
            crds.append(doc)
    return crds


def installed_names(cluster: Cluster) -> set[str]:
    """Names of the CRDs the API server holds."""
    return {
        c["metadata"]["name"] for c in cluster.list("CustomResourceDefinition", api_version="apiextensions.k8s.io/v1")
    }


#: What an API server answers a list with when asked for the objects' metadata only (names, labels, no spec).
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def served_names(kubeconfig: str) -> set[str]:
    """Names of the CRDs the API server at ``kubeconfig`` holds, read as metadata only: ``kubectl get crd -o
    name`` downloads every CRD whole (the course's 40 are 3.8 MB of schema), and that kubectl alone was 110 MiB
    at Part 2's memory peak (benchmarks/notebook_memory.py)."""
    from ..cluster import connect

    with connect("sandbox", kubeconfig=kubeconfig) as cluster:
        return _names_on(cluster)


def _names_on(cluster: Cluster, *, selector: str | None = None) -> set[str]:
    """Names of the CRDs ``cluster`` holds (those with the labels of ``selector``, when given), read as metadata
    only (see :func:`served_names`)."""
    params = {"labelSelector": selector} if selector else None
    listed = cluster.get_raw(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", params=params, accept=METADATA_ONLY
    )
    return {item["metadata"]["name"] for item in json.loads(listed.text).get("items") or []}


def project_crds(projects: Collection[str], sources: Sequence[CrdSource] | None = None) -> set[str]:
    """Names of the fetched CRDs of ``projects`` (project names of ``pins.UPSTREAM_CRDS``: ``Argo CD`` ...)."""
    return {e.name for e in manifest(sources) if e.project in projects}


def install(
    cluster: Cluster,
    sources: Sequence[CrdSource] | None = None,
    *,
    without: Collection[str] = (),
    only: Collection[str] | None = None,
) -> ApplyReport | None:
    """Install the fetched upstream CRDs into ``cluster`` (the sandbox's control plane), unless all of this pin are
    there already; those of the projects ``without`` are left out (the session's part does not use them, see
    ``sandbox._services.idle_crd_projects``), and with ``only`` just those of the projects named. Returns the apply
    report, or ``None`` when nothing was to do (or nothing was fetched)."""
    wanted = {e.name for e in manifest(sources) if e.project not in without and (only is None or e.project in only)}
    if not wanted:
        return None
    label = pin_hash(sources)
    present = _names_on(cluster, selector=f"{LABEL}={label}")  # asked at every part's start: names only
    if wanted <= present:
        return None  # without reading the CRDs' files: parsing all 40 takes about 7.6 s
    missing = [c for c in load(sources) if c["metadata"]["name"] in wanted - present]
    return cluster.apply(missing, force=True)


def shed(cluster: Cluster, projects: Collection[str], *, timeout: float = 60.0) -> list[str]:
    """Delete from ``cluster`` (the sandbox's control plane) the upstream CRDs of ``projects`` that are installed,
    and with them every object of their kinds; returns the names of the CRDs deleted (sorted; empty when none was
    there).

    Finalizers are taken off the remaining objects first: the controller that would honour them is not running
    (its service was stopped), and an object whose finalizer nobody removes keeps its CRD terminating forever.

    Raises:
        SandboxError: the CRDs were still there after ``timeout`` seconds.
    """
    names = project_crds(projects) & _names_on(cluster)  # asked at every part's start: names only, not 3.8 MB
    if not names:
        return []
    merge = "application/merge-patch+json"
    for name in sorted(names):
        spec = cluster.get("CustomResourceDefinition", name, api_version="apiextensions.k8s.io/v1")["spec"]
        version = next((v["name"] for v in spec["versions"] if v.get("storage")), spec["versions"][0]["name"])
        api = cluster.dynamic.resources.get(api_version=f"{spec['group']}/{version}", kind=spec["names"]["kind"])
        for obj in api.get().to_dict().get("items") or []:
            meta = obj["metadata"]
            if meta.get("finalizers"):
                api.patch(
                    name=meta["name"], namespace=meta.get("namespace"), body={"metadata": {"finalizers": None}},
                    content_type=merge,
                )  # fmt: skip
    cluster.delete(
        [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": n}}
         for n in sorted(names)]
    )  # fmt: skip
    left: set[str] = names

    def deleted() -> bool:
        nonlocal left
        left = names & _names_on(cluster)
        return not left

    if not _process.wait_until(deleted, deadline=time.monotonic() + timeout, interval=0.2):
        raise SandboxError(
            f"the CRDs {', '.join(sorted(left))} were still being deleted after {timeout:.0f} s",
            hint="see `kubectl get crd -o yaml` (status.conditions) on the sandbox, or `course sandbox down`",
        )
    _forget_discovery(cluster)
    return sorted(names)


def _forget_discovery(cluster: Cluster) -> None:
    """After kinds went away: read the course's discovery cache of this server again (it would still list them),
    and drop kubectl's (``~/.kube/cache/discovery/<host>_<port>``), which kubectl rebuilds at its next call."""
    from urllib.parse import urlsplit

    cluster.dynamic.resources.invalidate_cache()
    address = urlsplit(str(cluster.dynamic.configuration.host))
    if address.hostname and address.port:
        shutil.rmtree(Path.home() / ".kube" / "cache" / "discovery" / f"{address.hostname}_{address.port}",
                      ignore_errors=True)  # fmt: skip


def prime_paths(crds: Iterable[Mapping[str, Any]], *, exclude: Sequence[Mapping[str, Sequence[str]]] = ()) -> list[str]:
    """One list path per CRD (its storage version when served, else its first served one) and the OpenAPI v2
    document: what :func:`prime` asks for. ``exclude`` holds Argo CD's ``resource.exclusions`` entries
    (``apiGroups`` and ``kinds``, with globs): a kind they exclude is one the controller never lists.

    >>> app = {"spec": {"group": "argoproj.io", "names": {"plural": "applications", "kind": "Application"},
    ...        "versions": [{"name": "v1alpha1", "served": True, "storage": True}]}}
    >>> prime_paths([app])
    ['/apis/argoproj.io/v1alpha1/applications', '/openapi/v2']
    >>> prime_paths([app], exclude=[{"apiGroups": ["argoproj.io"], "kinds": ["App*"]}])
    ['/openapi/v2']
    """
    paths = []
    for crd in crds:
        spec = crd.get("spec") or {}
        served = [v for v in spec.get("versions") or [] if v.get("served")]
        kind = (spec.get("names") or {}).get("kind", "")
        if not served or any(
            any(fnmatch.fnmatch(spec["group"], g) for g in e.get("apiGroups") or ["*"])
            and any(fnmatch.fnmatch(kind, k) for k in e.get("kinds") or ["*"])
            for e in exclude
        ):
            continue
        version = next((v for v in served if v.get("storage")), served[0])["name"]
        paths.append(f"/apis/{spec['group']}/{version}/{spec['names']['plural']}")
    return [*paths, "/openapi/v2"]


#: Content type of the OpenAPI v2 document as controllers ask for it (client-go's discovery: protobuf).
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def prime(cluster: Cluster, *, exclude: Sequence[Mapping[str, Sequence[str]]] = (), workers: int = 4) -> int:
    """Ask the API server once for each custom resource type and for its OpenAPI v2 document; returns how many
    requests were made.

    kube-apiserver builds the handler of a custom resource (its structural schema, validation and conversion)
    on the first request for it, and the protobuf form of the merged OpenAPI document on the first request after
    any CRD changed. A controller that watches every type — Argo CD's cluster cache, in the first sync of
    the first Application — meets all of that at once: about 8 s of CPU on 2 cores for the course's 40 CRDs
    (the server's own pprof, under a 450MiB GOMEMLIMIT). Priming does the same work as the server would do
    anyway, before anyone waits for it; it changes nothing on the server. Requests that fail are ignored (the
    controller asks again itself). ``exclude``: as for :func:`prime_paths`.
    """
    from concurrent.futures import ThreadPoolExecutor

    paths = prime_paths(
        cluster.list("CustomResourceDefinition", api_version="apiextensions.k8s.io/v1"), exclude=exclude
    )

    def ask(path: str) -> None:
        try:
            if path == "/openapi/v2":
                cluster.get_raw(path, accept=OPENAPI_V2_PROTOBUF, timeout=60)
            else:
                cluster.get_raw(path, params={"limit": "1"}, timeout=60)
        except CourseError:  # a warm-up: the controller's own request reports real errors
            pass

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(ask, paths))
    return len(paths)


# --- placeholders for kinds without an obtainable CRD --------------------------------------------------------------

_CLUSTER_SCOPED = {"ClusterPolicy", "ClusterSecretStore", "ClusterIssuer", "ClusterExternalSecret"}


def _plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + ("es" if low.endswith(("s", "x")) else "s")


def custom_kinds(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """``(group, kind) → versions`` of the custom (non built-in) kinds among ``objects``."""
    seen: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        if group and "." in group and not group.endswith(".k8s.io"):
            seen.setdefault((group, str(obj["kind"])), set()).add(version)
    return seen


def placeholders(objects: Iterable[Mapping[str, Any]], *, known: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Open placeholder CRDs for the custom kinds in ``objects`` whose CRD name is not in ``known``.

    For the sandbox only, and only where upstream's CRD could not be fetched: the API server then stores such
    objects without judging them (the course's authored schemas did). Never apply these to a real cluster.

    Example:
        >>> [c["metadata"]["name"] for c in placeholders([{"apiVersion": "external-secrets.io/v1",
        ...                                                 "kind": "ClusterSecretStore"}])]
        ['clustersecretstores.external-secrets.io']
        >>> placeholders([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"}],
        ...              known={"applications.argoproj.io"})
        []
    """
    skip = set(known)
    crds = []
    for (group, kind), versions in sorted(custom_kinds(objects).items()):
        plural = _plural(kind)
        name = f"{plural}.{group}"
        if name in skip:
            continue
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        crds.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": name},
                "spec": {
                    "group": group,
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                    "scope": "Cluster" if kind in _CLUSTER_SCOPED else "Namespaced",
                    "versions": [
                        {"name": v, "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": schema}}
                        for i, v in enumerate(sorted(versions))
                    ],
                },
            }
        )
    return crds


def namespaces_used(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """The namespaces ``objects`` live in, sorted."""
    return sorted({str(o["metadata"]["namespace"]) for o in objects if (o.get("metadata") or {}).get("namespace")})


def prerequisites(objects: Sequence[Mapping[str, Any]], *, known: Iterable[str] = ()) -> list[dict[str, Any]]:
    """What the sandbox's API server needs before ``objects`` and a cluster's charts would bring: :func:`placeholders`
    for custom kinds whose CRD is not in ``known``, then a Namespace for every namespace they use but do not create.

    Example:
        >>> [o["kind"] for o in prerequisites([{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        ...                                      "metadata": {"name": "root", "namespace": "argocd"}}])]
        ['CustomResourceDefinition', 'Namespace']
    """
    from ..manifests import namespace

    created = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
    missing = [n for n in namespaces_used(objects) if n not in created]
    return [*placeholders(objects, known=known), *(namespace(n) for n in missing)]


__all__ = [
    "LABEL",
    "FetchedCrd",
    "available",
    "cache_path",
    "custom_kinds",
    "fetch",
    "install",
    "installed_names",
    "load",
    "manifest",
    "namespaces_used",
    "pin_hash",
    "placeholders",
    "prerequisites",
    "project_crds",
    "shed",
]


def main(argv: Sequence[str] | None = None) -> int:
    """``course sandbox crds``: fetch the pinned CRDs (what ``make tools`` runs)."""
    import time

    from ..errors import CourseError, ToolMissingError

    start = time.perf_counter()
    try:
        folder = fetch()
    except ToolMissingError as exc:  # like scripts/build_tools.sh: no Go, nothing to fetch; placeholders stand in
        print(f"[crds] skipped: {exc}")
        return 0
    except CourseError as exc:
        print(f"[crds] {exc}")
        return 1
    entries = manifest()
    print(f"[crds] {len(entries)} upstream CRDs in {folder} ({time.perf_counter() - start:.0f} s)")
    return 0
