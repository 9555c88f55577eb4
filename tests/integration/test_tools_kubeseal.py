"""The real kubeseal (built by `make tools`): seal offline with a certificate, unseal with the private key."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from course_lib import manifests as m
from course_lib import sealing, tools
from course_lib.errors import ConfigError, ToolError

pytestmark = pytest.mark.integration

_kubeseal_missing = pytest.mark.skipif(
    not tools.available("kubeseal"), reason="kubeseal is not built: run `make tools`"
)


def needs_kubeseal(test: Any) -> Any:
    """Mark a test as needing `kubeseal` from `make tools` (skipped without it)."""
    return pytest.mark.tools(_kubeseal_missing(test))


PASSWORD = "s3cr3t-Value-42"  # test value; must not survive sealing in any form


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> sealing.SealingKey:
    return sealing.generate_key(tmp_path_factory.mktemp("sealing-key"), bits=2048)


@pytest.fixture
def secret() -> dict:
    return m.secret("db-pass", namespace="default", string_data={"password": PASSWORD})


def test_generated_key_pair_is_private_and_loadable(key: sealing.SealingKey) -> None:
    assert stat.S_IMODE(key.key.stat().st_mode) == 0o600
    assert key.bits == 2048
    assert "BEGIN CERTIFICATE" in key.cert.read_text()
    again = sealing.load_key(key.cert.parent)
    assert again.fingerprint == key.fingerprint


def test_existing_pair_is_not_overwritten(key: sealing.SealingKey) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        sealing.generate_key(key.cert.parent, bits=2048)


def test_sandbox_key_is_made_once_and_reused(tmp_path: Path) -> None:
    first = sealing.sandbox_key(directory=tmp_path)
    assert sealing.sandbox_key(directory=tmp_path).fingerprint == first.fingerprint


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(kind="ConfigMap"), "seals a Secret"),
        (lambda s: s["metadata"].pop("namespace"), "bound to a namespace"),
        (lambda s: s.pop("stringData"), "no data"),
    ],
)
def test_bad_input_is_refused_before_kubeseal_runs(key: sealing.SealingKey, secret: dict, change, message) -> None:
    change(secret)
    with pytest.raises(ConfigError, match=message):
        sealing.seal(secret, cert=key.cert)


def test_missing_certificate_is_a_config_error(secret: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        sealing.seal(secret, cert=tmp_path / "nope.pem")


@needs_kubeseal
def test_seal_hides_the_value_and_unseal_restores_it(key: sealing.SealingKey, secret: dict) -> None:
    sealed = sealing.seal(secret, cert=key.cert)
    assert sealed["kind"] == "SealedSecret"
    assert sealed["metadata"] == {"name": "db-pass", "namespace": "default"}
    assert set(sealed["spec"]["encryptedData"]) == {"password"}
    assert sealing.leaks(sealed, secret) == []
    assert PASSWORD not in json.dumps(sealed)
    # RSA-OAEP with a random session key: sealing twice never gives the same ciphertext
    again = sealing.seal(secret, cert=key.cert)
    assert again["spec"]["encryptedData"]["password"] != sealed["spec"]["encryptedData"]["password"]
    unsealed = sealing.unseal(sealed, key=key.key)
    assert unsealed["kind"] == "Secret"
    assert sealing.values(unsealed) == {"password": PASSWORD}


@needs_kubeseal
def test_another_key_cannot_unseal(key: sealing.SealingKey, secret: dict, tmp_path: Path) -> None:
    other = sealing.generate_key(tmp_path, bits=2048)
    sealed = sealing.seal(secret, cert=key.cert)
    with pytest.raises(ToolError, match="recovery-unseal"):
        sealing.unseal(sealed, key=other.key)


@needs_kubeseal
def test_strict_scope_binds_the_namespace(key: sealing.SealingKey, secret: dict) -> None:
    sealed = sealing.seal(secret, cert=key.cert)
    moved = copy.deepcopy(sealed)
    moved["metadata"]["namespace"] = "other"
    moved["spec"]["template"]["metadata"]["namespace"] = "other"
    with pytest.raises(ToolError):
        sealing.unseal(moved, key=key.key)


@needs_kubeseal
def test_cluster_wide_scope_survives_a_move(key: sealing.SealingKey, secret: dict) -> None:
    sealed = sealing.seal(secret, cert=key.cert, scope="cluster-wide")
    assert sealing.describe(sealed)["scope"] == "cluster-wide"
    moved = copy.deepcopy(sealed)
    moved["metadata"]["namespace"] = "other"
    assert sealing.values(sealing.unseal(moved, key=key.key)) == {"password": PASSWORD}


@needs_kubeseal
def test_kubeseal_reports_its_pinned_version() -> None:
    pinned = tools.read_pins().get("KUBESEAL_VERSION")
    out = tools.run("kubeseal", ["--version"]).stdout
    assert pinned and pinned in out


def test_crd_is_a_valid_namespaced_definition_for_sealed_secrets() -> None:
    definition = sealing.crd()
    assert m.validate([definition]).ok
    spec = definition["spec"]
    assert (spec["group"], spec["names"]["kind"], spec["scope"]) == ("bitnami.com", "SealedSecret", "Namespaced")
    assert [v["name"] for v in spec["versions"] if v["served"] and v["storage"]] == ["v1alpha1"]
