"""Replay what Binder does with this repository, as far as it can be done without Docker or repo2docker.

1. ``environment.yml``: Python 3.11, and its pip section installed into a *fresh* virtual environment. To keep this
   under a few minutes the new environment sees the current venv's site-packages through a ``.pth`` file (so the
   dependencies are not downloaded again); the pip line itself (``-e .[dev]``) runs for real, resolves every
   requirement of this checkout against those packages, and installs the package into the new environment.
2. ``apt.txt`` lists exactly the sandbox packages that ``scripts/setup_system.sh`` installs.
3. ``postBuild`` runs with that environment's Python and without Go: it finds the package and says the
   control-plane notebooks run in dry-run mode.
4. ``course run --parts 0`` with the new environment's Python executes notebook 00 and writes the report and HTML.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _pip_section(env: dict) -> list[str]:
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return [str(x) for x in dep["pip"]]
    return []


def _setup_system_packages() -> list[str]:
    text = (ROOT / "scripts" / "setup_system.sh").read_text()
    match = re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, flags=re.M)
    assert match, "scripts/setup_system.sh has no APT_PACKAGES=(...) line"
    return match.group(1).split()


def test_apt_txt_matches_the_sandbox_packages() -> None:
    apt = [line.strip() for line in (ROOT / "apt.txt").read_text().splitlines() if line.strip()]
    apt = [line for line in apt if not line.startswith("#")]
    assert sorted(apt) == sorted(_setup_system_packages())
    assert "chromium" not in apt  # the test browser is not part of the Binder image


def test_environment_yml_and_postbuild_are_what_binder_expects() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in deps and "pip" in deps
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == "3.11"  # the replay runs the same minor version
    assert _pip_section(env) == ["-e .[dev]"]  # a local requirement: repo2docker copies the repo before pip runs
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK) and post.read_text().startswith("#!/usr/bin/env bash")
    assert subprocess.run(["bash", "-n", str(post)], check=False).returncode == 0


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A new venv with the current venv's packages visible (.pth) and this checkout installed by pip."""
    start = time.perf_counter()
    root = tmp_path_factory.mktemp("binder")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_course_parent_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(
        PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        COURSE_STATE_DIR=str(root / "state"),
        HOME=str(root / "home"),  # a Binder user's empty home: no kubeconfig, no tools cache
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    env.pop("DIGITALOCEAN_TOKEN", None)
    pip_args = _pip_section(yaml.safe_load((ROOT / "environment.yml").read_text()))
    # exactly the pip section; pip fetches the build backend (setuptools, wheel) into an isolated build env
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", *" ".join(pip_args).split()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return {"root": root, "py": py, "site": site, "env": env, "install_seconds": time.perf_counter() - start}


def test_pip_section_installs_this_checkout_into_the_new_env(fresh_env: dict) -> None:
    py, site = fresh_env["py"], fresh_env["site"]
    where = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.distribution('course-lib')._path)"],
        env=fresh_env["env"],
        capture_output=True,
        text=True,
        check=True,
        cwd=fresh_env["root"],  # not the checkout, whose course_lib.egg-info would be found first
    ).stdout.strip()
    assert where.startswith(str(site)), where  # the new env's own install, not the parent's
    check = subprocess.run(
        [str(py), "-m", "pip", "check"], env=fresh_env["env"], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr  # every requirement of the package is satisfied
    print(f"binder replay: venv + pip install took {fresh_env['install_seconds']:.1f} s")


def test_postbuild_without_go(fresh_env: dict) -> None:
    env = {**fresh_env["env"], "GO_BIN": str(fresh_env["root"] / "no-go"), "PYTHON": str(fresh_env["py"])}
    done = subprocess.run(
        ["bash", str(ROOT / "postBuild")], env=env, capture_output=True, text=True, timeout=180, cwd=fresh_env["root"]
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "course-lib is installed" in out and str(ROOT / "course_lib") in out
    assert "control-plane notebooks will run in dry-run mode" in out
    assert "Go found" not in out


def test_course_run_part_0_with_the_new_env(fresh_env: dict) -> None:
    start = time.perf_counter()
    out_dir = fresh_env["root"] / "runs"
    done = subprocess.run(
        [str(fresh_env["py"]), "-m", "course_lib", "run", "--parts", "0", "--out", str(out_dir)],
        env=fresh_env["env"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=fresh_env["root"],
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = [p for p in out_dir.iterdir() if p.is_dir()]
    assert (run_dir / "00_welcome_and_setup.ipynb").is_file() and (run_dir / "00_welcome_and_setup.html").is_file()
    assert '"ok": true' in (run_dir / "report.json").read_text()
    print(f"binder replay: course run --parts 0 took {time.perf_counter() - start:.1f} s")


FAKE_GO = """#!/usr/bin/env bash
# A stand-in for `go` (test only): helm "builds", etcd hangs until postBuild's time limit stops it, the rest fail.
case "$1" in
  version) echo "go version go0.0-test linux/amd64" ;;
  install) for a in "$@"; do
             case "$a" in *cmd/helm@*) printf '#!/bin/sh\\n' >"$GOBIN/helm"; chmod +x "$GOBIN/helm"; exit 0 ;; esac
           done
           echo "fake go: build failed" >&2; exit 1 ;;
  *) case "$PWD" in */tools/etcd) exec sleep 120 ;; esac
     echo "fake go: build failed" >&2; exit 1 ;;
esac
"""


def test_postbuild_builds_each_tool_on_its_own_and_a_failure_is_not_fatal(tmp_path: Path) -> None:
    """One tool builds, one runs past the time limit, the others fail: postBuild tries every tool, says which
    did not build, and the image build goes on (exit 0, `course doctor` still runs)."""
    go = tmp_path / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "GO"))}
    env.update(
        GO_BIN=str(go),
        PYTHON=sys.executable,
        COURSE_CACHE_DIR=str(cache),
        COURSE_STATE_DIR=str(tmp_path / "state"),
        POSTBUILD_TOOL_TIMEOUT="3",
    )
    listed = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_tools.sh"), "--list"], env=env, capture_output=True, text=True
    )
    tools = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"helm", "etcd", "kubernetes"} <= set(tools), listed.stdout
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", str(ROOT / "postBuild")], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert out.count("[tools] using go version go0.0-test") == len(tools), out  # one build_tools.sh run per tool
    assert "[postBuild] tools built: helm\n" in out, out
    (not_built,) = [line for line in out.splitlines() if "tools NOT built:" in line]
    assert not_built.split("tools NOT built: ")[1].split(" (")[0].split() == [t for t in tools if t != "helm"]
    assert "etcd did not build (stopped after 3s" in out, out
    assert "kubernetes did not build (exit status 1" in out, out
    assert "network     loopback ports" in out, out  # the last step, `course doctor`, still ran
    assert list(cache.glob("tools/helm-*/bin/helm")), "helm's build was not kept"
    assert not list(cache.glob("tools/kubernetes-*/bin/kube-apiserver"))
    print(f"binder replay: postBuild with a failing Go took {time.perf_counter() - start:.1f} s")
