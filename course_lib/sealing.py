"""Sealed Secrets with the real programs: ``kubeseal`` seals, the real controller unseals.

The Sealed Secrets controller keeps an RSA private key in the cluster and publishes a certificate for it;
``kubeseal`` encrypts a Secret with that certificate, and only the private key decrypts it. On the sandbox the
controller is upstream's own (:func:`course_lib.sandbox.sealed_secrets_up`, built by ``make tools``): it makes its
key in ``kube-system``, serves the certificate on a 127.0.0.1 port, and turns every SealedSecret applied to the
sandbox's API server into a Secret. :func:`seal` runs ``kubeseal --cert`` with that certificate's URL (or a saved
certificate file, as a teammate does offline); :func:`wait_unsealed` waits for the Secret the controller creates.

**Fallback when the controller is not built** (no ``controller`` in the tools cache): :func:`sandbox_key` makes a
key pair of the same kind (RSA 4096 with a self-signed certificate) in the course's state directory, and
:func:`unseal` runs kubeseal's disaster-recovery mode (``--recovery-unseal --recovery-private-key``), which
decrypts as the controller would. Nothing creates a Secret on that path.

``kubeseal`` is built from its pinned source by ``make tools``; without it the functions raise
:class:`~course_lib.errors.ToolMissingError` naming that command.

Example:
    >>> from course_lib import manifests as m, sealing
    >>> secret = m.secret("db-pass", namespace="default", string_data={"password": "change-me"})
    >>> ctl = session.sealed_secrets()  # doctest: +SKIP
    >>> sealed = sealing.seal(secret, cert=ctl.cert_url)  # doctest: +SKIP
    >>> sealing.leaks(sealed, secret)  # doctest: +SKIP
    []
    >>> cluster.apply(sealed); sealing.wait_unsealed(cluster, "db-pass", namespace="default")  # doctest: +SKIP

Used in: notebook 02.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import state_dir
from .errors import ConfigError

Manifest = dict[str, Any]
Scope = Literal["strict", "namespace-wide", "cluster-wide"]
_SCOPES: tuple[str, ...] = ("strict", "namespace-wide", "cluster-wide")


@dataclass(frozen=True)
class SealingKey:
    """A Sealed Secrets key pair on disk.

    Attributes:
        cert: PEM certificate (public; ``kubeseal --cert`` seals with it; safe to share and commit).
        key: PEM RSA private key (secret; file mode 0600; only for unsealing).
        fingerprint: first 16 hex digits of the SHA-256 of the certificate (DER), to tell keys apart.
        bits: RSA key size.
        not_after: when the certificate expires (UTC).
    """

    cert: Path
    key: Path
    fingerprint: str
    bits: int
    not_after: dt.datetime


def _load(cert: Path, key: Path) -> SealingKey:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    der = certificate.public_bytes(serialization.Encoding.DER)
    public = certificate.public_key()
    bits = int(getattr(public, "key_size", 0))
    return SealingKey(cert, key, hashlib.sha256(der).hexdigest()[:16], bits, certificate.not_valid_after_utc)


def generate_key(
    directory: str | os.PathLike[str],
    *,
    common_name: str = "sealed-secret",
    days: int = 3650,
    bits: int = 4096,
    overwrite: bool = False,
) -> SealingKey:
    """Create an RSA key pair and a self-signed certificate, as the Sealed Secrets controller does.

    Writes ``tls.crt`` and ``tls.key`` (mode 0600) into ``directory`` — the names the controller uses in its
    key Secret.

    Args:
        directory: where to write the two files (created if missing).
        common_name: the certificate's subject CN (the controller uses ``sealed-secret``).
        days: validity of the certificate (the controller's default is 10 years; it renews its key every 30 days).
        bits: RSA key size, 2048 or more (the controller uses 4096).
        overwrite: replace existing files (otherwise an existing pair is an error).

    Raises:
        ConfigError: bad ``bits``/``days``, or the files exist and ``overwrite`` is false.

    Example:
        >>> import tempfile
        >>> k = generate_key(tempfile.mkdtemp() + "/demo-key", bits=2048)
        >>> k.bits
        2048

    Used in: notebook 02 (through :func:`sandbox_key`).
    """
    if bits < 2048:
        raise ConfigError(f"an RSA key of {bits} bits is too weak", hint="use bits=4096 (or at least 2048)")
    if days < 1:
        raise ConfigError(f"days must be at least 1, got {days}", hint="use days=3650 (10 years, the default)")
    folder = Path(directory)
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    if not overwrite and (cert_path.exists() or key_path.exists()):
        raise ConfigError(
            f"a key pair already exists in {folder}",
            hint="load it with load_key(directory), pass overwrite=True, or choose another directory",
        )
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_bytes = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return _load(cert_path, key_path)


def load_key(directory: str | os.PathLike[str]) -> SealingKey:
    """Load a key pair written by :func:`generate_key` (``tls.crt`` + ``tls.key``).

    Raises:
        ConfigError: a file is missing.
    """
    folder = Path(directory)
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    for path in (cert_path, key_path):
        if not path.is_file():
            raise ConfigError(f"{path} does not exist", hint="create the pair with generate_key(directory)")
    return _load(cert_path, key_path)


def sandbox_key(*, directory: str | os.PathLike[str] | None = None) -> SealingKey:
    """The sandbox's key pair, made once and reused (``<state dir>/sealed-secrets/sandbox``).

    The fallback when the Sealed Secrets controller is not built: it plays the part of the controller's key
    (notebook 02 then seals with its certificate and unseals with :func:`unseal`).

    Used in: notebook 02 (fallback only).
    """
    folder = Path(directory) if directory is not None else state_dir() / "sealed-secrets" / "sandbox"
    if (folder / "tls.crt").is_file() and (folder / "tls.key").is_file():
        key = load_key(folder)
        if key.not_after > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
            return key
    return generate_key(folder, overwrite=True)


def _check_secret(secret: Mapping[str, Any], scope: str) -> None:
    if scope not in _SCOPES:
        raise ConfigError(f"unknown sealing scope {scope!r}", hint=f"use one of {', '.join(_SCOPES)}")
    if not isinstance(secret, Mapping) or secret.get("kind") != "Secret":
        kind = secret.get("kind") if isinstance(secret, Mapping) else type(secret).__name__
        raise ConfigError(
            f"kubeseal seals a Secret, got {kind!r}",
            hint='pass a Secret manifest, e.g. m.secret("db-pass", namespace="default", string_data={...})',
        )
    meta = secret.get("metadata") or {}
    if not meta.get("name"):
        raise ConfigError("the Secret has no metadata.name", hint="give the Secret a name")
    if scope != "cluster-wide" and not meta.get("namespace"):
        raise ConfigError(
            f"a {scope} SealedSecret is bound to a namespace, but the Secret has none",
            hint="set metadata.namespace (without a cluster, kubeseal cannot look up your current namespace)",
        )
    if not (secret.get("data") or secret.get("stringData")):
        raise ConfigError("the Secret has no data or stringData", hint="add at least one key to seal")


def _offline_env(workdir: Path) -> dict[str, str]:
    # kubeseal builds a Kubernetes client config even when it needs none; an empty kubeconfig keeps it local.
    empty = workdir / "kubeconfig"
    if not empty.exists():
        empty.write_text("apiVersion: v1\nkind: Config\n")
    return {"KUBECONFIG": str(empty)}


def _is_url(cert: str | os.PathLike[str]) -> bool:
    return isinstance(cert, str) and "://" in cert


def _loopback_url(url: str) -> str:
    from .sandbox._traefik import is_loopback_url

    if not url.startswith(("http://", "https://")) or not is_loopback_url(url):
        raise ConfigError(
            f"the certificate URL {url!r} is not an http(s) URL on 127.0.0.1",
            hint="use the sandbox controller's URL (session.sealed_secrets().cert_url) or a saved certificate file",
        )
    return url


def _check_cert(cert: str | os.PathLike[str]) -> str:
    """The ``--cert`` argument for kubeseal: an existing file, or an http(s) URL on this machine's loopback."""
    if _is_url(cert):
        return _loopback_url(str(cert))
    cert_path = Path(cert)
    if not cert_path.is_file():
        raise ConfigError(
            f"certificate {cert_path} does not exist",
            hint="use session.sealed_secrets().cert_url (or, without the controller, sealing.sandbox_key().cert)",
        )
    return str(cert_path)


def seal(secret: Mapping[str, Any], *, cert: str | os.PathLike[str], scope: Scope = "strict") -> Manifest:
    """Seal a Secret with the real ``kubeseal --cert`` (kubeseal talks to no API server).

    Args:
        secret: a Secret manifest with ``data`` or ``stringData``, a name and (unless cluster-wide) a namespace.
        cert: the certificate to seal with: the sandbox controller's ``http://127.0.0.1:PORT/v1/cert.pem``
            (:attr:`~course_lib.sandbox.SealedSecretsController.cert_url`; only loopback URLs are accepted), or a PEM
            file (``kubeseal --fetch-cert`` output, or :attr:`SealingKey.cert` on the fallback path).
        scope: ``strict`` (bound to name and namespace, the default), ``namespace-wide`` or ``cluster-wide``.

    Returns:
        The SealedSecret as a dict, as kubeseal wrote it.

    Raises:
        ConfigError: the input is not a sealable Secret, the certificate file is missing or the URL is not on
            127.0.0.1 (all before kubeseal runs).
        ToolMissingError: kubeseal is not built (run ``make tools``).
        ToolError: kubeseal failed; its message is included.

    Used in: notebook 02.
    """
    _check_secret(secret, scope)
    cert_arg = _check_cert(cert)
    from .tools import run

    out = run(
        "kubeseal",
        ["--cert", cert_arg, "--scope", scope, "--format", "json"],
        input=json.dumps(secret),
        env=_offline_env(_workdir()),
        what="kubeseal --cert (seal)",
        hint="check that the certificate is a PEM certificate and the Secret is valid",
    )
    result: Manifest = json.loads(out.stdout)
    return result


def unseal(sealed: Mapping[str, Any], *, key: str | os.PathLike[str]) -> Manifest:
    """Decrypt a SealedSecret with the private key, as the controller does (``kubeseal --recovery-unseal``).

    Returns:
        The Secret (values base64-encoded under ``data``; :func:`values` decodes them).

    Raises:
        ConfigError: not a SealedSecret, or the key file is missing.
        ToolError: kubeseal could not decrypt it (wrong key, or the name/namespace changed under strict scope).

    Used in: notebook 02.
    """
    if not isinstance(sealed, Mapping) or sealed.get("kind") != "SealedSecret":
        raise ConfigError("unseal expects a SealedSecret", hint="pass what sealing.seal(...) returned")
    key_path = Path(key)
    if not key_path.is_file():
        raise ConfigError(f"private key {key_path} does not exist", hint="use sealing.sandbox_key().key")
    from .tools import run

    out = run(
        "kubeseal",
        ["--recovery-unseal", "--recovery-private-key", str(key_path), "--format", "json"],
        input=json.dumps(sealed),
        env=_offline_env(_workdir()),
        what="kubeseal --recovery-unseal",
        hint="only the private key that belongs to the sealing certificate can decrypt; a strict SealedSecret "
        "also fails when its name or namespace was changed",
    )
    result: Manifest = json.loads(out.stdout)
    return result


def fetch_cert(url: str) -> str:
    """The PEM certificate a controller serves at ``url`` (``http://127.0.0.1:PORT/v1/cert.pem``; loopback only).

    It is public: safe to save and commit (``kubeseal --cert FILE`` seals offline with it).

    Raises:
        ConfigError: ``url`` is not an http(s) URL on 127.0.0.1, or what it serves is not a PEM certificate.

    Used in: notebook 02.
    """
    import urllib.request

    _loopback_url(url)
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as resp:
        pem = resp.read().decode()
    if "BEGIN CERTIFICATE" not in pem:
        raise ConfigError(f"{url} did not serve a PEM certificate", hint="is it the controller's /v1/cert.pem?")
    return pem


def cert_fingerprint(pem: str) -> str:
    """The first 16 hex digits of the SHA-256 of a PEM certificate's DER bytes (as :attr:`SealingKey.fingerprint`).

    Used in: notebook 02 (the certificate kubeseal sealed with is the controller's key Secret's).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()[:16]


@dataclass(frozen=True)
class Unsealed:
    """The Secret the controller created from a SealedSecret.

    Attributes:
        name, namespace: the Secret's (the SealedSecret's, for the default strict scope).
        keys: its data keys (values are not kept here: compare them with :func:`values` on ``secret``).
        owner: the ``Kind/name`` of its controlling owner (``SealedSecret/<name>``), "" when none.
        seconds: how long after the call the Secret was there.
        secret: the live Secret object (its values base64-encoded under ``data``).
    """

    name: str
    namespace: str
    keys: tuple[str, ...]
    owner: str
    seconds: float
    secret: Manifest = field(repr=False)


def wait_unsealed(cluster: Any, name: str, *, namespace: str, timeout: float = 30.0, interval: float = 0.2) -> Unsealed:
    """Wait until the Secret ``name`` that the controller unseals from the SealedSecret of the same name exists
    (``kubectl get secret NAME -n NAMESPACE``), and return it.

    Raises:
        SandboxError: no such Secret within ``timeout`` (with the SealedSecret's status conditions, where the
            controller reports why it could not decrypt).

    Used in: notebook 02.
    """
    import time

    from .errors import ClusterError, SandboxError

    start = time.monotonic()
    while True:
        try:
            live = cluster.get("Secret", name, namespace=namespace)
        except ClusterError:
            live = None
        if live is not None:
            refs = (live.get("metadata") or {}).get("ownerReferences") or []
            owner = next((f"{r.get('kind')}/{r.get('name')}" for r in refs if r.get("controller")), "")
            return Unsealed(name, namespace, tuple(sorted(live.get("data") or {})), owner,
                            time.monotonic() - start, live)  # fmt: skip
        if time.monotonic() - start >= timeout:
            try:
                sealed = cluster.get("SealedSecret", name, namespace=namespace, api_version="bitnami.com/v1alpha1")
                conditions = (sealed.get("status") or {}).get("conditions") or "none (no controller has seen it)"
            except ClusterError:
                conditions = "no such SealedSecret"
            raise SandboxError(
                f"no Secret {namespace}/{name} within {timeout:.0f} s; the SealedSecret's conditions: {conditions}",
                hint="is the Sealed Secrets controller running (`course sandbox status`)? A SealedSecret sealed "
                "with another key (or renamed under strict scope) cannot be decrypted",
                timeout=timeout,
            )
        time.sleep(interval)


def _workdir() -> Path:
    folder = state_dir() / "sealed-secrets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def values(secret: Mapping[str, Any]) -> dict[str, str]:
    """The decoded values of a Secret: ``stringData`` as is, ``data`` base64-decoded.

    Example:
        >>> values({"kind": "Secret", "data": {"password": "Y2hhbmdlLW1l"}})
        {'password': 'change-me'}
    """
    result = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    result.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return result


def leaks(sealed: Mapping[str, Any], secret: Mapping[str, Any]) -> list[str]:
    """The keys of ``secret`` whose value shows up in ``sealed`` in plain text or base64 (the answer should be ``[]``).

    Example:
        >>> leaks({"spec": {"encryptedData": {"p": "AgB..."}}}, {"stringData": {"p": "change-me"}})
        []

    Used in: notebook 02.
    """
    text = json.dumps(sealed)
    found = []
    for name, value in values(secret).items():
        encoded = base64.b64encode(value.encode()).decode()
        if value and (value in text or encoded in text or encoded.rstrip("=") in text):
            found.append(name)
    return found


def describe(sealed: Mapping[str, Any]) -> dict[str, Any]:
    """A deterministic summary of a SealedSecret (the ciphertext itself changes on every run).

    Returns the name, namespace, scope, and for each key the ciphertext's length in base64 characters.

    Used in: notebook 02.
    """
    meta = sealed.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    scope = "strict"
    if annotations.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        scope = "cluster-wide"
    elif annotations.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        scope = "namespace-wide"
    encrypted = (sealed.get("spec") or {}).get("encryptedData") or {}
    return {
        "kind": sealed.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "scope": scope,
        "ciphertext characters": {k: len(v) for k, v in encrypted.items()},
    }


def crd() -> Manifest:
    """The ``SealedSecret`` CustomResourceDefinition (``bitnami.com/v1alpha1``, namespaced), for a cluster without the chart.

    The Sealed Secrets chart installs this CRD together with the controller. The sandbox's control plane has no
    controller, so notebook 02 installs just the CRD to store the real SealedSecret there; nothing decrypts it.
    The schema keeps the fields the controller reads (``spec.encryptedData`` as strings, ``spec.template``) and
    lets the rest through, as upstream does for the template.

    Example:
        >>> crd()["metadata"]["name"]
        'sealedsecrets.bitnami.com'

    Used in: notebook 02.
    """
    open_object: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["encryptedData"],
                "properties": {
                    "encryptedData": {"type": "object", "additionalProperties": {"type": "string"}},
                    "template": open_object,
                },
            },
            "status": open_object,
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sealedsecrets.bitnami.com"},
        "spec": {
            "group": "bitnami.com",
            "scope": "Namespaced",
            "names": {
                "kind": "SealedSecret",
                "listKind": "SealedSecretList",
                "plural": "sealedsecrets",
                "singular": "sealedsecret",
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


__all__ = [
    "SealingKey",
    "Unsealed",
    "cert_fingerprint",
    "crd",
    "describe",
    "fetch_cert",
    "generate_key",
    "leaks",
    "load_key",
    "sandbox_key",
    "seal",
    "unseal",
    "values",
    "wait_unsealed",
]
