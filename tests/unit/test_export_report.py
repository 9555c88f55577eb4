"""``course run`` writes readable HTML next to each executed notebook and an instructor summary for classroom
batches (real notebooks executed by a real kernel, as in test_runner.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from course_lib import runner
from course_lib.cli import cli
from course_lib.config import Settings
from course_lib.errors import ConfigError
from course_lib.provision import snapshot_options
from course_lib.runner import _plan
from tests.conftest import make_notebook

PLOT = (
    "import plotly.graph_objects as go, plotly.io as pio\n"
    "pio.renderers.default = 'plotly_mimetype'  # what course_lib.session.start sets\n"
    "go.Figure(go.Bar(x=['a', 'b'], y=[count, 2]))"
)


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "notebooks"
    d.mkdir()
    params = 'target = "sandbox"\nlearner = "learner"\ncount = 1\nnode_size = "s-2vcpu-4gb"\nnode_count = 2'
    make_notebook(d / "00_plots.ipynb", "Plots", params, [PLOT, "print(f'{learner} done')"])
    make_notebook(d / "01_breaks.ipynb", "Breaks", 'target = "sandbox"\nlearner = "learner"', ["print(learner)", "1/0"])
    make_notebook(
        d / "02_plain.ipynb", "Plain", 'target = "sandbox"\nlearner = "learner"\ncount = 1', ["print(learner * count)"]
    )
    return d


def test_run_writes_linked_html_with_the_plots(nbdir: Path, tmp_path: Path) -> None:
    report = runner.run_parts("0,1", out=tmp_path / "runs", notebooks=nbdir, progress=False)
    by = {r.part: r for r in report.results}
    assert by[0].status == "ok" and by[1].status == "failed"
    for r in report.results:  # the failed notebook is exported too, up to where it stopped
        assert r.html and Path(r.html) == Path(r.output).with_suffix(".html") and Path(r.html).is_file()
        assert r.html_seconds and r.html_seconds > 0 and r.html_error is None
    plots = Path(by[0].html or "").read_text()
    assert plots.count('id="course-plotly-js"') == 1 and plots.count("course-plotly") == 2
    broken = Path(by[1].html or "").read_text()
    assert "ZeroDivisionError" in broken and "course-plotly" not in broken
    page = (Path(report.out_dir) / "report.html").read_text()
    assert 'class="html-export" href="00_plots.html"' in page and 'href="01_breaks.html"' in page
    data = json.loads((Path(report.out_dir) / "report.json").read_text())
    assert data["results"][0]["html"].endswith("00_plots.html")


def test_no_html_writes_none(nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(nbdir))
    done = CliRunner().invoke(cli, ["run", "--parts", "2", "--no-html", "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert not list((tmp_path / "r").rglob("02_plain.html"))
    assert list((tmp_path / "r").rglob("report.html"))


def test_matrix_run_has_an_instructor_summary(nbdir: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "learners.csv"
    matrix.write_text("learner,count\nada,3\nbob,4\n")
    report = runner.run_parts("1,2", matrix=matrix, out=tmp_path / "runs", notebooks=nbdir, progress=False)
    summary = report.summary
    assert summary["parts"] == [1, 2] and [row["learner"] for row in summary["learners"]] == ["ada", "bob"]
    for row in summary["learners"]:
        assert row["parts"]["2"]["status"] == "ok" and row["parts"]["1"]["status"] == "failed"
        assert (row["passed"], row["failed"]) == (1, 1)
        mine = [r.seconds for r in report.results if r.learner == row["learner"]]
        assert row["seconds"] == pytest.approx(sum(mine), abs=0.02)
        assert row["cost"]["text"] == "0.00 (sandbox)"
    data = json.loads((Path(report.out_dir) / "report.json").read_text())
    assert data["summary"]["learners"][1]["learner"] == "bob"
    page = (Path(report.out_dir) / "report.html").read_text()
    assert 'id="summary"' in page and "Part 1" in page and page.count("0.00 (sandbox)") == 2
    assert 'href="ada/02_plain.html"' in page and 'href="bob/02_plain.html"' in page
    assert "bobbobbobbob" in (Path(report.out_dir) / "bob" / "02_plain.html").read_text()  # bob's own parameters


def test_doks_summary_estimates_each_learners_cluster() -> None:
    results = [
        runner.JobResult("00_x.ipynb", 0, "ada", {}, "ok", 1800.0, "/r/ada/00_x.ipynb"),
        runner.JobResult("00_x.ipynb", 0, "bob", {}, "ok", 1800.0, "/r/bob/00_x.ipynb"),
        runner.JobResult("00_x.ipynb", 0, "cy", {}, "ok", 60.0, "/r/cy/00_x.ipynb"),
    ]
    params = {
        "ada": {"learner": "ada", "node_size": "s-2vcpu-4gb", "node_count": 2},
        "bob": {"learner": "bob", "node_size": "s-2vcpu-4gb", "node_count": 4, "region": "fra1"},
        "cy": {"learner": "cy", "node_size": "s-99vcpu-1tb"},
    }
    summary = runner.instructor_summary(results, target="doks", learner_params=params)
    ada, bob, cy = (row["cost"] for row in summary["learners"])
    assert ada["cluster"] == "course-ada-cluster" and bob["cluster"] == "course-bob-cluster"
    assert 0 < ada["hourly"] < bob["hourly"]  # two more nodes cost more
    assert ada["run"] == pytest.approx(ada["hourly"] / 2, abs=0.01)  # half an hour of notebooks
    assert ada["text"] == f"{ada['run']:.2f}" and "snapshot" in ada["prices"]
    assert cy["text"].startswith("n/a (") and cy["hourly"] is None  # an unknown size is named, not a crash
    kube = runner.instructor_summary(results, target="kubeconfig")
    assert kube["learners"][0]["cost"]["text"].startswith("0.00 (kubeconfig")


def test_two_learners_planned_jobs_get_different_resource_names(nbdir: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "learners.csv"
    matrix.write_text("learner\nada\nbob\n")
    _, _, jobs = runner.plan_jobs(parts="0", matrix=matrix, out=tmp_path / "runs", notebooks=nbdir)
    names = {
        j.learner: Settings(target="sandbox", learner=j.parameters["learner"]).resource_name("cluster") for j in jobs
    }
    assert names == {"ada": "course-ada-cluster", "bob": "course-bob-cluster"}
    assert len({j.output.parent for j in jobs}) == 2  # and separate folders


def test_a_matrix_without_learners_is_refused(nbdir: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "learners.csv"
    matrix.write_text("count\n3\n4\n")  # two rows would share one folder and one set of resource names
    with pytest.raises(ConfigError, match="no `learner` column") as err:
        runner.plan_jobs(parts="0", matrix=matrix, out=tmp_path / "runs", notebooks=nbdir)
    assert "unique" in (err.value.hint or "")
    single = tmp_path / "one.csv"
    single.write_text("count\n3\n")
    assert len(runner.plan_jobs(parts="0", matrix=single, out=tmp_path / "runs", notebooks=nbdir)[2]) == 1


def test_doks_costs_use_each_learners_matrix_parameters(nbdir: Path, tmp_path: Path, fake_token: str) -> None:
    matrix = tmp_path / "learners.csv"
    matrix.write_text("learner,node_count\nada,2\nbob,3\n")
    _, _, jobs = runner.plan_jobs(parts="0", target="doks", matrix=matrix, out=tmp_path / "runs", notebooks=nbdir)
    results = [
        runner.JobResult(j.part.path.name, j.part.number, j.learner, j.parameters, "ok", 3600.0, str(j.output))
        for j in jobs
    ]
    summary = runner.instructor_summary(results, target="doks", learner_params=_plan._learner_params(jobs))
    ada, bob = (row["cost"] for row in summary["learners"])
    node = snapshot_options().size("s-2vcpu-4gb").price_hourly
    assert bob["hourly"] - ada["hourly"] == pytest.approx(node, abs=1e-4)  # bob's matrix row asked for one more node
    assert bob["run"] > ada["run"] > 0 and ada["cluster"] == "course-ada-cluster"
    assert fake_token not in json.dumps(summary)
