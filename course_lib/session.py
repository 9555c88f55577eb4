"""The first code cell of every notebook: ``session = cl.start(part=N, target=target, learner=learner)``.

:func:`start` validates the parameters, sets display defaults that keep notebooks small and readable (plotly
figures as their JSON mime type, which JupyterLab renders natively; pandas without truncated columns), and returns
a :class:`Session`: the one object a notebook asks for its settings, its cluster, the sandbox's services, the
kubeconfig for shell cells and what the target can really do (:class:`Capabilities`).

The session owns the sandbox's lifecycle: the cluster layer never starts a process. On the sandbox target the
session starts (or reuses) the local control plane the first time ``session.cluster`` is read, and the monitoring
stack when ``session.stack()`` is called. ``close()`` (or leaving a ``with`` block) stops only what this session
started; what it reused keeps running for the next notebook (``course sandbox down`` stops everything).

Example:
    >>> session = start(target="sandbox")
    >>> session.settings.target
    'sandbox'
    >>> session.capabilities.cloud
    False

Used in: every notebook.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._controllers import acting
from .config import Settings
from .errors import ClusterError, ConfigError, CourseError
from .parts import part as parts_part

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._prerequisites import PrerequisiteReport
    from .cluster import ApplyReport, Cluster
    from .manifests import ValidationReport
    from .sandbox import Stack
    from .sandbox._argocd import ArgoCD
    from .sandbox._express import ExpressApp
    from .sandbox._kyverno import KyvernoEndpoints
    from .sandbox._postgres import LocalPostgres
    from .sandbox._sealed_secrets import SealedSecretsController

_RENDERER = "plotly_mimetype"
#: Set (to anything) to keep every sandbox service running across parts: notebooks of one sandbox run side by side
#: (``course run --jobs N`` sets it for its kernels, a learner with two notebooks open may too).
KEEP_SERVICES = "COURSE_KEEP_SERVICES"

#: Controllers a notebook may ask about, and the API group whose presence shows a cluster has that add-on installed.
#: ``None``: part of every Kubernetes control plane.
CONTROLLERS: Mapping[str, str | None] = {
    "kube-controller-manager": None,  # Deployments → ReplicaSets → Pods, namespaces' ServiceAccounts, GC
    "kube-scheduler": None,
    "argocd": "argoproj.io",
    "sealed-secrets": "bitnami.com",
    "kyverno": "kyverno.io",
    "traefik": "traefik.io",
    "istio": "networking.istio.io",
    "cloudnative-pg": "postgresql.cnpg.io",
    "external-secrets": "external-secrets.io",
    "prometheus-operator": "monitoring.coreos.com",
}


@dataclass(frozen=True)
class Capabilities:
    """What a target can really do. Notebooks ask these, never ``target == "sandbox"``.

    Attributes:
        live_api: a real kube-apiserver answers: objects are stored, admission (Pod Security, ValidatingAdmission-
            Policy) runs, ``kubectl`` and ``helm`` work in shell cells.
        workloads: containers really run (a cluster's nodes). The sandbox's kwok nodes report Pods Running, but no
            container starts, so nothing can be curled or exec'd into.
        cloud: DigitalOcean resources can be created and billed (``doks``).
        local_stack: the sandbox's local services (Prometheus, Alertmanager, VictoriaLogs, the checkout demo) run
            on this machine and can be started by the session.
        disposable: the cluster is the course's own throwaway control plane: the course may install the placeholder
            CRDs a lesson needs (never on a learner's cluster).
        controllers: the controllers that act on what is applied (see :data:`CONTROLLERS`).
        reason: one sentence on what this target cannot do, and why.
    """

    live_api: bool
    workloads: bool
    cloud: bool
    local_stack: bool
    disposable: bool
    controllers: frozenset[str] = field(default_factory=frozenset)
    reason: str = ""

    def runs(self, controller: str) -> bool:
        """True when ``controller`` (a name in :data:`CONTROLLERS`) acts on this target.

        Raises:
            ConfigError: an unknown controller name (a typo would otherwise read as "not installed").

        Example:
            >>> Capabilities(True, False, False, True, True, frozenset({"kube-scheduler"})).runs("kube-scheduler")
            True
        """
        if controller not in CONTROLLERS:
            raise ConfigError(f"unknown controller {controller!r}", hint=f"one of: {', '.join(CONTROLLERS)}")
        return controller in self.controllers

    def to_frame(self) -> pd.DataFrame:
        """One row per capability: yes/no and what it means (notebook 00 shows it)."""
        import pandas as pd

        rows = [
            ("live_api", self.live_api, "a real Kubernetes API server stores objects and runs admission"),
            ("workloads", self.workloads, "containers really run on nodes"),
            ("cloud", self.cloud, "DigitalOcean resources can be created (and billed)"),
            ("local_stack", self.local_stack, "Prometheus, logs and the demo app run on this machine"),
            ("disposable", self.disposable, "the course's own throwaway cluster"),
            ("controllers", bool(self.controllers), ", ".join(sorted(self.controllers)) or "none"),
        ]
        return pd.DataFrame(rows, columns=["capability", "available", "meaning"]).set_index("capability")


def sandbox_capabilities() -> Capabilities:
    """What the sandbox target can do on this machine: the control plane's controllers when ``make tools`` built it."""
    from .cluster._cluster import SANDBOX_DRY_RUN_REASON
    from .sandbox import _controlplane

    if not _controlplane.available():
        return Capabilities(False, False, False, True, True, frozenset(), SANDBOX_DRY_RUN_REASON)
    return Capabilities(
        live_api=True,
        workloads=False,
        cloud=False,
        local_stack=True,
        disposable=True,
        controllers=frozenset({"kube-controller-manager", "kube-scheduler", *_built_sandbox_controllers()}),
        reason="the sandbox's nodes are simulated by kwok: Pods are scheduled and reported Running, but no container runs",
    )


#: Controllers the sandbox runs on demand as local processes, and the program `make tools` builds for each.
SANDBOX_CONTROLLERS: Mapping[str, str] = {"traefik": "traefik", "kyverno": "kyverno-admission-controller"}


def _built_sandbox_controllers() -> set[str]:
    from . import tools
    from .sandbox import _argocd, _kyverno, _sealed_secrets

    found = {name for name, program in SANDBOX_CONTROLLERS.items() if tools.find(program)}
    if "kyverno" in found and not _kyverno.available():  # an older build without the reports controller
        found.discard("kyverno")
    found |= {"argocd"} if _argocd.available() else set()  # Argo CD also needs redis-server
    # the controller's program is called `controller`: looked up in the tools cache only, never on PATH
    return found | ({"sealed-secrets"} if _sealed_secrets.available() else set())


def cluster_capabilities(cluster: Cluster, *, cloud: bool) -> Capabilities:
    """What a real cluster can do: an add-on counts when the cluster serves its API group (its CRDs are there) and
    its controller's workload is ready or its controller holds its leader Lease (:func:`course_lib._controllers.acting`).

    Example (a cluster with Argo CD's CRDs and controller, and Kyverno's CRDs left behind by ``helm uninstall``):
        >>> class Cluster:
        ...     dry_run = False
        ...     def api_groups(self): return frozenset({"apps", "argoproj.io", "kyverno.io"})
        ...     def list(self, kind, api_version):
        ...         return [{"metadata": {"name": "argocd-application-controller"}, "status": {"availableReplicas": 1}}
        ...                 ] if kind == "StatefulSet" else []
        >>> caps = cluster_capabilities(Cluster(), cloud=False)
        >>> caps.runs("argocd"), caps.runs("kyverno")
        (True, False)
        >>> print(caps.reason.split("; ")[1])
        CRDs served, but no ready controller: kyverno
    """
    if cluster.dry_run:
        return Capabilities(False, False, cloud, False, False, frozenset(), str(cluster.reason))
    groups = cluster.api_groups()
    served = {name for name, group in CONTROLLERS.items() if group is None or group in groups}
    found = acting(cluster, served)
    missing = sorted(set(CONTROLLERS) - served)
    idle = sorted(served - found)
    reason = "; ".join(
        filter(
            None,
            (
                f"not installed on this cluster: {', '.join(missing)}" if missing else "",
                f"CRDs served, but no ready controller: {', '.join(idle)}" if idle else "",
            ),
        )
    )
    return Capabilities(True, True, cloud, False, False, frozenset(found), reason)


class Session:
    """One notebook's course session: settings, cluster, sandbox services and capabilities.

    Create it with :func:`start`. Attributes are computed when first read, so a notebook that only renders YAML
    never starts anything.
    """

    def __init__(self, settings: Settings, *, part: int | None = None) -> None:
        self.settings = settings
        self.part = part
        #: the services of earlier parts that :func:`start` stopped for this part (names of
        #: :mod:`course_lib.sandbox._services`)
        self.released: tuple[str, ...] = ()
        self._cluster: Cluster | None = None
        self._capabilities: Capabilities | None = None
        self._started: list[str] = []  # what this session started (and close() stops)

    @property
    def target(self) -> str:
        return self.settings.target

    # ------------------------------------------------------------------ capabilities
    @property
    def capabilities(self) -> Capabilities:
        """What this target can really do (a cluster target is asked through its API on first read)."""
        if self._capabilities is None:
            if self.target == "sandbox":
                self._capabilities = sandbox_capabilities()
            else:
                cloud = self.target == "doks"
                try:
                    self._capabilities = cluster_capabilities(self.cluster, cloud=cloud)
                except CourseError as exc:  # no kubeconfig yet (on doks Part 1 creates the cluster), or no answer
                    self._capabilities = Capabilities(False, True, cloud, False, False, frozenset(), exc.message)
        return self._capabilities

    # ------------------------------------------------------------------ cluster
    @property
    def cluster(self) -> Cluster:
        """The connected :class:`~course_lib.cluster.Cluster`.

        On the sandbox the first read starts the local control plane (or reuses the running one); without a built
        control plane it is a dry-run Cluster that validates and shows plans.
        """
        if self._cluster is None:
            self._cluster = self._connect()
        return self._cluster

    def _connect(self) -> Cluster:
        from . import cluster as kc

        if self.target != "sandbox":
            return kc.connect(self.target, settings=self.settings)
        kubeconfig = os.environ.get(kc._cluster.SANDBOX_KUBECONFIG_ENV)
        if not kubeconfig and self.capabilities.live_api:
            from .sandbox import _controlplane

            was_running = bool(_controlplane.cluster_status().get("healthy"))
            kubeconfig = _controlplane.cluster_up().kubeconfig
            if not was_running:
                self._started.append("control-plane")
        if not kubeconfig:
            return kc.Cluster(target="sandbox", settings=self.settings, reason=self.capabilities.reason)
        cluster = kc.connect("sandbox", settings=self.settings, kubeconfig=kubeconfig)
        from .sandbox import crds

        # upstream's own CRDs (fetched by `make tools`), once per control plane and pin; without those of the
        # services this part does not run (sandbox._services.SERVICE_CRDS), which start(part=N) released
        crds.install(cluster, without=self._idle_crd_projects())
        return cluster

    def _idle_crd_projects(self) -> tuple[str, ...]:
        needs = None if self.part is None else parts_part(self.part)
        if needs is None or needs.services is None or os.environ.get(KEEP_SERVICES):
            return ()
        from .sandbox._services import idle_crd_projects

        return idle_crd_projects(needs.services, needs.crds)

    @property
    def kubeconfig(self) -> str | None:
        """The cluster's kubeconfig file (``None`` for a dry run)."""
        return self.cluster.kubeconfig if not self.cluster.dry_run else None

    def use_in_shell(self) -> str | None:
        """Point ``kubectl``/``helm`` in shell cells (``!kubectl get pods``) at this session's cluster.

        Returns the kubeconfig path, or ``None`` when there is no API server (a dry run): shell cells then say so.
        """
        if not self.capabilities.live_api:
            return None
        return self.cluster.use_in_shell()

    def prerequisites(
        self, *names: str, install: bool = False, timeout: float = 600.0, progress: bool = True
    ) -> PrerequisiteReport:
        """Check, before a part's first custom resource, that the cluster serves the CRDs of the add-ons ``names``
        (``argocd``, ``kyverno`` ...), and show the pinned ``helm upgrade --install`` command of each.

        On the course's own control plane the session installed upstream's CRDs: nothing is installed. On a
        cluster target a missing add-on is installed only with ``install=True`` (the notebook's
        ``install_prerequisites`` parameter), then waited for with a progress bar; the capabilities are read again.

        Raises:
            ConfigError: an unknown add-on, checked before anything is asked or installed.
            ClusterError / ToolError: an install failed or was not ready within ``timeout``.

        Example:
            >>> session.prerequisites("argocd", install=install_prerequisites)  # doctest: +SKIP

        Used in: notebooks 02, 04, 05, 08, 09, 10.
        """
        from . import _prerequisites

        for name in names:
            _prerequisites.add_on(name)  # a typo fails before the cluster is even connected
        caps = self.capabilities
        cluster = self.cluster if caps.live_api else None  # on doks before Part 1 made it: no cluster to ask yet
        report = _prerequisites.check(
            cluster, names, install=install, disposable=caps.disposable, timeout=timeout, progress=progress
        )
        if any(c.status == "installed" for c in report.checks):
            self._capabilities = None  # the add-on's API group is served now
        return report

    def prepare(self, objects: Sequence[Mapping[str, Any]]) -> ApplyReport | None:
        """On the course's own control plane, give the API server what ``objects`` need and a cluster's charts would
        bring: a Namespace for every namespace they use but do not create, and an open placeholder CRD for each
        custom kind whose upstream CRD is not installed (upstream's are, where ``make tools`` could fetch them).

        Returns the apply report, or ``None`` on a learner's cluster (nothing is ever installed there) or when
        nothing was missing.

        Raises:
            ClusterError: on a learner's cluster, some custom kinds are not served (their add-on is not installed);
                the message names each add-on, and nothing has been applied.

        Used in: notebooks 02, 08, 09, 10.
        """
        if not self.capabilities.disposable:
            self._check_served(objects)
            return None
        from .sandbox import crds

        cluster = self.cluster
        needed = crds.prerequisites(objects, known=crds.installed_names(cluster) if not cluster.dry_run else ())
        return cluster.apply(needed) if needed else None

    def validate(self, objects: Sequence[Mapping[str, Any]]) -> ValidationReport:
        """Validate ``objects`` by the sandbox's API server (server-side dry run against upstream's CRDs) where the
        session has one, else offline (``course_lib.manifests.validate``). The report says which judged each kind.

        Used in: ``course validate --server``.
        """
        from .manifests import validate

        objects = list(objects)
        if not (self.capabilities.disposable and self.capabilities.live_api):
            return validate(objects)
        from .cluster._server_validate import server_validate
        from .manifests import namespace
        from .sandbox import crds

        cluster = self.cluster
        # placeholders for kinds without an upstream CRD, and every namespace the objects use: a dry run into a
        # missing namespace is refused, even when the batch itself creates it
        needed = [
            *crds.placeholders(objects, known=crds.installed_names(cluster)),
            *(namespace(n) for n in crds.namespaces_used(objects)),
        ]
        if needed:
            cluster.apply(needed)
        upstream = {(e.group, e.kind): f"{e.project} {e.version}" for e in crds.manifest()}
        return server_validate(self.cluster, objects, upstream=upstream)

    def _check_served(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """On a learner's cluster: refuse, before anything is applied, objects whose kinds it does not serve, and
        name the add-on that brings each (the course never installs CRDs there by itself)."""
        if not self.capabilities.live_api:
            return
        from . import _prerequisites
        from .sandbox import crds

        cluster = self.cluster
        projects = {(e.group): e.project for e in crds.manifest()} | {
            g: a.project for g, a in _prerequisites.BY_GROUP.items()
        }
        unserved: dict[str, list[str]] = {}
        groups: list[str] = []
        for (group, kind), versions in sorted(crds.custom_kinds(objects).items()):
            for version in sorted(versions):
                if not cluster.serves(f"{group}/{version}", kind):
                    unserved.setdefault(projects.get(group, group), []).append(f"{kind} ({group}/{version})")
                    groups.append(group)
        if unserved:
            what = "; ".join(f"{project}: {', '.join(kinds)}" for project, kinds in unserved.items())
            commands = [
                _prerequisites.install_commands(a.name)
                for g in dict.fromkeys(groups)
                if (a := _prerequisites.BY_GROUP.get(g))
            ]
            how = (
                f"set {_prerequisites.PARAMETER} = True to let the part's prerequisites cell run: "
                + " ; ".join(c.replace("\n", " && ") for c in commands)
                if commands
                else "install those add-ons with their Helm charts"
            )
            raise ClusterError(
                f"this cluster does not serve the custom kinds these objects need — {what}",
                hint=f"{how}; or run this part on the sandbox, whose API server holds upstream's CRDs",
                target=self.target,
            )

    # ------------------------------------------------------------------ sandbox services
    def stack(self, **kwargs: Any) -> Stack | None:
        """The sandbox's local monitoring stack (:func:`course_lib.sandbox.up`, started or reused), or ``None`` on a
        target that has no local services (a cluster runs its own Prometheus)."""
        if not self.capabilities.local_stack:
            return None
        from . import sandbox

        stack = sandbox.up(**kwargs)
        if not stack.reused:
            self._started.append("stack")
        return stack

    def postgres(self, **kwargs: Any) -> LocalPostgres | None:
        """The sandbox's PostgreSQL service (:func:`course_lib.sandbox._postgres.up`, started or reused), or ``None``
        on a target without local services (a cluster runs CloudNativePG). Used in: notebook 08."""
        if not self.capabilities.local_stack:
            return None
        from .sandbox import _postgres

        db = _postgres.up(**kwargs)
        if not db.reused:
            self._started.append("postgres")
        return db

    def gitops(self, **kwargs: Any) -> ArgoCD | None:
        """Argo CD's controllers acting on the sandbox (:func:`course_lib.sandbox._argocd.up`, started or reused), or
        ``None`` where the course does not run them (a cluster runs its own Argo CD, installed by Helm)."""
        if not self.capabilities.disposable or not self.capabilities.runs("argocd") or self.cluster.dry_run:
            return None
        from .sandbox import _argocd

        handle = _argocd.up(str(self.cluster.kubeconfig), **kwargs)
        if not handle.reused:
            self._started.append("argocd")
        return handle

    def sealed_secrets(self, **kwargs: Any) -> SealedSecretsController | None:
        """The Sealed Secrets controller acting on the sandbox (:func:`course_lib.sandbox.sealed_secrets_up`, started
        or reused), or ``None`` where the course does not run it (a cluster runs its own, installed by Helm).
        Used in: notebook 02."""
        if not self.capabilities.disposable or not self.capabilities.runs("sealed-secrets") or self.cluster.dry_run:
            return None
        from .sandbox import sealed_secrets_up

        handle = sealed_secrets_up(kubeconfig=str(self.cluster.kubeconfig), **kwargs)
        if not handle.reused:
            self._started.append("sealed-secrets")
        return handle

    def checkout_app(self, *, statsd_port: int, **kwargs: Any) -> ExpressApp | None:
        """Part 3's Express checkout app as a local process sending DogStatsD to ``127.0.0.1:statsd_port``
        (:func:`course_lib.sandbox.express_up`, started or reused), or ``None`` where the local stack does not run
        (on a cluster the app is the Deployment of ``manifests.express_app()``). Used in: notebook 03."""
        if not self.capabilities.local_stack:
            return None
        from .sandbox import express_up

        handle = express_up(statsd_port=statsd_port, **kwargs)
        if not handle.reused:
            self._started.append("checkout-app")
        return handle

    def kyverno(self, **kwargs: Any) -> KyvernoEndpoints | None:
        """Kyverno's admission controller serving the sandbox's API server as a webhook, with its reports controller
        beside it (:func:`course_lib.sandbox.kyverno_up`, both started or reused), or ``None`` where the course does not run it (a
        cluster runs its own Kyverno, installed by Helm). Used in: notebook 05."""
        if not self.capabilities.disposable or not self.capabilities.runs("kyverno") or self.cluster.dry_run:
            return None
        from .sandbox import _kyverno

        handle = _kyverno.kyverno_up(kubeconfig=str(self.cluster.kubeconfig), **kwargs)
        if not handle.reused:
            self._started.append("kyverno")
        return handle

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> tuple[str, ...]:
        """Stop what this session started (never what it reused); returns the names stopped."""
        stopped: list[str] = []
        if self._cluster is not None:
            self._cluster.close()
        if self._started:
            from .sandbox import _services

            stopped.extend(_services.stop(self._started))
        self._started.clear()
        self._cluster = None
        return tuple(stopped)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session(target={self.target!r}, learner={self.settings.learner!r}, run_id={self.settings.run_id!r})"


def start(*, target: str = "sandbox", part: int | None = None, **kwargs: Any) -> Session:
    """Validate the notebook's parameters, prepare the display and return the :class:`Session`.

    ``part``: the notebook's part number. On the sandbox, what an earlier part left running and this part does not
    use (:data:`course_lib.parts.PARTS`) is stopped first, so each notebook's memory is its own services plus the
    control plane (Binder restarts a kernel above 2 GB); :attr:`Session.released` names what was stopped, and each
    service starts again when a part asks for it. ``COURSE_KEEP_SERVICES=1`` in the environment keeps them all
    (notebooks of one sandbox running side by side).

    Raises:
        ConfigError: a bad parameter (before anything is started or stopped).

    Example:
        >>> session = start(target="sandbox", learner="ada", part=6)
        >>> session.settings.learner, session.part, session.released
        ('ada', 6, ())
    """
    needs = None if part is None else parts_part(part)
    settings = Settings(target=target, **kwargs)  # type: ignore[arg-type]
    _plotly_mimetype()
    try:
        import pandas as pd

        pd.set_option("display.max_colwidth", 120)
        pd.set_option("display.width", 160)
    except ImportError:  # pragma: no cover
        pass
    session = Session(settings, part=part)
    if needs is not None and needs.services is not None and target == "sandbox" and not os.environ.get(KEEP_SERVICES):
        from .sandbox._services import release, release_crds

        session.released = release(keep=needs.services)
        session.released += release_crds(keep=needs.services, uses=needs.crds)
    return session


__all__ = ["CONTROLLERS", "KEEP_SERVICES", "Capabilities", "Session", "start"]


def _plotly_mimetype() -> None:
    """Make plotly render figures as their mime type, without loading plotly's renderers in the first cell.

    They import nbformat, and through it jsonschema's format checkers, which compile a grammar: about 2.5 s that
    notebooks without a plot need not pay. ``PLOTLY_RENDERER`` is read when they load (at the first figure).
    (Loading them in a background thread would hide the wait, but concurrent imports of the same packages can
    deadlock, so the course does not.)
    """
    if "plotly.io._renderers" in sys.modules:  # already loaded: the variable is not read again
        sys.modules["plotly.io._renderers"].renderers.default = _RENDERER
    else:
        os.environ["PLOTLY_RENDERER"] = _RENDERER
