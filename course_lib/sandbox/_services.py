"""The sandbox's services by name, and stopping those the current part does not use.

A part's first cell (``cl.start(part=N)``) calls :func:`release` with the services part *N* uses
(:data:`course_lib.parts.PARTS`): what an earlier part left running is stopped, so a notebook's peak memory is its
own services plus the control plane, not everything every earlier part started (Argo CD alone keeps 0.4-0.6 GB
resident). Whatever a part needs again starts on demand when its cell asks for it (``session.gitops()``,
``session.stack()``, ...). The control plane is never released: every deploying part uses it.

Names: ``stack`` (Prometheus, Alertmanager, VictoriaLogs, the checkout demo ...), ``postgres``, ``argocd``,
``regions`` (Part 9's extra control planes) and every on-demand group by its own name (``traefik`` ...).

Used in: :func:`course_lib.session.start`; ``benchmarks/notebook_memory.py`` measures the effect.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from .. import config

#: The services that are not on-demand groups: name -> (is it running?, stop it), both looked up when called
_FIXED: dict[str, tuple[Callable[[], bool], Callable[[], tuple[str, ...]]]] = {}


def _fixed() -> dict[str, tuple[Callable[[], bool], Callable[[], tuple[str, ...]]]]:
    if not _FIXED:
        from . import _argocd, _controlplane, _postgres, _stack

        _FIXED.update(
            {
                "stack": (lambda: _stack.state_file().exists(), lambda: _stack.stop_stack()),
                "postgres": (lambda: _postgres.state_path().exists(), lambda: _postgres.down()),
                "argocd": (lambda: _argocd.state_file().exists(), lambda: _argocd.down()),
                "regions": (
                    lambda: any(config.state_dir().glob("sandbox-cluster-*")),
                    lambda: _controlplane.extra_clusters_down(),
                ),
            }
        )
    return _FIXED


def running() -> list[str]:
    """The names of the services recorded as running in this sandbox (changes nothing)."""
    from . import _ondemand

    groups = sorted({group for group, *_ in _ondemand.statuses()})
    return [name for name, (is_running, _stop) in _fixed().items() if is_running()] + groups


def release(keep: Collection[str]) -> tuple[str, ...]:
    """Stop every running service whose name is not in ``keep``; returns the names of the services stopped.

    Example:
        >>> release(keep={"stack", "postgres", "argocd", "regions"})  # nothing else runs here
        ()
    """
    stopped = [name for name in running() if name not in keep]
    stop(stopped)
    if stopped and "stack" in keep and _stack_runs():
        from ._stack import reload_on_demand_jobs

        reload_on_demand_jobs()  # Prometheus stops scraping the groups that are gone
    return tuple(stopped)


#: Upstream CRDs the sandbox's API server holds only while the part runs the service that uses them: service name ->
#: projects of ``pins.UPSTREAM_CRDS``. All 40 upstream CRDs cost the kube-apiserver about 390 MiB (275 -> 657 MiB
#: PSS, bare control plane, 2026-12-07), Argo CD's three 274 MiB of that (ApplicationSet alone 195: its generators
#: nest the Application template three deep), mostly live heap: a lower GOGC does not shrink it, and a running server
#: keeps it after the CRDs are deleted. So a part that does not run Argo CD gets a control plane without them.
SERVICE_CRDS: dict[str, tuple[str, ...]] = {"argocd": ("Argo CD",)}


def idle_crd_projects(keep: Collection[str], uses: Collection[str] | None = None) -> tuple[str, ...]:
    """The CRD projects (of ``pins.UPSTREAM_CRDS``) a part does not need: those of :data:`SERVICE_CRDS` whose service
    is not in ``keep``, and, when the part names the projects it ``uses`` (``parts.Part.crds``), every other one.

    Example:
        >>> idle_crd_projects({"stack"}), idle_crd_projects({"argocd", "regions"})
        (('Argo CD',), ())
        >>> idle_crd_projects({"argocd"}, uses={"Argo CD", "Sealed Secrets", "Kyverno", "Prometheus Operator",
        ...                                      "CloudNativePG", "Barman Cloud plugin", "Istio", "Traefik"})
        ('Gateway API',)
    """
    from .. import pins

    idle = [p for service, projects in SERVICE_CRDS.items() if service not in keep for p in projects]
    if uses is not None:
        idle += [s.project for s in pins.UPSTREAM_CRDS if s.project not in uses and s.project not in idle]
    return tuple(idle)


def release_crds(keep: Collection[str], uses: Collection[str] | None = None) -> tuple[str, ...]:
    """Give the running control plane the upstream CRDs of the part that starts, and restart its API server once
    if that changed any (``_controlplane.cluster_restart``: the kube-apiserver alone, about 3 s); returns what went,
    e.g. ``("Argo CD CRDs",)``. Nothing happens (``()``) when no control plane runs or its CRDs are already the part's.

    The CRDs the part does not need (:func:`idle_crd_projects` of ``keep`` and ``uses``) are deleted, with every
    object of their kinds: the services that used them were stopped first (:func:`release`), nobody is left to act
    on those objects. Those it needs and an earlier part deleted are installed again. Both end in a new server: a
    running one keeps the memory of every CRD it has served after the CRD is gone, and one that takes 37 CRDs while
    running grew to 778 MiB where a server started with all 40 holds 657 (PSS, Part 10 after Part 9, 2026-12-07).
    """
    projects = idle_crd_projects(keep, uses)
    from ..cluster import connect
    from . import _controlplane, _crds

    status = _controlplane.cluster_status()
    if not status.get("healthy") or not _crds.available():
        return ()
    with connect("sandbox", kubeconfig=status["kubeconfig"]) as cluster:
        shed = _crds.shed(cluster, projects) if projects else []
        added = _crds.install(cluster, without=projects)
    if not shed and added is None:
        return ()
    _controlplane.cluster_restart()
    gone = {e.project for e in _crds.manifest() if e.name in shed}
    return tuple(f"{p} CRDs" for p in projects if p in gone)


def stop(names: Iterable[str]) -> tuple[str, ...]:
    """Stop the named services, in reverse order of ``names`` (the order they were started in), the control plane
    last whatever its place; returns what the services reported as stopped (process names, cleaned objects).

    Names are those of :func:`running`, plus ``control-plane``. On-demand groups stop with their recorded
    clean-up (Kyverno deletes its webhook configurations while the API server still answers).

    Used in: :func:`release`, :meth:`course_lib.session.Session.close`.
    """
    from . import _ondemand
    from ._stack import _locked

    ordered = [n for n in reversed(list(names)) if n != "control-plane"]
    stopped: list[str] = []
    for name in ordered:
        if name in _fixed():
            stopped.extend(_fixed()[name][1]())
        else:
            with _locked():
                stopped.extend(_ondemand.stop_group(name, timeout=10.0))
    if "control-plane" in names:
        from ._controlplane import cluster_down

        if cluster_down():
            stopped.append("control-plane")
    return tuple(stopped)


def _stack_runs() -> bool:
    return _fixed()["stack"][0]()


__all__ = ["release", "running", "stop"]
