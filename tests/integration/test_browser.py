"""Open a run's report.html and exported notebooks in headless Chromium, offline, and check the plots were drawn.

The browser gets a new profile, and every connection it could open is pointed at a closed local port
(``--proxy-server``) with DNS answering nothing (``--host-resolver-rules``), so nothing can leave the machine.
Chromium's network log is then read to prove the *pages* asked for nothing but ``file:``/``data:`` URLs (the
browser's own background requests, e.g. to its component updater, are listed in the log with no page as initiator;
they are blocked and printed, not counted against the page).

Screenshots are kept under ``test-artifacts/browser/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from course_lib import runner
from course_lib.export import export_html
from tests.conftest import make_notebook

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # nothing can leave the machine even if something tried
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
    "--virtual-time-budget=8000",
    "--window-size=1280,1800",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (Debian package `chromium`; scripts/setup_system.sh installs it)",
    ),
]

PLOT = (
    "import plotly.graph_objects as go, plotly.io as pio\n"
    "pio.renderers.default = 'plotly_mimetype'  # what course_lib.session.start sets\n"
    "go.Figure(go.Scatter(x=[1, 2, 3], y=[count, 1, 2], mode='lines+markers'), layout={'title': {'text': learner}})"
)


def _chromium(url: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], float]:
    """Run headless Chromium once with a fresh profile; returns the result, its URL requests and the seconds."""
    with tempfile.TemporaryDirectory(prefix="course-chromium-") as profile:
        netlog = Path(profile) / "netlog.json"
        start = time.perf_counter()
        done = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}/p", f"--log-net-log={netlog}", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.perf_counter() - start
        requests = _requests(netlog) if netlog.exists() else []
    return done, requests, seconds


def _requests(netlog: Path) -> list[dict[str, Any]]:
    """Every URL request in a Chromium net log, with its initiator ("not an origin" = the browser itself)."""
    text = netlog.read_text(errors="replace").rstrip().rstrip(",")
    if not text.endswith("}"):  # the log may be cut short when the browser exits
        text = text.rstrip(",\n") + "]}"
    data = json.loads(text)
    kinds = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    out = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        if kinds.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params:
            out.append({"url": params["url"], "initiator": params.get("initiator", ""), "method": params.get("method")})
    return out


def _assert_offline(requests: list[dict[str, Any]], page: str) -> None:
    from_page = [r for r in requests if r["initiator"] != "not an origin"]
    assert all(r["url"].startswith(("file:", "data:", "blob:")) for r in from_page), from_page
    browser_own = sorted({re.sub(r"\?.*", "", r["url"]) for r in requests if r["initiator"] == "not an origin"})
    if browser_own:
        print(f"(blocked browser background requests while showing {page}: {browser_own})")


def _plots(dom: str) -> list[str]:
    """The markup of each drawn plotly figure: the div plotly marks with ``js-plotly-plot``."""
    starts = [m.start() for m in re.finditer(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b', dom)]
    return [dom[a:b] for a, b in zip(starts, [*starts[1:], len(dom)], strict=True)]


def _assert_drawn(plot: str) -> None:
    svg = re.search(r'<svg class="main-svg"[^>]*>(.*?)</svg>', plot, flags=re.S)
    assert svg and svg.group(1).strip(), "no SVG drawn"
    assert re.search(r'class="(?:scatterlayer|barlayer|trace)[^"]*"', plot), "the SVG has no trace layer"
    assert re.search(r'<path[^>]*\sd="M', plot), "no path was drawn"


@pytest.fixture(scope="module")
def classroom_run(tmp_path_factory: pytest.TempPathFactory) -> runner.RunReport:
    base = tmp_path_factory.mktemp("browser")
    nbs = base / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_plot.ipynb", "A plot", 'target = "sandbox"\nlearner = "learner"\ncount = 1', [PLOT])
    matrix = base / "learners.csv"
    matrix.write_text("learner,count\nada,3\nbob,5\n")
    # a class: plotly.js once in the run folder, loaded by each learner's page (the 03 export test embeds it)
    return runner.run_parts("0", matrix=matrix, out=base / "runs", notebooks=nbs, progress=False, html_plotly="shared")


def test_report_and_its_linked_notebook_render_offline(classroom_run: runner.RunReport) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = Path(classroom_run.out_dir) / "report.html"
    done, requests, seconds = _chromium(report.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'id="summary"' in dom and "ada" in dom and "bob" in dom and "0.00 (sandbox)" in dom
    links = re.findall(r'class="html-export" href="([^"]+)"', dom)
    assert links == ["ada/00_plot.html", "bob/00_plot.html"]
    _assert_offline(requests, "report.html")
    shot, _, shot_seconds = _chromium(report.as_uri(), f"--screenshot={ARTIFACTS / 'report.png'}")
    assert shot.returncode == 0 and (ARTIFACTS / "report.png").stat().st_size > 5_000

    page = (report.parent / links[1]).resolve()  # follow the link as a reader would
    done, requests, page_seconds = _chromium(page.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    plots = _plots(done.stdout)
    assert len(plots) == 1 and page.stat().st_size < 1_000_000  # plotly.js came from the run folder's one copy
    _assert_drawn(plots[0])
    assert ">bob<" in plots[0] or "bob</text>" in plots[0]  # bob's own parameters drew this figure
    _assert_offline(requests, links[1])
    shot, _, _ = _chromium(page.as_uri(), f"--screenshot={ARTIFACTS / 'notebook_plot.png'}")
    assert shot.returncode == 0 and (ARTIFACTS / "notebook_plot.png").stat().st_size > 5_000
    print(f"browser: report {seconds:.1f} s, screenshot {shot_seconds:.1f} s, notebook page {page_seconds:.1f} s")


def test_a_course_notebook_export_draws_every_figure(tmp_path: Path) -> None:
    source = ROOT / "notebooks" / "03_observability.ipynb"
    if not source.exists() or "application/vnd.plotly.v1+json" not in source.read_text():
        pytest.skip("notebooks/03_observability.ipynb has no plotly outputs in this checkout")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    exported = export_html(source, output=tmp_path / "03_observability.html")
    assert exported.figures > 0
    done, requests, seconds = _chromium(exported.path.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    plots = _plots(done.stdout)
    assert len(plots) == exported.figures
    for plot in plots:
        _assert_drawn(plot)
    _assert_offline(requests, exported.path.name)
    shot, _, _ = _chromium(exported.path.as_uri(), f"--screenshot={ARTIFACTS / '03_observability.png'}")
    assert shot.returncode == 0 and (ARTIFACTS / "03_observability.png").stat().st_size > 5_000
    print(
        f"browser: 03_observability.html export {exported.seconds:.2f} s, {exported.figures} figures drawn in {seconds:.1f} s"
    )
