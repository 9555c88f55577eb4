"""Part 3's Datadog objects on a cluster: the checkout app's ConfigMap (the real files), Deployment, Service and
traffic generator validate as Kubernetes 1.x objects; the Agent's chart values keep the API key in a Secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib import manifests as m
from course_lib.errors import ConfigError
from course_lib.manifests._datadog import APP_FILES
from course_lib.observe import parse_hcl
from course_lib.pins import DATADOG_CHART
from course_lib.sandbox import _express


def test_the_objects_validate_and_carry_the_apps_real_code() -> None:
    objects = m.express_app(namespace="shop")
    report = m.validate(objects)
    assert report.ok, report.rows()
    code, app, svc, traffic = objects
    assert code["data"] == {n: (_express.app_source() / n).read_text() for n in APP_FILES}
    lock = json.loads(code["data"]["package-lock.json"])
    assert lock["packages"]["node_modules/express"]["version"] == "5.3.0"
    pod = app["spec"]["template"]["spec"]
    mounts = {v["mountPath"]: v["name"] for v in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # npm ci writes into an emptyDir, never into the read-only ConfigMap volume
    assert "configMap" in volumes[mounts["/code"]] and "emptyDir" in volumes[mounts["/app"]]
    assert "npm ci" in pod["containers"][0]["args"][0] and "cp /code/* /app/" in pod["containers"][0]["args"][0]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["DD_AGENT_HOST"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert env["DD_DOGSTATSD_PORT"]["value"] == "8125" and env["HOST"]["value"] == "0.0.0.0"
    assert svc["spec"]["selector"] == app["spec"]["selector"]["matchLabels"]
    assert "http://express-service:8080/checkout" in traffic["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert [o["metadata"]["namespace"] for o in objects] == ["shop"] * 4


def test_the_registry_renders_it() -> None:
    assert [o["kind"] for o in m.render("03/datadog-demo")] == ["ConfigMap", "Deployment", "Service", "Deployment"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"namespace": "Bad_NS"}, "namespace"), ({"service": "check out"}, "tag value"), ({"port": 0}, "out of range")],
)
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        m.express_app(**kwargs)


def test_the_agent_chart_reads_the_key_from_a_secret() -> None:
    values = m.datadog_agent_values()
    assert values["datadog"]["apiKeyExistingSecret"] == "datadog-secret"
    assert values["datadog"]["dogstatsd"] == {"useHostPort": True}
    assert "apiKey" not in values["datadog"]
    assert "--set datadog.dogstatsd.useHostPort=true" in DATADOG_CHART.commands
    release = parse_hcl(DATADOG_CHART.terraform())["resource"][0]["helm_release"]["datadog"]
    assert release["chart"] == "datadog" and release["version"] == DATADOG_CHART.version
    assert "api_key" not in json.dumps(release).lower()


def test_express_up_refuses_bad_input_before_installing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_install(**_: object) -> None:
        raise AssertionError("installed before the arguments were checked")

    monkeypatch.setattr(_express, "install", no_install)
    for kwargs, message in [
        ({"statsd_port": 0}, "statsd_port"),
        ({"statsd_port": "8125"}, "statsd_port"),
        ({"statsd_port": 8125, "latency_ms": -1}, "latency_ms"),
        ({"statsd_port": 8125, "service": "a b"}, "tag value"),
    ]:
        with pytest.raises(ConfigError, match=message):
            _express.express_up(**kwargs)  # type: ignore[arg-type]


def test_the_install_plan_is_the_lock_files_non_optional_packages() -> None:
    packages = _express._locked_packages()
    names = {name for _path, name, _version, _integrity in packages}
    assert {"express", "hot-shots", "body-parser"} <= names
    assert not names & {"unix-dgram", "bindings", "file-uri-to-path"}  # optional: hot-shots' Unix-socket transport
    assert all(integrity.startswith("sha512-") for *_, integrity in packages)
    assert _express._tarball_url("express", "5.3.0") == "https://registry.npmjs.org/express/-/express-5.3.0.tgz"
    assert _express._tarball_url("@scope/pkg", "1.0.0") == "https://registry.npmjs.org/@scope/pkg/-/pkg-1.0.0.tgz"


def test_a_tarball_that_does_not_match_the_lock_file_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io
    import tarfile

    import requests

    from course_lib.errors import SandboxError

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/index.js")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"//"))

    class Answer:
        content = buf.getvalue()

        def raise_for_status(self) -> None:
            return None

    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(requests, "get", lambda url, timeout: Answer())
    with pytest.raises(SandboxError, match="does not match package-lock.json's sha512"):
        _express.install()
    assert not _express.installed()
    assert list((tmp_path / "npm").iterdir()) == []  # neither the install folder nor its staging copy
