"""Part 3's Datadog hands-on on a cluster: the checkout app (Express + DogStatsD), its Service and the seed's
traffic generator, and the Datadog Agent's Helm values.

The app's code is the same ``index.js``/``package.json``/``package-lock.json`` the sandbox runs
(``data/datadog/express-app``), carried in a ConfigMap as in the seed. Two corrections to the seed's Deployment:

- a ConfigMap volume is read-only, so ``npm install`` inside it fails: the code is mounted at ``/code`` and copied
  into an ``emptyDir`` (``/app``) where ``npm ci`` installs the locked dependencies;
- ``node:18-alpine`` reached end of life in April 2025: the image is Node.js 24 (:data:`EXPRESS_APP_NODE_IMAGE`).

``DD_AGENT_HOST`` is the node's IP (the downward API's ``status.hostIP``): the Agent's DaemonSet pod on each node
listens for DogStatsD on hostPort 8125 (``datadog.dogstatsd.useHostPort=true`` in :data:`DATADOG_CHART`).

Example:
    >>> [o["kind"] for o in express_app()]
    ['ConfigMap', 'Deployment', 'Service', 'Deployment']
    >>> env = express_app()[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    >>> next(e["valueFrom"] for e in env if e["name"] == "DD_AGENT_HOST")
    {'fieldRef': {'fieldPath': 'status.hostIP'}}

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pins import CURL_IMAGE, DATADOG_CHART, EXPRESS_APP_NODE_IMAGE
from ._core import config_map, resource
from ._meta import Manifest, check_name, object_meta

#: The app's files, in the order the ConfigMap lists them.
APP_FILES = ("index.js", "package.json", "package-lock.json")
#: DogStatsD's port (UDP), on the Agent pod and as its hostPort.
DOGSTATSD_PORT = 8125


_NO_ESCALATION = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _deployment(
    name: str,
    namespace: str,
    labels: Mapping[str, str] | None,
    container: dict[str, Any],
    *,
    run_as: int,
    volumes: list[dict[str, Any]] | None = None,
) -> Manifest:
    """One replica of ``container``, labelled ``app: <name>``, as the non-root user ``run_as``."""
    pod_labels = {"app": name}
    pod: dict[str, Any] = {"securityContext": {"runAsNonRoot": True, "runAsUser": run_as}, "containers": [container]}
    if volumes:
        pod["volumes"] = volumes
    return resource(
        "apps/v1",
        "Deployment",
        object_meta(name, namespace=namespace, labels=labels, extra_labels=pod_labels),
        spec={
            "replicas": 1,
            "selector": {"matchLabels": dict(pod_labels)},  # copies: a shared dict is a YAML anchor in to_yaml
            "template": {"metadata": {"labels": dict(pod_labels)}, "spec": pod},
        },
    )


def app_source() -> Path:
    """The checkout app's source folder inside the package (``data/datadog/express-app``): what the ConfigMap carries
    and what the sandbox runs (:mod:`course_lib.sandbox._express`)."""
    from .._resources import data_path

    return data_path("datadog", "express-app")


def express_app_files() -> dict[str, str]:
    """The checkout app's source files (name → text), as shipped in the package."""
    return {name: (app_source() / name).read_text() for name in APP_FILES}


def check_tag_value(service: str) -> str:
    """``service`` if it can be the value of a Datadog ``service:`` tag (letters, digits, ``-``, ``_``, ``.``).

    Raises:
        ConfigError: it cannot.
    """
    if not service or not all(c.isalnum() or c in "-_." for c in service):
        raise ConfigError(
            f"service {service!r} is not a Datadog tag value",
            hint="letters, digits, '-', '_' or '.', e.g. service='checkout-api'",
        )
    return service


def express_app(
    *,
    namespace: str = "default",
    service: str = "checkout-api",
    image: str = EXPRESS_APP_NODE_IMAGE,
    port: int = 8080,
    traffic_image: str = CURL_IMAGE,
    labels: Mapping[str, str] | None = None,
) -> list[Manifest]:
    """The seed's three objects plus the code: ConfigMap ``express-code``, Deployment ``express-app``, Service
    ``express-service`` and Deployment ``traffic-generator`` (one ``curl /checkout`` a second).

    Args:
        namespace: where all four go.
        service: the ``service`` tag of the app's metrics (``DD_SERVICE``); monitors filter on it.
        image: the app container's image (Node.js with npm).
        port: the app's port and the Service's.
        traffic_image: the traffic generator's image (has ``curl`` and ``sh``).
        labels: course labels on every object.

    Raises:
        ConfigError: a bad name, service tag or port (nothing is built).
    """
    check_name(namespace, what="namespace")
    check_tag_value(service)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"port {port!r} is out of range", hint="a TCP port between 1 and 65535, e.g. 8080")
    code = config_map("express-code", namespace=namespace, data=express_app_files(), labels=labels)
    env: list[dict[str, Any]] = [
        {"name": "DD_AGENT_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "DD_DOGSTATSD_PORT", "value": str(DOGSTATSD_PORT)},
        {"name": "DD_SERVICE", "value": service},
        {"name": "DD_ENV", "value": "course"},
        {"name": "HOST", "value": "0.0.0.0"},
        {"name": "PORT", "value": str(port)},
        {"name": "npm_config_cache", "value": "/app/.npm"},
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": "express",
        "image": image,
        "command": ["/bin/sh", "-c"],
        "args": ["cp /code/* /app/ && cd /app && npm ci --omit=dev --omit=optional --no-audit && exec node index.js"],
        "workingDir": "/app",
        "env": env,
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 5},
        "volumeMounts": [{"name": "code", "mountPath": "/code"}, {"name": "app", "mountPath": "/app"}],
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": _NO_ESCALATION,
    }
    volumes = [{"name": "code", "configMap": {"name": "express-code"}}, {"name": "app", "emptyDir": {}}]
    app = _deployment("express-app", namespace, labels, container, run_as=1000, volumes=volumes)  # image user `node`
    svc = resource(
        "v1",
        "Service",
        object_meta("express-service", namespace=namespace, labels=labels, extra_labels={"app": "express-app"}),
        spec={
            "selector": {"app": "express-app"},
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    )
    loop = f"while true; do curl -s http://express-service:{port}/checkout; echo; sleep 1; done"
    curl = {
        "name": "traffic",
        "image": traffic_image,
        "command": ["/bin/sh", "-c"],
        "args": [loop],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        "securityContext": _NO_ESCALATION,
    }
    traffic = _deployment("traffic-generator", namespace, labels, curl, run_as=100)  # the image's curl_user
    return [code, app, svc, traffic]


def datadog_agent_values() -> dict[str, Any]:
    """The ``datadog`` chart's values :data:`DATADOG_CHART` sets, as the nested mapping a values file holds.

    Example:
        >>> datadog_agent_values()["datadog"]["dogstatsd"]
        {'useHostPort': True}
    """
    values: dict[str, Any] = {}
    for key, raw in DATADOG_CHART.values:
        *parents, leaf = key.split(".")
        node = values
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = {"true": True, "false": False}.get(raw, raw)
    return values


__all__ = ["APP_FILES", "DOGSTATSD_PORT", "datadog_agent_values", "express_app", "express_app_files"]
