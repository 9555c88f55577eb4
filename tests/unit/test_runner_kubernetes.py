"""The Kubernetes executor's Jobs, built without a cluster: spec, labels, parameters, the token only by Secret
reference, and every bad option refused before anything is contacted. (The round trip on a real API server is
tests/integration/test_kubernetes_executor.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from course_lib.classroom import LearnerResources
from course_lib.cli import main
from course_lib.config import COURSE_LABEL, RUN_ID_LABEL
from course_lib.errors import ConfigError
from course_lib.runner import _kubernetes as k8s
from course_lib.runner import plan_jobs
from tests.conftest import FAKE_TOKEN

IMAGE = "registry.example.com/class/k8s-course:abc123"


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    path = tmp_path / "learners.csv"
    path.write_text("learner,region,max_hourly_cost\nada,fra1,0.25\nbob,nyc1,0.5\n")
    return path


def _plan(matrix: Path | None, tmp_path: Path, **kwargs):  # type: ignore[no-untyped-def]
    args = {"target": "kubeconfig", "image": IMAGE, "matrix": matrix, "out": tmp_path / "runs", **kwargs}
    return k8s.plan_kubernetes_jobs("0,1", **args)


def test_one_job_per_learner_with_the_runs_labels_and_spec(matrix: Path, tmp_path: Path) -> None:
    run_id, run_dir, jobs = _plan(matrix, tmp_path, deadline_seconds=900)
    assert [j["metadata"]["labels"][k8s.LEARNER_LABEL] for j in jobs] == ["ada", "bob"]
    assert run_dir == (tmp_path / "runs").resolve() / run_id and not run_dir.exists()
    for job in jobs:
        learner = job["metadata"]["labels"][k8s.LEARNER_LABEL]
        assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
        assert job["metadata"]["name"] == k8s.job_name(run_id, learner)
        for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
            assert labels[RUN_ID_LABEL] == run_id and labels[k8s.LEARNER_LABEL] == learner
            assert labels[COURSE_LABEL] == "course-lib"
        spec = job["spec"]
        assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] == k8s.TTL_SECONDS
        assert spec["activeDeadlineSeconds"] == 900
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["image"] == IMAGE
        assert container["resources"] == LearnerResources().kubernetes()


def test_each_job_runs_that_learners_parameters_on_its_own_sandbox(matrix: Path, tmp_path: Path) -> None:
    _, _, jobs = _plan(matrix, tmp_path)
    expected = {"ada": {"region=fra1", "max_hourly_cost=0.25", "learner=ada"}, "bob": {"region=nyc1", "learner=bob"}}
    for job in jobs:
        learner = job["metadata"]["labels"][k8s.LEARNER_LABEL]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert container["command"] == ["course"] and args[0] == "run"
        assert args[args.index("--parts") + 1] == "0,1"
        assert args[args.index("--target") + 1] == "sandbox"
        given = {args[i + 1] for i, a in enumerate(args) if a == "-p"}
        assert expected[learner] <= given
        assert not [p for p in given if p.startswith("target=")]
        assert "--print-report" in args


def test_parameters_read_back_as_the_local_executor_reads_them(matrix: Path, tmp_path: Path) -> None:
    """The values a Job passes with -p are what a local run of the same matrix gives each notebook."""
    from course_lib.runner import parse_param_pairs

    _, _, jobs = _plan(matrix, tmp_path)
    _, _, local = plan_jobs(parts="0,1", target="sandbox", matrix=matrix, out=tmp_path)
    for job in jobs:
        learner = job["metadata"]["labels"][k8s.LEARNER_LABEL]
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        passed = parse_param_pairs(args[i + 1] for i, a in enumerate(args) if a == "-p")
        for planned in (j for j in local if j.learner == learner):
            for name, value in planned.parameters.items():
                if name != "target":
                    assert passed[name] == value, (learner, name)


def test_the_token_goes_by_secret_reference_and_never_into_a_job(matrix: Path, tmp_path: Path, fake_token: str) -> None:
    _, _, jobs = _plan(matrix, tmp_path, target="doks", token_secret="do-token")
    text = yaml.safe_dump(jobs)
    assert FAKE_TOKEN not in text and fake_token not in text
    for job in jobs:
        env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        ref = env[k8s.TOKEN_ENV]
        assert "value" not in ref
        assert ref["valueFrom"]["secretKeyRef"] == {"name": "do-token", "key": k8s.TOKEN_KEY, "optional": False}


def test_without_a_token_secret_the_jobs_get_no_token(matrix: Path, tmp_path: Path, fake_token: str) -> None:
    _, _, jobs = _plan(matrix, tmp_path)
    for job in jobs:
        names = [e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]]
        assert k8s.TOKEN_ENV not in names
    assert fake_token not in yaml.safe_dump(jobs)


def test_the_container_runs_unprivileged(matrix: Path, tmp_path: Path) -> None:
    _, _, jobs = _plan(matrix, tmp_path)
    pod = jobs[0]["spec"]["template"]["spec"]
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"]
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_a_runs_pvc_keeps_the_executed_notebooks_under_the_run_id(matrix: Path, tmp_path: Path) -> None:
    run_id, _, jobs = _plan(matrix, tmp_path, runs_pvc="class-runs")
    pod = jobs[0]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "runs", "persistentVolumeClaim": {"claimName": "class-runs"}}]
    container = pod["containers"][0]
    assert container["volumeMounts"] == [{"name": "runs", "mountPath": k8s.RUNS_MOUNT}]
    assert container["args"][container["args"].index("--out") + 1] == f"{k8s.RUNS_MOUNT}/{run_id}"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"target": "sandbox"}, "submits Jobs to a cluster, but the target is 'sandbox'"),
        ({"target": "doks"}, "name the Secret"),
        ({"image": "k8s-course"}, "no tag"),
        ({"namespace": "Course_Runs"}, "namespace"),
        ({"token_secret": "Bad Name"}, "token Secret name"),
        ({"deadline_seconds": 10}, "at least 60 seconds"),
        ({"matrix": None}, "give the learners with --matrix"),
    ],
)
def test_bad_options_are_refused_before_any_cluster_is_contacted(
    matrix: Path, tmp_path: Path, kwargs: dict, problem: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _plan(kwargs.pop("matrix", matrix), tmp_path, **kwargs)
    assert problem in err.value.message and err.value.hint


def test_a_matrix_column_that_looks_like_a_secret_is_refused(tmp_path: Path, fake_token: str) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(f"learner,api_token\nada,{FAKE_TOKEN}\n")
    with pytest.raises(ConfigError) as err:
        _plan(path, tmp_path)
    assert "looks like a secret" in err.value.message and FAKE_TOKEN not in str(err.value)


def test_a_matrix_without_learners_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("region\nfra1\n")
    with pytest.raises(ConfigError, match="no `learner` column"):
        _plan(path, tmp_path)


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        ([], None),
        ([{"type": "Complete", "status": "True"}], ("succeeded", None)),
        ([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}], ("failed", "DeadlineExceeded")),
        ([{"type": "Failed", "status": "False"}], None),
        ([{"type": "SuccessCriteriaMet", "status": "True"}], None),  # not finished until Complete
    ],
)
def test_a_job_is_finished_on_a_true_complete_or_failed_condition(conditions: list, outcome: object) -> None:
    assert k8s._finished({"status": {"conditions": conditions}}) == outcome


def test_the_report_line_is_found_at_the_end_of_a_log() -> None:
    log = "\n".join(
        ["building", k8s.REPORT_MARKER + '{"run_id": "old"}', "more", k8s.REPORT_MARKER + '{"run_id": "x"}']
    )
    assert k8s._read_report(log) == {"run_id": "x"}
    assert k8s._read_report("no report here") is None
    assert k8s._read_report(k8s.REPORT_MARKER + "{not json") is None


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--executor", "kubernetes", "--target", "kubeconfig"], "needs the image the Jobs run"),
        (["--executor", "kubernetes", "--image", IMAGE, "--target", "kubeconfig", "--jobs", "2"], "--jobs applies"),
        (["--image", IMAGE], "--image applies only to the Kubernetes executor"),
        (["--executor", "kubernetes", "--image", IMAGE], "the target is 'sandbox'"),
        (
            ["--executor", "kubernetes", "--image", IMAGE, "--target", "kubeconfig", "--kubeconfig", "/nonexistent"],
            "'/nonexistent' does not exist",
        ),
    ],
)
def test_cli_errors_name_the_option(matrix: Path, tmp_path: Path, capsys, args: list[str], problem: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--parts", "0,1", "--matrix", str(matrix), "--out", str(tmp_path / "runs"), *args])
    assert exit_.value.code == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_the_jobs_command_runs_the_learners_notebooks_and_prints_the_report_the_executor_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the container of a Job does, run here without a container: its exact ``course run`` arguments, on this
    machine's kernel; the report line it prints is what the executor reads back from the pod's log."""
    from click.testing import CliRunner

    from course_lib.cli import cli
    from tests.unit.test_runner import make_notebook

    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_hello.ipynb", "Hello", 'target = "sandbox"\nlearner = "learner"', ["print(learner)"])
    make_notebook(
        nbs / "01_sums.ipynb", "Sums", 'target = "sandbox"\nregion = "nyc1"\ncount = 2', ["assert count == 3, count"]
    )
    monkeypatch.setenv("COURSE_NOTEBOOKS", str(nbs))
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "learners.csv"
    path.write_text("learner,region,count\nada,fra1,3\n")
    _, _, (job,) = _plan(path, tmp_path)
    args = list(job["spec"]["template"]["spec"]["containers"][0]["args"])
    args[args.index("--out") + 1] = str(tmp_path / "pod-runs")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = k8s._read_report(result.output)
    assert report is not None
    assert [(r["notebook"], r["status"], r["learner"]) for r in report["results"]] == [
        ("00_hello.ipynb", "ok", ""),
        ("01_sums.ipynb", "ok", ""),
    ]  # count=3 reached notebook 01 (its assert), as a typed value
