"""Every chart, application and provider version the course pins, in one place.

``data/tools/pins.env`` (in the package) stays the build input for the programs ``make tools`` compiles
(``course_lib.tools`` reads it); this module owns everything else a learner installs: Helm charts (with the
application version each ships), the Terraform/OpenTofu providers, the operators' releases. Other modules import
from here, never from each other.

To bump a pin: change it here, check the chart's own ``Chart.yaml`` (its ``appVersion``) and rebuild the notebooks.

Used in: notebooks 01-10 (through the part modules).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChart:
    """A pinned Helm chart and how the course installs it.

    Attributes:
        release: Helm release name.
        namespace: namespace it installs into.
        repo_name: the local alias in ``helm repo add``.
        repo_url: chart repository URL.
        chart: chart name.
        version: pinned chart version (``--version``); check newer ones with ``helm search repo <chart> --versions``.
        app_version: the application version that chart ships (for the reader).
        values: ``--set`` values.
    """

    release: str
    namespace: str
    repo_name: str
    repo_url: str
    chart: str
    version: str
    app_version: str
    values: tuple[tuple[str, str], ...] = ()

    @property
    def commands(self) -> str:
        """The shell commands that install (or upgrade) this release, one per line."""
        import shlex

        return f"helm repo add {self.repo_name} {self.repo_url} && helm repo update {self.repo_name}\n" + shlex.join(
            ["helm", *self.install_args(), "--wait"]
        )

    def install_args(self, *, chart_ref: str | None = None) -> list[str]:
        """The arguments of ``helm upgrade --install`` for this release (without connection flags or ``--wait``).

        Args:
            chart_ref: install this chart instead of ``<repo_name>/<chart>`` (a local chart folder in tests).

        Example:
            >>> " ".join(KYVERNO_CHART.install_args())
            'upgrade --install kyverno kyverno/kyverno --namespace kyverno --create-namespace --version 3.9.1'
        """
        args = ["upgrade", "--install", self.release, chart_ref or f"{self.repo_name}/{self.chart}"]
        args += ["--namespace", self.namespace, "--create-namespace"]
        args += [] if chart_ref else ["--version", self.version]
        for key, value in self.values:
            args += ["--set", f"{key}={value}"]
        return args

    def terraform(self, *, resource: str | None = None) -> str:
        """The same release as a ``helm_release`` resource for the helm provider 3.x (``set`` is a list)."""
        name = resource or self.release.replace("-", "_")
        lines = [
            f'resource "helm_release" "{name}" {{',
            f'  name             = "{self.release}"',
            f'  repository       = "{self.repo_url}"',
            f'  chart            = "{self.chart}"',
            f'  namespace        = "{self.namespace}"',
            "  create_namespace = true",
            f'  version          = "{self.version}"',
        ]
        if self.values:
            items = ",\n".join(f'    {{ name = "{k}", value = "{v}" }}' for k, v in self.values)
            lines += ["", "  set = [", items, "  ]"]
        lines.append("}")
        return "\n".join(lines)


#: Argo CD (https://argoproj.github.io/argo-helm; the seed used 5.46.7, which is years old). 9.5.4 ships v3.3.8.
ARGOCD_CHART = HelmChart(
    "argocd",
    "argocd",
    "argo",
    "https://argoproj.github.io/argo-helm",
    "argo-cd",
    "9.5.4",
    "v3.3.8",
    (("server.service.type", "LoadBalancer"),),
)
ARGOCD_CHART_VERSION = ARGOCD_CHART.version

#: Sealed Secrets controller (the seed installed it unpinned). Release name ``sealed-secrets`` in ``kube-system``:
#: kubeseal then needs ``--controller-name=sealed-secrets`` (its default is ``sealed-secrets-controller``).
SEALED_SECRETS_CHART = HelmChart(
    "sealed-secrets",
    "kube-system",
    "sealed-secrets",
    "https://bitnami-labs.github.io/sealed-secrets",
    "sealed-secrets",
    "2.19.3",
    "0.39.1",
)


#: Kyverno (chart 3.x ships Kyverno 1.(x+10): chart 3.9.1 is Kyverno v1.19.1, the same release as the course's
#: `kyverno` CLI in data/tools/pins.env). The seed installed it unpinned.
KYVERNO_CHART = HelmChart(
    "kyverno", "kyverno", "kyverno", "https://kyverno.github.io/kyverno/", "kyverno", "3.9.1", "v1.19.1"
)
#: The Datadog Agent (Part 3's Datadog hands-on), as the seed installs it: the ``datadog`` chart, DogStatsD on the
#: node's hostPort 8125 for custom metrics. The API key comes from a Secret the learner creates (``api-key`` in
#: ``datadog-secret``), never from a ``--set`` value that Helm keeps in the release. 3.240.0 is the newest version
#: the chart repository's source showed when the course last read it (2026-08-21).
DATADOG_CHART = HelmChart(
    "datadog",
    "datadog",
    "datadog",
    "https://helm.datadoghq.com",
    "datadog",
    "3.240.0",
    "7",
    (
        ("datadog.site", "datadoghq.com"),
        ("datadog.apiKeyExistingSecret", "datadog-secret"),
        ("datadog.dogstatsd.useHostPort", "true"),
        ("datadog.logs.enabled", "true"),
        ("datadog.logs.containerCollectAll", "true"),
    ),
)
#: The checkout app's container image (the seed's ``node:18-alpine`` reached end of life in April 2025; Node.js 24
#: is the active LTS line) and the traffic generator's.
EXPRESS_APP_NODE_IMAGE = "node:24-alpine"
CURL_IMAGE = "curlimages/curl:8.11.1"
#: Falco with the modern eBPF probe (needs a kernel with BTF; DOKS nodes have one).
FALCO_CHART = HelmChart(
    "falco",
    "falco",
    "falcosecurity",
    "https://falcosecurity.github.io/charts",
    "falco",
    "9.1.0",
    "0.44.1",
    (("driver.kind", "modern_ebpf"), ("tty", "true")),
)
#: External Secrets Operator (chart and app versions are the same number).
ESO_CHART = HelmChart(
    "external-secrets",
    "external-secrets",
    "external-secrets",
    "https://charts.external-secrets.io",
    "external-secrets",
    "2.9.0",
    "v2.9.0",
)


#: kube-prometheus-stack: 88.5.3 ships Prometheus Operator v0.93.1, whose ``monitoring.coreos.com/v1`` CRDs the
#: course validates against (data/crds).
KUBE_PROMETHEUS_STACK_VERSION = "88.5.3"
PROMETHEUS_COMMUNITY_REPO = "https://prometheus-community.github.io/helm-charts"
#: The Prometheus and Alertmanager releases Prometheus Operator v0.93.1 runs when a Prometheus or Alertmanager
#: object names no version (its DefaultPrometheusVersion and DefaultAlertmanagerVersion). ``make tools`` builds
#: this Prometheus for the sandbox (data/tools/pins.env: Go module v0.313.1); Alertmanager's Go module builds
#: only up to v0.31.1, so the sandbox runs that one (data/tools/pins.env says why).
PROMETHEUS_VERSION = "v3.13.1"
ALERTMANAGER_VERSION = "v0.33.1"
#: The Grafana kube-prometheus-stack 88.5.3 would ship (its ``grafana`` dependency, the grafana-community chart
#: 12.11.1, appVersion 13.2.0). Grafana is AGPL-3.0: the course never installs or runs it (every kube-prometheus-stack
#: install sets ``grafana.enabled: false``, see :data:`KUBE_PROMETHEUS_STACK_VALUES`); the dashboards it writes are
#: JSON files in the schema this Grafana loads, for a team that already runs one.
GRAFANA_VERSION = "13.2.0"
#: Values every kube-prometheus-stack install of the course carries: the chart's Grafana (AGPL-3.0) stays off.
KUBE_PROMETHEUS_STACK_VALUES: dict[str, dict[str, bool]] = {"grafana": {"enabled": False}}

#: VictoriaLogs (Apache-2.0), the course's log store on a cluster too: the same program and the same LogsQL the
#: sandbox runs (``data/tools/pins.env`` builds v1.52.1 for it; the chart ships v1.52.0). Grafana Loki is AGPL-3.0,
#: so the course does not install or query it. Chart 0.13.9 (its Chart.yaml: appVersion v1.52.0).
VICTORIA_LOGS_CHART = HelmChart(
    "vlogs",
    "monitoring",
    "vm",
    "https://victoriametrics.github.io/helm-charts/",
    "victoria-logs-single",
    "0.13.9",
    "v1.52.0",
)
#: The server's Service that chart creates for the release ``vlogs`` (``<release>-victoria-logs-single-server``).
VICTORIA_LOGS_SERVICE = "vlogs-victoria-logs-single-server"
#: The collector (vlagent as a DaemonSet: tails every container's log and ships it to VictoriaLogs), the role
#: Promtail and Grafana Alloy play for Loki. Chart 0.3.7 (its Chart.yaml: appVersion v1.52.0, vlagent).
VICTORIA_LOGS_COLLECTOR_CHART = HelmChart(
    "vlogs-collector",
    "monitoring",
    "vm",
    "https://victoriametrics.github.io/helm-charts/",
    "victoria-logs-collector",
    "0.3.7",
    "v1.52.0",
    (("remoteWrite[0].url", f"http://{VICTORIA_LOGS_SERVICE}.monitoring.svc:9428"),),
)

#: Zero to JupyterHub (https://hub.jupyter.org/helm-chart/; chart 4.4.0, its Chart.yaml: appVersion 5.5.0, i.e.
#: JupyterHub 5.5.0). ``course classroom plan`` writes values for this chart version only: the keys it uses are
#: checked against ``data/classroom/z2jh-values.schema.json``, a schema of those keys written from the chart's own
#: ``values.schema.yaml`` at the 4.4.0 tag (``helm template`` with the real chart is the full check).
JUPYTERHUB_CHART = HelmChart(
    "classroom",
    "classroom",
    "jupyterhub",
    "https://hub.jupyter.org/helm-chart/",
    "jupyterhub",
    "4.4.0",
    "5.5.0",
)

#: Traefik Helm chart (https://traefik.github.io/charts; 41.3.0 ships Traefik Proxy v3.7.11). The chart brings the
#: traefik.io CRDs and enables the Kubernetes CRD and Ingress providers by default.
TRAEFIK_CHART = HelmChart(
    "traefik", "traefik", "traefik", "https://traefik.github.io/charts", "traefik", "41.3.0", "v3.7.11"
)
TRAEFIK_CHART_VERSION = TRAEFIK_CHART.version
TRAEFIK_VERSION = TRAEFIK_CHART.app_version
TRAEFIK_CHART_REPO = TRAEFIK_CHART.repo_url
#: Istio release (istioctl and the Helm charts base/istiod share the version).
ISTIO_VERSION = "1.30.3"
ISTIO_CHART_REPO = "https://istio-release.storage.googleapis.com/charts"

#: The CloudNativePG operator release, and the Helm chart that ships it.
CNPG_VERSION = "1.30.0"
CNPG_CHART = HelmChart(
    "cnpg", "cnpg-system", "cnpg", "https://cloudnative-pg.github.io/charts", "cloudnative-pg", "0.29.0", CNPG_VERSION
)
CNPG_CHART_VERSION = CNPG_CHART.version
CNPG_HELM_REPO = CNPG_CHART.repo_url

#: The Barman Cloud plugin for CloudNativePG (its ``barmancloud.cnpg.io`` ObjectStore replaces ``barmanObjectStore``).
BARMAN_CLOUD_PLUGIN_VERSION = "v0.14.0"
#: The Prometheus Operator release kube-prometheus-stack 88.5.3 ships (``monitoring.coreos.com`` CRDs).
PROMETHEUS_OPERATOR_VERSION = "v0.93.1"
#: Online Boutique (Google's microservices demo, Apache-2.0): the release whose manifests the capstone renders (its
#: newest tag on 2026-12-03).
BOUTIQUE_VERSION = "v0.10.6"
#: Gateway API release whose standard-channel CRDs the course installs (what Traefik v3.6/3.7 requires).
GATEWAY_API_VERSION = "v1.4.0"


@dataclass(frozen=True)
class CrdSource:
    """Where the real CustomResourceDefinitions of one project are read: files inside its Go module.

    ``make tools`` downloads each module (source only, nothing is compiled) from the Go module proxy and copies the
    files out (``course_lib.sandbox.crds``); the sandbox's API server then holds the same CRDs a cluster gets from
    the project's chart, so applying a custom resource there is judged by upstream's own schema.

    Attributes:
        project: display name.
        module: Go module path.
        version: module version (the release the course pins, or the nearest one the proxy serves: see ``note``).
        paths: files (glob patterns) inside the module that hold the CRDs.
        note: why ``version`` differs from the pinned release, when it does.
        kinds: only these kinds' CRDs (empty: all in ``paths``). The sandbox's kube-apiserver holds every installed
            schema in memory (about 1 GB resident with all 64 of these projects' CRDs, 0.3 GB with none), so
            projects with many large CRDs the course never uses are cut to the kinds it does.
    """

    project: str
    module: str
    version: str
    paths: tuple[str, ...]
    note: str = ""
    kinds: tuple[str, ...] = ()


#: Every project whose CRDs the sandbox installs. External Secrets Operator is missing: the Go module proxy refuses
#: ``github.com/external-secrets/external-secrets@v2.9.0`` (403, its v2 tags lack a ``/v2`` module path), so its
#: kinds keep the authored schemas in ``data/crds`` and an open placeholder CRD on the sandbox.
UPSTREAM_CRDS: tuple[CrdSource, ...] = (
    CrdSource(
        "Argo CD",
        "github.com/argoproj/argo-cd/v3",
        "v3.3.9",
        (
            "manifests/crds/application-crd.yaml",
            "manifests/crds/applicationset-crd.yaml",
            "manifests/crds/appproject-crd.yaml",
        ),
        note=f"the chart ships {ARGOCD_CHART.app_version}, which the module proxy does not serve; v3.3.9 is the next patch",
    ),
    CrdSource(
        "Sealed Secrets",
        "github.com/bitnami-labs/sealed-secrets",
        f"v{SEALED_SECRETS_CHART.app_version}",
        ("helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml",),
    ),
    CrdSource(
        "Kyverno", "github.com/kyverno/kyverno", KYVERNO_CHART.app_version, ("config/crds/kyverno/kyverno.io_*.yaml",)
    ),
    CrdSource(
        "Prometheus Operator",
        "github.com/prometheus-operator/prometheus-operator",
        PROMETHEUS_OPERATOR_VERSION,
        ("example/prometheus-operator-crd/monitoring.coreos.com_*.yaml",),
        kinds=("ServiceMonitor", "PodMonitor", "PrometheusRule"),
    ),
    CrdSource(
        "CloudNativePG",
        "github.com/cloudnative-pg/cloudnative-pg",
        f"v{CNPG_VERSION}",
        ("config/crd/bases/postgresql.cnpg.io_*.yaml",),
        kinds=("Cluster", "Pooler", "ScheduledBackup", "Backup"),
    ),
    CrdSource(
        "Barman Cloud plugin",
        "github.com/cloudnative-pg/plugin-barman-cloud",
        BARMAN_CLOUD_PLUGIN_VERSION,
        ("config/crd/bases/barmancloud.cnpg.io_*.yaml",),
    ),
    CrdSource(
        "Istio",
        "istio.io/api",
        f"v{ISTIO_VERSION}",
        ("kubernetes/customresourcedefinitions.gen.yaml",),
        note="the CRDs live in the istio.io/api module (istio.io/istio is not served at release tags)",
        kinds=("VirtualService", "DestinationRule", "Gateway", "PeerAuthentication", "AuthorizationPolicy"),
    ),
    CrdSource(
        "Traefik",
        "github.com/traefik/traefik/v3",
        TRAEFIK_VERSION,
        ("docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml",),
    ),
    CrdSource(
        "Gateway API",
        "sigs.k8s.io/gateway-api",
        GATEWAY_API_VERSION,
        ("config/crd/standard/gateway.networking.k8s.io_*.yaml",),
    ),
)


#: Terraform/OpenTofu providers. The DigitalOcean provider has one pin: the exact release the offline mirror is
#: laid out for, and the ``~> MAJOR.MINOR`` constraint the generated ``providers.tf`` derives from it.
DIGITALOCEAN_PROVIDER_VERSION = "2.99.1"
KUBERNETES_PROVIDER_CONSTRAINT = "~> 3.0"
HELM_PROVIDER_CONSTRAINT = "~> 3.1"
TERRAFORM_REQUIRED = ">= 1.5"


def minor_constraint(version: str) -> str:
    """``"2.99.1"`` → ``"~> 2.99"``: that release or any newer patch or minor of the same major.

    >>> minor_constraint("2.99.1")
    '~> 2.99'
    """
    major, minor, *_ = version.split(".")
    return f"~> {major}.{minor}"


#: name -> (registry source, version constraint), as written into ``required_providers``.
PROVIDER_VERSIONS: dict[str, tuple[str, str]] = {
    "digitalocean": ("digitalocean/digitalocean", minor_constraint(DIGITALOCEAN_PROVIDER_VERSION)),
    "kubernetes": ("hashicorp/kubernetes", KUBERNETES_PROVIDER_CONSTRAINT),
    "helm": ("hashicorp/helm", HELM_PROVIDER_CONSTRAINT),
}

__all__ = [
    "CURL_IMAGE",
    "DATADOG_CHART",
    "EXPRESS_APP_NODE_IMAGE",
    "ALERTMANAGER_VERSION",
    "ARGOCD_CHART",
    "BARMAN_CLOUD_PLUGIN_VERSION",
    "BOUTIQUE_VERSION",
    "CrdSource",
    "GATEWAY_API_VERSION",
    "PROMETHEUS_OPERATOR_VERSION",
    "UPSTREAM_CRDS",
    "ARGOCD_CHART_VERSION",
    "CNPG_CHART_VERSION",
    "CNPG_HELM_REPO",
    "CNPG_VERSION",
    "DIGITALOCEAN_PROVIDER_VERSION",
    "ESO_CHART",
    "GRAFANA_VERSION",
    "FALCO_CHART",
    "ISTIO_CHART_REPO",
    "JUPYTERHUB_CHART",
    "ISTIO_VERSION",
    "KUBE_PROMETHEUS_STACK_VALUES",
    "KUBE_PROMETHEUS_STACK_VERSION",
    "KYVERNO_CHART",
    "PROMETHEUS_COMMUNITY_REPO",
    "PROMETHEUS_VERSION",
    "PROVIDER_VERSIONS",
    "SEALED_SECRETS_CHART",
    "TERRAFORM_REQUIRED",
    "TRAEFIK_CHART_REPO",
    "TRAEFIK_CHART_VERSION",
    "TRAEFIK_VERSION",
    "VICTORIA_LOGS_CHART",
    "VICTORIA_LOGS_COLLECTOR_CHART",
    "VICTORIA_LOGS_SERVICE",
    "HelmChart",
    "minor_constraint",
]
