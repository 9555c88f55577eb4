"""``connect(target)``: a :class:`~course_lib.cluster.Cluster` for the sandbox, a kubeconfig or DOKS. It never
starts a process (:class:`course_lib.session.Session` starts the sandbox's control plane and hands over its
kubeconfig)."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Settings, validate_target
from ..errors import ConfigError
from ._cluster import SANDBOX_KUBECONFIG_ENV, SANDBOX_NOT_STARTED_REASON, Cluster
from ._lazy import load_kubernetes


def connect(
    target: str | None = None,
    *,
    context: str | None = None,
    kubeconfig: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
) -> Cluster:
    """Connect to the course's cluster for a target.

    - ``sandbox``: the sandbox's real local control plane at ``kubeconfig=`` (or ``$COURSE_SANDBOX_KUBECONFIG``).
      This function never starts it: :class:`course_lib.session.Session` does, and hands over the kubeconfig.
      Without one — or with ``dry_run=True`` — a dry-run :class:`Cluster` that validates and shows plans.
    - ``kubeconfig``: any cluster in a kubeconfig (``kubeconfig=``, ``settings.kubeconfig``, ``$KUBECONFIG`` or
      ``~/.kube/config``), optionally a named ``context``.
    - ``doks``: the DigitalOcean cluster whose kubeconfig the provisioning step wrote (pass its path as
      ``kubeconfig=``).

    Nothing is sent to the server until the first call that needs it.

    Args:
        target: ``sandbox``, ``kubeconfig`` or ``doks`` (default: ``settings.target``).
        context: kubeconfig context name.
        kubeconfig: path to a kubeconfig file.
        settings: course settings (labels, run id); default ``Settings(target=target)``.
        dry_run: plan only, even on a real cluster (the server computes results with ``dryRun=All``).

    Raises:
        ConfigError: unknown target, missing or unreadable kubeconfig, unknown context.

    Example:
        >>> cluster = connect("sandbox", dry_run=True)
        >>> cluster.dry_run
        True

    Used in: :attr:`course_lib.session.Session.cluster` (notebooks use ``session.cluster``).
    """
    chosen = validate_target(target or (settings.target if settings else "sandbox"))
    settings = settings or Settings(target=chosen)
    if chosen == "sandbox":
        # the cluster layer never starts processes: the session starts the control plane and hands its kubeconfig
        kubeconfig = kubeconfig or os.environ.get(SANDBOX_KUBECONFIG_ENV) or None
        if not kubeconfig:
            reason = SANDBOX_NOT_STARTED_REASON if not dry_run else "dry_run=True was requested on the sandbox"
            return Cluster(target=chosen, settings=settings, reason=reason)
    path = kubeconfig or settings.kubeconfig
    context = context or settings.context
    if chosen == "doks" and not path:
        raise ConfigError(
            "target='doks' needs the kubeconfig that provisioning wrote",
            hint="create the cluster first (notebook 01), then pass its path: connect('doks', kubeconfig=path)",
        )
    if not path:
        path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or os.path.expanduser("~/.kube/config")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"kubeconfig {str(file)!r} does not exist",
            hint="pass kubeconfig='path/to/kubeconfig', set KUBECONFIG, or create a cluster first "
            "(kind create cluster / doctl kubernetes cluster kubeconfig save NAME)",
        )
    load_kubernetes()
    from kubernetes import config as kconfig
    from kubernetes.config.config_exception import ConfigException

    try:
        contexts, active = kconfig.list_kube_config_contexts(config_file=str(file))
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot read kubeconfig {str(file)!r}: {exc}", hint="check the file is a kubeconfig"
        ) from None
    names = [c["name"] for c in contexts or []]
    if context and context not in names:
        raise ConfigError(
            f"context {context!r} is not in {str(file)!r}", hint=f"choose one of: {', '.join(names) or '(none)'}"
        )
    chosen_ctx = next((c for c in contexts or [] if c["name"] == context), active) or {}
    namespace = (chosen_ctx.get("context") or {}).get("namespace") or "default"
    try:
        api = kconfig.new_client_from_config(config_file=str(file), context=context)
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot load kubeconfig {str(file)!r}: {exc}", hint="check the context's cluster and user entries"
        ) from None
    return Cluster(
        target=chosen,
        settings=settings,
        api_client=api,
        dry_run=dry_run,
        default_namespace=namespace,
        context=chosen_ctx.get("name"),
        reason="dry_run=True was requested: the server computes results with dryRun=All" if dry_run else None,
        kubeconfig=str(file),
    )
