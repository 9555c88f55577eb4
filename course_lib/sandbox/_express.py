"""Part 3's checkout app on the sandbox: the real Express app (``data/datadog/express-app``, Node.js) as a local
process that reports every checkout to a DogStatsD address over UDP, as it does on a cluster with the Datadog Agent.

The Datadog Agent itself does not run here (it is a hosted product's collector, shipped as container images, and
it forwards to Datadog with an API key), so the DogStatsD address the app sends to is a loopback UDP socket the
notebook listens on (:class:`course_lib.observe.DogStatsdListener`): it receives exactly the datagrams the Agent's
DogStatsD server would.

The app's npm dependencies (``express``, ``hot-shots``, pinned in its ``package.json`` and ``package-lock.json``)
are installed into the cache as ``npm ci`` would install them (:func:`install`; ``make tools`` does it, and
:func:`express_up` does it when it is missing), never into the package. The course does not run npm itself
(its licence, Artistic-2.0, is not one the project takes): it downloads the lock file's tarballs from the npm
registry and checks each against its ``integrity`` hash. The app listens on a free 127.0.0.1 port; ``course sandbox down``
stops it with the other on-demand groups.

Example:
    >>> from course_lib import sandbox
    >>> app = sandbox.express_up(statsd_port=8125)   # doctest: +SKIP
    >>> app.url                                       # doctest: +SKIP
    'http://127.0.0.1:41877'

Used in: notebook 03 (through ``session.checkout_app()``).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..errors import ConfigError, SandboxError
from . import _ondemand
from . import _process as proc

GROUP = "checkout-app"
PROGRAM = "express-app"


@dataclass(frozen=True)
class ExpressApp:
    """The running checkout app.

    Attributes:
        url: where it listens, ``http://127.0.0.1:PORT`` (``/checkout``, ``/healthz``).
        statsd: the DogStatsD address it sends to, ``127.0.0.1:PORT`` (UDP).
        directory: the installed app (its files and ``node_modules``).
        reused: True when an app started earlier with the same inputs was reused.
    """

    url: str
    statsd: str
    directory: str
    reused: bool = False

    def checkout(self, *, timeout: float = 10.0) -> dict[str, object]:
        """One ``GET /checkout`` (what the seed's traffic generator's curl loop does): the app's JSON answer."""
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/checkout", timeout=timeout) as response:  # noqa: S310 - loopback
            answer: dict[str, object] = json.loads(response.read())
        return answer


def _app() -> tuple[Path, tuple[str, ...]]:
    """The app's source folder and file names, as :mod:`course_lib.manifests._datadog` (the ConfigMap's builder)
    defines them; imported when needed, because importing the manifests package at module level would add about
    0.1 s to every ``import course_lib.sandbox``."""
    from ..manifests._datadog import APP_FILES
    from ..manifests._datadog import app_source as source

    return source(), APP_FILES


def app_source() -> Path:
    """The app's source folder inside the package (``data/datadog/express-app``)."""
    return _app()[0]


def _digest() -> str:
    source, files = _app()
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + (source / name).read_bytes())
    return h.hexdigest()[:12]


def install_dir() -> Path:
    """Where :func:`install` puts this version of the app (the cache; one folder per content of its files)."""
    return config.cache_dir() / "npm" / f"express-app-{_digest()}"


def _complete(root: Path) -> bool:
    return all((root / n).is_file() for n in _app()[1]) and (root / "node_modules" / "express").is_dir()


def installed() -> bool:
    """True when this version of the app and its dependencies are installed."""
    return _complete(install_dir())


#: The npm registry the lock file's packages are downloaded from (``<registry>/<name>/-/<base>-<version>.tgz``).
NPM_REGISTRY = "https://registry.npmjs.org"


def _locked_packages() -> list[tuple[str, str, str, str]]:
    """``(install path, name, version, integrity)`` of every package ``npm ci --omit=dev --omit=optional`` would
    install from the app's ``package-lock.json`` (lockfile v3: ``packages`` keyed by ``node_modules/...`` path)."""
    import json

    lock = json.loads((app_source() / "package-lock.json").read_text())
    if lock.get("lockfileVersion") != 3:
        raise SandboxError("the checkout app's package-lock.json is not lockfile version 3", hint="regenerate it")
    out = []
    for path, entry in lock["packages"].items():
        if not path or entry.get("dev") or entry.get("optional") or entry.get("link"):
            continue
        name = entry.get("name") or path.rsplit("node_modules/", 1)[1]
        out.append((path, name, entry["version"], entry["integrity"]))
    return out


def _tarball_url(name: str, version: str) -> str:
    return f"{NPM_REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _fetch_package(root: Path, path: str, name: str, version: str, integrity: str, timeout: float) -> None:
    """Download one package's tarball, check it against the lock file's ``integrity`` and unpack it at ``path``."""
    import base64
    import io
    import tarfile

    import requests

    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise SandboxError(f"{name}@{version}: unsupported integrity {algorithm!r} in package-lock.json")
    url = _tarball_url(name, version)
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise SandboxError(
            f"could not download {name}@{version}: {exc}", hint="check access to the npm registry"
        ) from None
    got = base64.b64encode(hashlib.new(algorithm, response.content).digest()).decode()
    if got != expected:
        raise SandboxError(f"{name}@{version}: the tarball from {url} does not match package-lock.json's {algorithm}")
    target = root / path
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            # npm tarballs put everything under one top folder (usually `package/`): strip it, as npm does
            parts = Path(member.name).parts[1:]
            if not parts or not (member.isfile() or member.isdir()):
                continue
            member.name = str(Path(*parts))
            tar.extract(member, target, filter="data")


def install(*, timeout: float = 300.0) -> Path:
    """Install the app and its locked dependencies into :func:`install_dir` (nothing when present): what
    ``npm ci --omit=dev --omit=optional --ignore-scripts`` does, done here so that no npm is needed — every tarball
    of ``package-lock.json`` from the npm registry, checked against its ``integrity`` hash and unpacked into
    ``node_modules``. Optional packages are left out (hot-shots' Unix-socket transport, which needs a compiler);
    UDP needs none, and no package of the lock file has an install script. A failed install leaves nothing behind.

    Raises:
        SandboxError: a download failed or a tarball does not match the lock file.
    """
    from concurrent.futures import ThreadPoolExecutor

    root = install_dir()
    if _complete(root):
        return root
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        source, files = _app()
        for name in files:
            shutil.copyfile(source / name, staging / name)
        packages = _locked_packages()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(_fetch_package, staging, *p, timeout) for p in packages]:
                future.result()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    return root


def _statsd_port(statsd_port: int) -> int:
    if isinstance(statsd_port, bool) or not isinstance(statsd_port, int) or not 1 <= statsd_port <= 65535:
        raise ConfigError(
            f"statsd_port must be a UDP port number (1-65535), not {statsd_port!r}",
            hint="pass the port of the DogStatsD listener, e.g. statsd_port=listener.port",
        )
    return statsd_port


def express_up(
    *, statsd_port: int, latency_ms: float = 100.0, service: str = "checkout-api", timeout: float = 30.0
) -> ExpressApp:
    """Start the checkout app (or reuse the running one started with the same inputs).

    Args:
        statsd_port: the UDP port on 127.0.0.1 it sends DogStatsD datagrams to (``DD_AGENT_HOST``/``DD_DOGSTATSD_PORT``).
        latency_ms: the typical checkout time (each request takes 0.5x to 1.5x of it).
        service: the ``service`` tag on every metric (``DD_SERVICE``).
        timeout: one deadline for the app to answer ``/healthz``.

    Raises:
        ConfigError: a bad argument (before anything starts).
        ToolMissingError: node is missing (the hint names Debian's ``nodejs``).
        SandboxError: the install failed, or the app did not become ready (its last log lines).
    """
    port_udp = _statsd_port(statsd_port)
    if not (isinstance(latency_ms, int | float) and not isinstance(latency_ms, bool) and 0 < latency_ms <= 10_000):
        raise ConfigError(f"latency_ms must be a number of milliseconds in (0, 10000], not {latency_ms!r}")
    from ..manifests._datadog import check_tag_value

    check_tag_value(service)
    node = proc.find_binary("node")
    root = install()
    inputs = {"statsd_port": port_udp, "latency_ms": float(latency_ms), "service": service, "dir": str(root)}
    from ._stack import _locked

    with _locked():
        current = _ondemand.reusable(GROUP, inputs)
        if current is not None:
            return _handle(current["endpoints"], reused=True)
        _ondemand.stop_group(GROUP)
        port = proc.free_port(exclude={port_udp})
        env = {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DD_AGENT_HOST": "127.0.0.1",
            "DD_DOGSTATSD_PORT": str(port_udp),
            "DD_SERVICE": service,
            "DD_ENV": "course",
            "LATENCY_MS": f"{float(latency_ms):g}",
        }
        child = _ondemand.Child(PROGRAM, [node, str(root / "index.js")], f"http://127.0.0.1:{port}/healthz", env=env)
        endpoints = {"url": f"http://127.0.0.1:{port}", "statsd": f"127.0.0.1:{port_udp}", "directory": str(root)}
        entry, reused = _ondemand.start_group(GROUP, [child], inputs=inputs, endpoints=endpoints, timeout=timeout)
        return _handle(entry["endpoints"], reused=reused)


def _handle(data: dict[str, str], *, reused: bool) -> ExpressApp:
    return ExpressApp(url=data["url"], statsd=data["statsd"], directory=data["directory"], reused=reused)


def express_down(*, timeout: float = 5.0) -> tuple[str, ...]:
    """Stop the checkout app (``course sandbox down`` does this too). Returns the names stopped."""
    from ._stack import _locked

    with _locked():
        return _ondemand.stop_group(GROUP, timeout=timeout)


__all__ = ["GROUP", "ExpressApp", "app_source", "express_down", "express_up", "install", "install_dir", "installed"]
