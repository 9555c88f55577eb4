"""Part 10 on a cluster: Argo CD's values for gating sync waves, deploying the platform on a cluster target, and the
wave order proved on the sandbox's real Argo CD. See :mod:`course_lib.capstone`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pins import ARGOCD_CHART_VERSION
from ._repo import GitopsRepo


def argocd_helm_values() -> dict[str, Any]:
    """Values for the argo-cd chart that make the capstone's sync waves gate: ``configs.cm`` gets the health check
    of ``argoproj.io/Application`` (the sandbox's Argo CD has the same in its argocd-cm).

    Example:
        >>> "resource.customizations.health.argoproj.io_Application" in argocd_helm_values()["configs"]["cm"]
        True

    Used in: :func:`deploy_platform`.
    """
    from ..sandbox._argocd import APPLICATION_HEALTH_LUA

    return {"configs": {"cm": {"resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA}}}


def deploy_platform(
    repo: GitopsRepo,
    *,
    settings: Any,
    spec: Any = None,
    confirm: bool = False,
    install_argocd: bool = True,
    cluster: Any = None,
) -> Any:
    """Deploy the whole platform on a cluster target: the cluster (``doks``: created or reused from ``spec``),
    Argo CD (pinned Helm chart), then the App of Apps' root Application. Argo CD syncs the children wave by wave.

    Push the repository to ``repo.repo_url`` first: Argo CD reads Git, not your disk.

    Args:
        settings: the session settings (target, kubeconfig/context, cost limit).
        spec: the cluster spec (required for ``doks``).
        confirm: must be ``True``: this creates billable resources and changes a cluster.
        install_argocd: run ``helm upgrade --install argocd`` first (skip when part 1's Terraform did it).
        cluster: an already connected cluster (tests, or a cluster you connected yourself).

    Returns:
        The :class:`~course_lib.cluster.ApplyReport` of the root Application.

    Raises:
        ConfigError: ``confirm`` is not True, the target is the sandbox, or ``doks`` without ``spec``
            (all checked before anything is sent).

    Used in: notebook 10 (cluster targets only).
    """
    target = getattr(cluster, "target", None) or settings.target
    if not confirm:
        raise ConfigError("deploy_platform changes a real cluster", hint="pass confirm=True when you mean it")
    if target == "sandbox":
        raise ConfigError(
            "the sandbox has no Argo CD controller to sync the App of Apps",
            hint="use target='doks' or 'kubeconfig' with a reachable cluster",
        )
    if target == "doks" and spec is None and cluster is None:
        raise ConfigError("target='doks' needs the cluster spec", hint="pass spec=cap.platform_spec(...)")
    from .. import cluster as kc
    from ..manifests import read_yaml_file

    kubeconfig, context = settings.kubeconfig, settings.context
    if cluster is None and target == "doks":
        from ..provision import create_cluster
        from ..provision import kubeconfig as write_kubeconfig

        info = create_cluster(spec, confirm=confirm, max_hourly_cost=settings.max_hourly_cost)
        kube = write_kubeconfig(info.id, f"~/.kube/{spec.name}.yaml")
        kubeconfig, context = str(kube.path), kube.context
    if install_argocd:
        import tempfile

        import yaml

        from ..tools import run

        # Sync waves between child Applications gate only when Argo CD assesses an Application's health (removed
        # from its built-in checks in 1.8): the chart puts configs.cm into argocd-cm.
        values = tempfile.NamedTemporaryFile("w", suffix="-argocd-values.yaml", delete=False)  # noqa: SIM115
        with values:
            yaml.safe_dump(argocd_helm_values(), values)
        conn = [
            *(["--kubeconfig", kubeconfig] if kubeconfig else []),
            *(["--kube-context", context] if context else []),
        ]
        run(
            "helm",
            ["repo", "add", "argo", "https://argoproj.github.io/argo-helm", "--force-update"],
            what="helm repo add",
        )
        run(
            "helm",
            [
                "upgrade",
                "--install",
                "argocd",
                "argo/argo-cd",
                "--version",
                ARGOCD_CHART_VERSION,
                "--namespace",
                "argocd",
                "--create-namespace",
                "--wait",
                "--timeout",
                "600s",
                "--values",
                values.name,
                *conn,
            ],
            timeout=660,
            what="helm upgrade --install argocd",
        )
    if cluster is None:
        cluster = kc.connect(target, settings=settings, kubeconfig=kubeconfig, context=context)
    return cluster.apply(read_yaml_file(repo.path / "bootstrap" / "root-app.yaml"))


# --- sync waves on the sandbox's real Argo CD -------------------------------------------------------


def sandbox_waves(
    argocd: Any, cluster: Any, *, waves: Sequence[int] = (-2, -1, 0, 1), folder: str | Path = ".", timeout: float = 180
) -> Any:
    """Prove the wave order with the sandbox's real Argo CD: a root Application over a folder of child Applications
    (one guestbook each, with the capstone's waves), in a local Git repository. With argocd-cm's Application health
    check the root creates a wave's children only after the previous wave is Healthy.

    Returns ``(table, root, repo)``: a DataFrame with one row per child (wave, when the root created it, when its own
    sync started and finished: seconds after the root was applied, from ``metadata.creationTimestamp`` and
    ``status.operationState``, whole seconds as the API stores them), the root Application and the repository.

    Used in: notebook 10 (sandbox).
    """
    import tempfile
    from datetime import datetime

    import pandas as pd

    from .. import gitops
    from ..manifests import argo_app_of_apps, argo_application

    repo = gitops.GitRepo.init(tempfile.mkdtemp(prefix="waves-repo-", dir=str(folder)))
    url = gitops.repo_url(repo, local=True)
    children = []
    for wave in waves:
        name = f"wave{wave:+d}".replace("+", "p").replace("-", "m")
        repo.write_objects(gitops.guestbook_manifests(namespace=name), folder=f"platform/{name}")
        child = argo_application(name, repo_url=url, path=f"platform/{name}", dest_namespace=name)
        child["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
        children.append(child)
    repo.write_objects(children, folder="apps")
    repo.commit("platform: one guestbook per wave")
    root = argo_app_of_apps("waves-root", repo_url=url, path="apps")
    root["spec"]["source"].pop("directory")  # apps/ only
    started = datetime.now().astimezone()
    cluster.apply(root)
    argocd.wait("waves-root", sync="Synced", health="Healthy", timeout=timeout)
    for child in children:  # the last wave gates nothing: the root may be done before it is
        argocd.wait(child["metadata"]["name"], sync="Synced", health="Healthy", timeout=timeout)

    def secs(text: str | None) -> float | None:
        if not text:
            return None
        return round((datetime.fromisoformat(text.replace("Z", "+00:00")) - started).total_seconds(), 1)

    rows = []
    for child, wave in zip(children, waves, strict=True):
        live = cluster.get(
            "Application", child["metadata"]["name"], namespace="argocd", api_version="argoproj.io/v1alpha1"
        )
        op = (live.get("status") or {}).get("operationState") or {}
        rows.append({
            "child": child["metadata"]["name"], "wave": wave,
            "created by the root (s)": secs(live["metadata"].get("creationTimestamp")),
            "sync started (s)": secs(op.get("startedAt")), "sync finished (s)": secs(op.get("finishedAt")),
            "health": ((live.get("status") or {}).get("health") or {}).get("status"),
        })  # fmt: skip
    return pd.DataFrame(rows), root, repo
