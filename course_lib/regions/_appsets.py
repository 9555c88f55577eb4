"""Part 9's Argo CD side: cluster Secrets and the clusters generator over them, ApplicationSets and the
Applications they generate, exercise 09-appset-selector, the part's registered manifests, and the sandbox's local
fleet of two clusters. See :mod:`course_lib.regions`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..exercises import CheckResult, exercise
from ..sim import check_selector as _check_selector
from ..sim._appset import CLUSTER_SECRET_LABEL, _fill, _labels, match_clusters
from ._plans import external_dns_objects, global_service, regional_ingress

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# --- Argo CD: cluster secrets and the cluster generator ---------------------------------------------


def cluster_secret(name: str, *, server: str, labels: Mapping[str, str], namespace: str = "argocd") -> dict[str, Any]:
    """An Argo CD cluster Secret (what ``argocd cluster add`` writes), with your own labels for generators.

    The credentials (``config``: bearer token or TLS client cert) are left out on purpose: ``argocd cluster add``
    fills them in on a real cluster; only the name, server and labels matter to a generator.

    Used in: notebook 09.
    """
    from ..manifests import object_meta

    if not server.startswith("https://"):
        raise ConfigError(f"server {server!r} is not an https URL", hint="the cluster's API endpoint, https://...")
    meta = object_meta(name, namespace=namespace, labels={CLUSTER_SECRET_LABEL: "cluster", **labels})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "stringData": {"name": name, "server": server},
    }


def example_clusters() -> list[dict[str, Any]]:
    """Five registered clusters across environments and regions (the fixture of the notebook and its exercise).

    Used in: notebook 09.
    """
    fleet = [
        ("prod-nyc1", "production", "nyc1"),
        ("prod-fra1", "production", "fra1"),
        ("prod-sgp1", "production", "sgp1"),
        ("staging-nyc1", "staging", "nyc1"),
        ("dev-fra1", "dev", "fra1"),
    ]
    return [
        cluster_secret(n, server=f"https://{n}.k8s.ondigitalocean.com", labels={"env": env, "region": region})
        for n, env, region in fleet
    ]


def selector_table(selectors: Mapping[str, Mapping[str, Any]], clusters: Sequence[Mapping[str, Any]]) -> Any:
    """A DataFrame: one row per cluster (with its env and region), one ✓ column per named selector.

    Used in: notebook 09.
    """
    import pandas as pd

    rows = []
    for c in clusters:
        labels = _labels(c)
        row = {"cluster": c["stringData"]["name"], "env": labels.get("env", ""), "region": labels.get("region", "")}
        for title, sel in selectors.items():
            row[title] = "✓" if c["stringData"]["name"] in match_clusters(sel, [c]) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def application_set(
    name: str = "guestbook-global",
    *,
    selector: Mapping[str, Any],
    repo_url: str = "https://github.com/argoproj/argocd-example-apps.git",
    path: str = "guestbook",
    app_namespace: str = "guestbook",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An ApplicationSet with a clusters generator and a full label ``selector`` (matchLabels and/or
    matchExpressions). Built on :func:`course_lib.manifests.argo_application_set`, which takes matchLabels only.

    Used in: notebook 09.
    """
    from ..manifests import argo_application_set

    _check_selector(selector)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        raise ConfigError("the selector is empty and would pick every cluster", hint="add matchLabels or expressions")
    first = dict(selector.get("matchLabels") or {}) or {"placeholder": "x"}
    appset = argo_application_set(
        name, repo_url=repo_url, path=path, app_namespace=app_namespace, cluster_labels=first, labels=labels
    )
    clean = {k: v for k, v in selector.items() if v}
    appset["spec"]["generators"][0]["clusters"]["selector"] = {k: clean[k] for k in sorted(clean)}
    return appset


def generated_applications(appset: Mapping[str, Any], clusters: Sequence[Mapping[str, Any]]) -> Any:
    """The Applications the ApplicationSet's clusters generator would create (name, destination server, namespace).

    Raises:
        ConfigError: the ApplicationSet has no clusters generator.

    Used in: notebook 09.
    """
    import pandas as pd

    try:
        selector = appset["spec"]["generators"][0]["clusters"].get("selector") or {}
        template = appset["spec"]["template"]
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ConfigError("no clusters generator in this ApplicationSet", hint="spec.generators[0].clusters") from None
    rows = []
    for c in clusters:
        values = {"name": c["stringData"]["name"], "server": c["stringData"]["server"]}
        if values["name"] not in match_clusters(selector, [c]):
            continue
        rows.append(
            {
                "application": _fill(template["metadata"]["name"], values),
                "server": _fill(template["spec"]["destination"]["server"], values),
                "namespace": template["spec"]["destination"]["namespace"],
            }
        )
    return pd.DataFrame(rows, columns=["application", "server", "namespace"])


# --- exercise --------------------------------------------------------------------------------------

_WANTED = ["prod-fra1", "prod-nyc1"]


@exercise("09-appset-selector")
def _check_appset_selector(answer: Any) -> CheckResult:
    """Part 9: a selector (or an ApplicationSet) that picks exactly the production clusters in nyc1 and fra1."""
    name = "09-appset-selector"
    selector = answer
    if isinstance(answer, Mapping) and answer.get("kind") == "ApplicationSet":
        try:
            selector = answer["spec"]["generators"][0]["clusters"]["selector"]
        except (KeyError, IndexError, TypeError):
            return CheckResult(
                name,
                False,
                "that ApplicationSet has no clusters generator with a selector.",
                "spec.generators[0].clusters.selector",
            )
    try:
        _check_selector(selector)
    except ConfigError as exc:
        return CheckResult(name, False, exc.message, exc.hint)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return CheckResult(name, False, "an empty selector picks every registered cluster.", "add conditions")
    clusters = example_clusters()
    got = match_clusters(selector, clusters)
    extra = [c for c in got if c not in _WANTED]
    missing = [c for c in _WANTED if c not in got]
    if extra:
        hint = (
            "also require env=production"
            if any(not c.startswith("prod-") for c in extra)
            else "limit the region label to the two regions"
        )
        return CheckResult(name, False, f"it also picks {', '.join(extra)}.", hint)
    if missing:
        return CheckResult(
            name,
            False,
            f"it misses {', '.join(missing)}.",
            "a matchExpressions entry with operator In takes a list of values",
        )
    return CheckResult(name, True, f"picks exactly {', '.join(got)}.")


def _register_manifests() -> None:
    from ..manifests import register
    from ..manifests._registry import Builder

    entries: dict[str, Builder] = {
        "09/external-dns": lambda lb: external_dns_objects(labels=lb),
        "09/regional-ingress": lambda lb: regional_ingress("nyc1", labels=lb),
        "09/global-service": lambda lb: global_service(labels=lb),
        "09/cluster-secrets": lambda lb: example_clusters(),
        "09/guestbook-two-regions": lambda lb: application_set(
            "guestbook-two-regions",
            selector={
                "matchLabels": {"env": "production"},
                "matchExpressions": [{"key": "region", "operator": "In", "values": ["nyc1", "fra1"]}],
            },
            labels=lb,
        ),
    }
    for key, builder in entries.items():
        register(key, builder, replace=True)


_register_manifests()


# ----------------------------------------------------------------------------------------------- the sandbox's fleet


@dataclass(frozen=True)
class LocalFleet:
    """Two clusters on this machine registered in the sandbox's Argo CD: the sandbox itself and a second local
    control plane, each a cluster Secret with ``env`` and ``region`` labels.

    Attributes:
        kubeconfigs: region -> kubeconfig file (the sandbox's own for the first region).
        secrets: the cluster Secrets as registered (what ``argocd cluster add --label`` writes).
    """

    kubeconfigs: Mapping[str, str]
    secrets: tuple[dict[str, Any], ...]

    def labels(self) -> dict[str, dict[str, str]]:
        """region -> its labels as registered."""
        return {
            s["stringData"]["name"]: {k: v for k, v in s["metadata"]["labels"].items() if "argoproj" not in k}
            for s in self.secrets
        }


def local_fleet(
    argocd: Any, *, kubeconfig: str, primary: str = "nyc1", secondary: str = "fra1", env: str = "production"
) -> LocalFleet:
    """Start (or reuse) a second local control plane named after ``secondary`` and register both clusters in the
    sandbox's Argo CD with ``env``/``region`` labels. Every server is on 127.0.0.1.

    Used in: notebook 09 (sandbox), the ApplicationSet test.
    """
    from ..sandbox import _controlplane

    second = _controlplane.extra_cluster_up(secondary, nodes=1)
    secrets = (
        argocd.register_cluster(primary, labels={"env": env, "region": primary}),
        argocd.register_cluster(secondary, labels={"env": env, "region": secondary}, kubeconfig=second.kubeconfig),
    )
    return LocalFleet({primary: kubeconfig, secondary: second.kubeconfig}, secrets)


def relabel(
    argocd: Any, fleet: LocalFleet, region: str, *, appset: Mapping[str, Any], timeout: float = 60.0, **labels: str
) -> tuple[LocalFleet, float]:
    """Change a registered cluster's labels (``kubectl label secret cluster-<region> -n argocd env=staging
    --overwrite``) and wait until the ApplicationSet controller has added or removed that cluster's Application;
    returns the new fleet and the seconds that took.

    Used in: notebook 09 (sandbox).
    """
    import time

    current = fleet.labels()[region]
    kubeconfig = None if region == next(iter(fleet.kubeconfigs)) else fleet.kubeconfigs[region]
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"]
    wanted = all({**current, **labels}.get(k) == v for k, v in selector.items())
    app = f"applicationset.argoproj.io/{appset['metadata']['name']}-{region}"
    start = time.monotonic()
    secret = argocd.register_cluster(region, labels={**current, **labels}, kubeconfig=kubeconfig)
    names = "-n", "argocd", "get", "applications.argoproj.io", "-o", "name"
    while (f"application.argoproj.io/{app.split('/', 1)[1]}" in argocd.kubectl(*names).split()) != wanted:
        if time.monotonic() - start > timeout:
            raise ConfigError(f"the Application of {region} did not {'appear' if wanted else 'go'} in {timeout:.0f} s",
                              hint="is the ApplicationSet controller running? `course sandbox status`")  # fmt: skip
        time.sleep(0.2)
    others = tuple(s for s in fleet.secrets if s["stringData"]["name"] != region)
    return LocalFleet(fleet.kubeconfigs, (*others, secret)), time.monotonic() - start


def fan_out(argocd: Any, appset: Mapping[str, Any], fleet: LocalFleet, *, timeout: float = 90.0) -> pd.DataFrame:
    """Wait until the ApplicationSet's Application for each ``env: production`` cluster of ``fleet`` is Synced and
    Healthy; one row per Application: its cluster, status, seconds since the call, and the Deployment's replicas as
    that cluster's own API server reports them.

    Used in: notebook 09 (sandbox).
    """
    import time

    import pandas as pd

    from ..cluster import connect

    name = appset["metadata"]["name"]
    namespace = appset["spec"]["template"]["spec"]["destination"]["namespace"]
    selector = appset["spec"]["generators"][0]["clusters"]["selector"]["matchLabels"]
    start = time.monotonic()
    rows = []
    for region, labels in fleet.labels().items():
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        seconds, state = argocd.wait(f"{name}-{region}", sync="Synced", health="Healthy", timeout=timeout)
        remote = connect("sandbox", kubeconfig=fleet.kubeconfigs[region])
        try:
            deploy = remote.get("Deployment", "guestbook-ui", namespace=namespace)
        finally:
            remote.close()
        rows.append({
            "application": f"{name}-{region}", "cluster": region, "sync": state.sync, "health": state.health,
            "seconds": round(time.monotonic() - start, 1),
            "ready replicas there": int((deploy.get("status") or {}).get("readyReplicas") or 0),
        })  # fmt: skip
    return pd.DataFrame(rows)
