"""The package as a learner gets it from ``pip install``: a built wheel, installed outside the checkout.

A wheel is built from a copy of this checkout (so the build leaves nothing behind in it), installed with
``--no-deps`` into a fresh virtual environment in a temporary folder. That environment sees the current venv's
site-packages through a ``.pth`` file, so the dependencies are not downloaded again (pip fetches only the build
backend). Everything then runs from a folder that is not the checkout: the library's data lookups (CRD schemas,
tool pins, the DigitalOcean snapshot, rules tests, Kyverno tests, the chart and kustomize sources, the report
template), part 0's library calls, ``course validate``, and ``course list`` / ``course run --parts 0`` with the
notebooks a learner downloaded next to them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from course_lib import tools

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

#: what a copy of the checkout leaves out (local state, caches, earlier builds)
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".nbval", "runs", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "test-artifacts"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Build the wheel, install it into a fresh venv; returns the venv's python, its site-packages and an env."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("course_lib-*.whl")
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
    pip = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    learner = root / "learner"  # where a learner works: not the checkout, nothing of it around
    learner.mkdir()
    env.update(
        PATH=f"{venv / 'bin'}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        COURSE_STATE_DIR=str(root / "state"),
        COURSE_CACHE_DIR=os.environ.get("COURSE_CACHE_DIR") or str(tools.tools_dir().parent),
        HOME=str(root / "home"),
    )
    env.pop("DIGITALOCEAN_TOKEN", None)
    return {"wheel": wheel, "py": py, "site": site, "env": env, "learner": learner, "root": root}


def _run(installed: dict, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(installed["py"]), *args],
        cwd=cwd or installed["learner"],
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_wheel_holds_the_data_and_templates(installed: dict) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    expected = {
        "course_lib/py.typed",
        "course_lib/templates/report.html.j2",
        "course_lib/data/tools/pins.env",
        "course_lib/data/tools/kubernetes/go.mod",
        "course_lib/data/tools/kubernetes/go.sum",
        "course_lib/data/crds/objectmeta.json",
        "course_lib/data/crds/traefik.io/IngressRoute_v1alpha1.json",
        "course_lib/data/digitalocean/options.json",
        "course_lib/data/rules-tests/course_rules_test.yaml",
        "course_lib/data/kyverno-tests/disallow-root/kyverno-test.yaml",
        "course_lib/data/charts/checkout/Chart.yaml",
        "course_lib/data/charts/checkout/.helmignore",
        "course_lib/data/charts/checkout/templates/_helpers.tpl",
        "course_lib/data/kustomize/base/config.properties",
    }
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "data/", "tools/"))]


LIBRARY_CALLS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import course_lib as cl
    from course_lib import charts, manifests, policy, provision, runner, sandbox, tools

    settings = cl.start(target="sandbox", learner="wheel")  # part 0's first cell
    route = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "r"},
             "spec": {"routes": [{"match": "PathPrefix(`/`)", "kind": "Rule", "services": [{"name": "s", "port": 80}]}]}}
    report = manifests.validate([route])
    print(json.dumps({
        "file": cl.__file__,
        "target": settings.target,
        "validated": [r.ok for r in report.results],
        "schema": report.results[0].schema,
        "crds": len(manifests.crd_schemas()),
        "tools": tools.read_pins()["TOOLS"],
        "helm_hash": tools.pin_hash("helm"),
        "kubernetes_hash": tools.pin_hash("kubernetes"),
        "snapshot": provision.snapshot_options().source,
        "rules_tests": len(list(sandbox.RULES_TESTS_DIR.glob("*_test.yaml"))),
        "kyverno_suite": (policy.KYVERNO_TESTS_DIR / "disallow-root" / "kyverno-test.yaml").is_file(),
        "chart": (charts.CHART_SOURCE / "Chart.yaml").is_file(),
        "kustomize": (charts.KUSTOMIZE_SOURCE / "base" / "kustomization.yaml").is_file(),
        "report_html": "<html" in runner.render_report_html(runner.RunReport("r", "sandbox", "now", 0.0, ".")).lower(),
    }))
    """
)


def test_library_data_lookups_and_part_0_calls_work_from_the_wheel(installed: dict) -> None:
    done = _run(installed, "-c", LIBRARY_CALLS)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    import json

    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(got["file"]).is_relative_to(installed["site"]), got["file"]  # the installed copy, not the checkout
    assert got["target"] == "sandbox"
    assert got["validated"] == [True] and got["schema"] == "data/crds/traefik.io/IngressRoute_v1alpha1.json"
    assert got["crds"] == len(list((ROOT / "course_lib" / "data" / "crds").glob("*/*.json")))
    assert got["tools"] == tools.read_pins()["TOOLS"]
    # the same bytes are hashed, so the installed package finds the tools `make tools` built from the checkout
    assert (got["helm_hash"], got["kubernetes_hash"]) == (tools.pin_hash("helm"), tools.pin_hash("kubernetes"))
    assert got["snapshot"] == "snapshot" and got["rules_tests"] >= 1
    assert got["kyverno_suite"] and got["chart"] and got["kustomize"] and got["report_html"]


def test_course_validate_from_the_wheel(installed: dict) -> None:
    done = _run(installed, "-m", "course_lib", "validate", "--quiet")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    manifest = installed["learner"] / "route.yaml"
    manifest.write_text(
        "apiVersion: traefik.io/v1alpha1\nkind: IngressRoute\nmetadata: {name: r}\n"
        "spec: {routes: [{match: 'PathPrefix(`/`)', kind: Rule, services: [{name: s, port: 80}]}]}\n"
    )
    mine = _run(installed, "-m", "course_lib", "validate", "--file", str(manifest))
    assert mine.returncode == 0, mine.stdout[-3000:] + mine.stderr[-3000:]
    assert "IngressRoute" in mine.stdout


def test_course_list_without_notebooks_says_where_to_point_it(installed: dict) -> None:
    done = _run(installed, "-m", "course_lib", "list")
    assert done.returncode != 0
    assert "COURSE_NOTEBOOKS" in done.stdout + done.stderr


def test_course_run_part_0_with_downloaded_notebooks(installed: dict) -> None:
    learner = installed["learner"] / "course"
    (learner / "notebooks").mkdir(parents=True)
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, learner / "notebooks")
    listed = _run(installed, "-m", "course_lib", "list", cwd=learner)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "00_welcome_and_setup.ipynb" in listed.stdout
    out = installed["root"] / "runs"
    run = _run(installed, "-m", "course_lib", "run", "--parts", "0", "--no-html", "--out", str(out), cwd=learner)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert len(list(out.glob("*/report.json"))) == 1
