"""The papermill runner, on small real notebooks executed by a real kernel."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from course_lib import runner
from course_lib.cli import cli
from course_lib.errors import ConfigError
from course_lib.runner import _discover, _run
from tests.conftest import make_notebook


def printed(output: str | Path) -> str:
    """Everything an executed notebook's code cells printed."""
    cells = nbformat.read(output, as_version=4).cells
    return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)


@pytest.fixture
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "notebooks"
    d.mkdir()
    make_notebook(
        d / "00_hello.ipynb", "Hello", 'target = "sandbox"\nlearner = "learner"', ["print(f'hi {learner} on {target}')"]
    )
    make_notebook(
        d / "01_sums.ipynb",
        "Sums",
        'target = "sandbox"\nregion = "nyc1"\ncount = 2',
        ["assert isinstance(count, int)", "print(region, count * 2)"],
    )
    make_notebook(
        d / "02_broken.ipynb", "Broken", 'target = "sandbox"', ["x = 1", "raise ValueError('cell two breaks')"]
    )
    make_notebook(
        d / "03_leaky.ipynb",
        "Leaky",
        'target = "sandbox"',
        ["import os\nprint('token:', os.environ.get('DIGITALOCEAN_TOKEN'))"],
    )
    (d / "notes.ipynb").write_text("{}")  # not a part: ignored
    return d


def test_list_parts_reads_titles_and_parameters(nbdir: Path) -> None:
    parts = runner.list_parts(nbdir)
    assert [p.number for p in parts] == [0, 1, 2, 3]
    assert parts[1].title == "Sums"
    assert {p.name: p.default for p in parts[1].parameters} == {"target": '"sandbox"', "region": '"nyc1"', "count": "2"}
    table = runner.parts_table(parts)
    assert list(table.index) == [0, 1, 2, 3] and "region=" in table.loc[1, "parameters"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parts": "0,9"}, "there is no part 9"),
        ({"parts": "zero"}, "cannot read parts"),
        ({"parts": "1", "params": {"colour": "red"}}, "unknown parameter(s): colour"),
        ({"parts": "1", "params": {"do_token": "x"}}, "looks like a secret"),
        ({"parts": "1", "target": "aws"}, "unknown target 'aws'"),
        ({"parts": "1", "html_plotly": "cdn"}, "unknown --html-plotly 'cdn'"),
    ],
)
def test_bad_requests_fail_before_anything_runs(nbdir: Path, tmp_path: Path, kwargs: dict, message: str) -> None:
    out = tmp_path / "runs"
    with pytest.raises(ConfigError) as err:
        runner.run_parts(**kwargs, out=out, notebooks=nbdir, progress=False)
    assert message in str(err.value)
    assert err.value.hint  # every refusal says how to fix it
    assert not out.exists()  # nothing was created


def test_doks_without_token_is_refused(nbdir: Path, tmp_path: Path, no_token: None) -> None:
    with pytest.raises(ConfigError, match="DIGITALOCEAN_TOKEN is not set"):
        runner.plan_jobs(parts="0", target="doks", notebooks=nbdir, out=tmp_path)


def test_matrix_errors(nbdir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read matrix file"):
        runner.read_matrix(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("learner,region\n")
    with pytest.raises(ConfigError, match="has no rows"):
        runner.read_matrix(empty)
    dup = tmp_path / "dup.csv"
    dup.write_text("learner\nada\nada\n")
    with pytest.raises(ConfigError, match="duplicate learners"):
        runner.read_matrix(dup)
    bad = tmp_path / "bad.csv"
    bad.write_text("learner\nAda Lovelace\n")
    with pytest.raises(ConfigError, match="DNS-1123"):
        runner.read_matrix(bad)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("learner,region\nada,nyc1,extra\n")
    with pytest.raises(ConfigError, match="one value per column"):
        runner.read_matrix(ragged)


def test_matrix_plans_one_set_per_learner(nbdir: Path, tmp_path: Path) -> None:
    m = tmp_path / "learners.csv"
    m.write_text("learner,region,count\nada,ams3,3\nbob,sgp1,4\n")
    _, run_dir, jobs = runner.plan_jobs(parts="0,1", matrix=m, out=tmp_path / "runs", notebooks=nbdir)
    assert [(j.learner, j.part.number) for j in jobs] == [("ada", 0), ("ada", 1), ("bob", 0), ("bob", 1)]
    assert jobs[1].parameters == {"region": "ams3", "count": 3, "target": "sandbox"}
    assert jobs[0].parameters == {"learner": "ada", "target": "sandbox"}
    assert jobs[2].output == run_dir / "bob" / "00_hello.ipynb"


def test_run_executes_and_reports(nbdir: Path, tmp_path: Path) -> None:
    report = runner.run_parts(
        "0,1,2", params={"region": "fra1"}, out=tmp_path / "runs", notebooks=nbdir, progress=False
    )
    by_nb = {r.notebook: r for r in report.results}
    assert by_nb["00_hello.ipynb"].status == "ok"
    assert by_nb["01_sums.ipynb"].status == "ok"
    broken = by_nb["02_broken.ipynb"]
    assert broken.status == "failed" and "cell two breaks" in (broken.error or "")
    assert broken.failing_cell is not None
    assert not report.ok

    assert "fra1 4" in printed(by_nb["01_sums.ipynb"].output)  # the parameter reached the notebook

    data = json.loads((Path(report.out_dir) / "report.json").read_text())
    assert data["ok"] is False and len(data["results"]) == 3
    html = (Path(report.out_dir) / "report.html").read_text()
    assert "02_broken.ipynb" in html and "cell two breaks" in html and 'class="failed"' in html


def test_secrets_are_scrubbed_from_outputs_and_flagged(nbdir: Path, tmp_path: Path, fake_token: str) -> None:
    report = runner.run_parts("3", out=tmp_path / "runs", notebooks=nbdir, progress=False)
    (result,) = report.results
    assert result.status == "ok" and result.redacted
    for f in Path(report.out_dir).rglob("*"):
        if f.is_file():
            assert fake_token not in f.read_text(errors="replace"), f


def test_parallel_matrix_run(nbdir: Path, tmp_path: Path) -> None:
    m = tmp_path / "learners.csv"
    m.write_text("learner\nada\nbob\n")
    report = runner.run_parts("0", matrix=m, jobs=2, out=tmp_path / "runs", notebooks=nbdir, progress=False)
    assert report.ok
    texts = {r.learner: printed(r.output) for r in report.results}
    assert "hi ada" in texts["ada"] and "hi bob" in texts["bob"]


def test_cli_run_exit_codes_and_messages(nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(nbdir))
    cli_runner = CliRunner()
    ok = cli_runner.invoke(cli, ["run", "--parts", "0", "--out", str(tmp_path / "r")])
    assert ok.exit_code == 0, ok.output
    assert "report.html" in ok.output
    failed = cli_runner.invoke(cli, ["run", "--parts", "2", "--out", str(tmp_path / "r")])
    assert failed.exit_code == 1 and "FAILED" in failed.output
    missing = cli_runner.invoke(cli, ["run", "--out", str(tmp_path / "r")])
    assert missing.exit_code != 0 and "--all or --parts" in str(missing.exception)
    listing = cli_runner.invoke(cli, ["list"])
    assert listing.exit_code == 0 and "Sums" in listing.output and "region" in listing.output


def test_cli_run_says_when_the_sandbox_keeps_running(
    nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_lib.sandbox import _stack

    monkeypatch.setenv("COURSE_NOTEBOOKS", str(nbdir))
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    cli_runner = CliRunner()
    quiet = cli_runner.invoke(cli, ["run", "--parts", "0", "--no-html", "--out", str(tmp_path / "r")])
    assert quiet.exit_code == 0 and "still running" not in quiet.output
    _stack.state_file().parent.mkdir(parents=True, exist_ok=True)
    # what a notebook that started the stack leaves behind (here: a stack whose services have all exited)
    _stack.state_file().write_text(json.dumps({"version": _stack.STATE_VERSION, "services": []}))
    told = cli_runner.invoke(cli, ["run", "--parts", "0", "--no-html", "--out", str(tmp_path / "r")])
    assert told.exit_code == 0 and "`course sandbox down` stops it" in told.output


def test_parallel_run_starts_the_sandbox_stopper_after_the_others(tmp_path: Path) -> None:
    """Part 11 stops the shared sandbox at its end: with --jobs it must not overlap notebooks still using it."""
    d = tmp_path / "notebooks"
    d.mkdir()
    log = tmp_path / "times"
    log.mkdir()
    record = "import time, pathlib\npathlib.Path(log, name).write_text(f'{time.time()} {{}}')"
    for i, name in enumerate(["slow_a", "slow_b"]):
        make_notebook(
            d / f"0{i}_{name}.ipynb",
            name,
            f'log = ""\nname = "{name}"',
            [f"import time\nstart = time.time()\ntime.sleep(1.5)\n{record.replace('{{}}', '{start}')}"],
        )
    make_notebook(
        d / "02_cleanup.ipynb",
        "Cleanup",
        'log = ""\nname = "cleanup"\nstop_sandbox = True',
        [f"import time\nstart = time.time()\n{record.replace('{{}}', '{start}')}"],
    )
    report = runner.run_parts("all", params={"log": str(log)}, jobs=3, out=tmp_path / "r", notebooks=d, progress=False)
    assert report.ok and [r.part for r in report.results] == [0, 1, 2]
    end = {p.name: float(p.read_text().split()[0]) for p in log.iterdir()}
    began = {p.name: float(p.read_text().split()[1]) for p in log.iterdir()}
    assert began["cleanup"] >= max(end["slow_a"], end["slow_b"])
    assert began["slow_b"] < end["slow_a"]  # the others did run in parallel

    _, _, kept = runner.plan_jobs(parts="2", params={"stop_sandbox": False}, notebooks=d, out=tmp_path / "r2")
    assert not _run._stops_sandbox(kept[0])


def test_kernels_listen_on_unix_sockets_not_tcp(tmp_path: Path) -> None:
    d = tmp_path / "notebooks"
    d.mkdir()
    make_notebook(
        d / "00_transport.ipynb",
        "Transport",
        'target = "sandbox"',
        ["from ipykernel.kernelapp import IPKernelApp\nprint('transport:', IPKernelApp.instance().transport)"],
    )
    report = runner.run_parts("0", out=tmp_path / "r", notebooks=d, progress=False)
    assert "transport: ipc" in printed(report.results[0].output)


def test_each_learner_of_a_matrix_gets_a_private_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    d = tmp_path / "notebooks"
    d.mkdir()
    for i in range(2):
        make_notebook(
            d / f"0{i}_where.ipynb",
            f"Where {i}",
            'target = "sandbox"\nlearner = "learner"',
            ["import os\nprint('state:', os.environ.get('COURSE_STATE_DIR'))"],
        )
    shared = str(tmp_path / "shared-state")
    monkeypatch.setenv("COURSE_STATE_DIR", shared)
    m = tmp_path / "learners.csv"
    m.write_text("learner\nada\nbob\n")
    report = runner.run_parts("all", matrix=m, jobs=2, out=tmp_path / "r", notebooks=d, progress=False)
    assert report.ok
    seen: dict[str, set[str]] = {}
    for r in report.results:
        seen.setdefault(r.learner, set()).add(printed(r.output).split("state:", 1)[1].strip())
    ada, bob = seen["ada"], seen["bob"]
    assert len(ada) == 1 and len(bob) == 1 and ada != bob  # one sandbox per learner, for all their parts
    assert shared not in ada | bob and os.environ["COURSE_STATE_DIR"] == shared
    assert all(Path(p).name.startswith(f"course-{who}-") for who, ps in seen.items() for p in ps)
    assert not any(Path(p).exists() for p in ada | bob)  # stopped and deleted after their last notebook

    single = runner.run_parts("0", out=tmp_path / "r1", notebooks=d, progress=False)
    assert shared in printed(single.results[0].output)


def test_notebooks_are_found_beside_the_package_in_the_current_folder_or_named(
    nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COURSE_NOTEBOOKS", raising=False)
    assert runner.notebooks_dir() == Path(_discover.__file__).resolve().parents[2] / "notebooks"  # the checkout
    # an installed wheel: no notebooks/ beside the package
    monkeypatch.setattr(
        _discover, "__file__", str(tmp_path / "site-packages" / "course_lib" / "runner" / "_discover.py")
    )
    monkeypatch.chdir(tmp_path)
    assert runner.notebooks_dir() == nbdir  # ./notebooks
    monkeypatch.chdir(nbdir)
    assert runner.notebooks_dir() == nbdir  # inside it, as a kernel JupyterLab starts there
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError, match="COURSE_NOTEBOOKS") as info:
        runner.list_parts()
    assert "course repository" in info.value.hint
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(nbdir))
    assert [p.number for p in runner.list_parts()] == [0, 1, 2, 3]


def test_kernels_of_a_run_find_the_notebooks_it_ran(
    nbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COURSE_NOTEBOOKS", raising=False)
    make_notebook(
        nbdir / "04_where.ipynb", "Where", 'target = "sandbox"', ["import os; print(os.environ['COURSE_NOTEBOOKS'])"]
    )
    report = runner.run_parts("4", out=tmp_path / "runs", notebooks=nbdir, progress=False, html=False)
    assert report.ok and printed(report.results[0].output).strip() == str(nbdir)
    assert "COURSE_NOTEBOOKS" not in os.environ  # restored after the run
