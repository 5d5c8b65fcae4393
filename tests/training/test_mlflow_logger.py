"""logger=mlflow against a real SQLite tracking store in tmp_path: the config as params, every
logged step's metrics, the final metrics as metrics.json holds them, the best checkpoint and the
run's files as artifacts, read back through mlflow.search_runs and MlflowClient; a bad store
stops the run in one sentence; a password in the URL never reaches disk; and kiln without
logger=mlflow never imports MLflow."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import kiln.api
from kiln.errors import KilnError
from tests.helpers import REPO, cli, run_dir, train
from tests.helpers.server import free_port

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

TINY = ["experiment=wine_mlp", "debug=fast", "~callbacks.confusion_matrix", "calibrate=false"]


@pytest.fixture(scope="module", autouse=True)
def local_store_only():
    """A developer's MLFLOW_TRACKING_URI must not receive the tests' runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


def store(runs: Path) -> str:
    return f"sqlite:///{runs / 'mlflow.db'}"


def search(runs: Path, experiment: str):
    """mlflow.search_runs on the store under ``runs`` (the URI is MLflow's process setting)."""
    mlflow.set_tracking_uri(store(runs))
    return mlflow.search_runs(experiment_names=[experiment])


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = train(runs, *TINY, "logger=mlflow")  # report=auto: train writes report/
    runs_df = search(runs, "kiln")
    return runs, result, runs_df


def test_the_run_is_in_the_sqlite_store_under_the_runs_root_with_its_params(logged):
    runs, result, df = logged
    assert (runs / "mlflow.db").is_file() and len(df) == 1
    row = df.iloc[0]
    assert row["status"] == "FINISHED"
    folder = run_dir(result)
    assert row["tags.mlflow.runName"] == folder.name
    assert row["tags.kiln.run_dir"] == str(folder.resolve())
    config = kiln.api.compose("train", [f"paths.root={runs}", *TINY])
    assert row["params.data.name"] == "wine"
    assert float(row["params.optimizer.lr"]) == pytest.approx(float(config.optimizer.lr))
    assert row["params.trainer.max_epochs"] == "1" and row["params.seed"] == "42"
    assert not any(c.startswith(("params.paths.", "params.logger.")) for c in df.columns)
    # the artifacts sit beside the database, not in a ./mlruns of whatever folder ran it
    assert row["artifact_uri"].startswith((runs / "mlartifacts" / "kiln").resolve().as_uri())
    assert not (REPO / "mlruns").exists()


def test_every_step_and_the_final_metrics_read_back_as_metrics_json_holds_them(logged):
    runs, result, df = logged
    row = df.iloc[0]
    client = MlflowClient(store(runs))
    history = client.get_metric_history(row["run_id"], "train/loss")
    # debug=fast: 3 training batches, logged every step
    assert [m.step for m in history] == [0, 1, 2]
    assert all(m.value > 0 for m in history)
    saved = json.loads((run_dir(result) / "metrics.json").read_text())
    for key in ("test/acc", "test/f1", "val/f1_best", "fit_seconds", "epochs"):
        assert row[f"metrics.{key}"] == pytest.approx(saved[key], rel=1e-6), key
    val = client.get_metric_history(row["run_id"], "val/f1")
    assert [m.step for m in val] == [history[-1].step]  # the epoch's end, on the same axis


def test_the_best_checkpoint_and_the_run_files_are_artifacts(logged, tmp_path):
    runs, result, df = logged
    run_id = df.iloc[0]["run_id"]
    client = MlflowClient(store(runs))
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"checkpoints", "config.yaml", "metrics.json", "data_report.json", "report"} <= top
    assert [a.path for a in client.list_artifacts(run_id, "checkpoints")] == [
        "checkpoints/best.ckpt"
    ]
    got = Path(client.download_artifacts(run_id, "checkpoints/best.ckpt", str(tmp_path)))
    assert sha(got) == sha(result["best_checkpoint"])
    config = Path(client.download_artifacts(run_id, "config.yaml", str(tmp_path)))
    assert config.read_text() == (run_dir(result) / "config.yaml").read_text()
    # the evaluation report folder, as the run wrote it after the test
    listed = [a.path for a in client.list_artifacts(run_id, "report")]
    written = sorted(f"report/{p.name}" for p in (run_dir(result) / "report").iterdir())
    assert "report/report.html" in written and listed == written
    got = Path(client.download_artifacts(run_id, "report/evaluation.json", str(tmp_path)))
    assert got.read_text() == (run_dir(result) / "report" / "evaluation.json").read_text()


def test_a_second_run_joins_the_experiment_and_a_named_one_gets_its_own(logged):
    runs, _, _ = logged
    train(runs, *TINY, "logger=mlflow", "logger.mlflow.experiment_name=wine tries")
    train(runs, *TINY, "logger=mlflow", "test=false")
    assert len(search(runs, "kiln")) == 2
    named = search(runs, "wine tries")
    assert len(named) == 1 and named.iloc[0]["status"] == "FINISHED"


def test_a_server_that_does_not_answer_stops_the_run_before_training_in_one_sentence(runs):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(KilnError, match="cannot be used.*no answer") as err:
        train(runs, *TINY, "logger=mlflow", f"logger.mlflow.tracking_uri={url}")
    assert url in str(err.value) and "\n" not in str(err.value)
    assert not list(runs.glob("train/*/checkpoints/*.ckpt"))


def test_a_store_mlflow_does_not_know_is_one_sentence(runs):
    with pytest.raises(KilnError) as err:
        train(runs, *TINY, "logger=mlflow", "logger.mlflow.tracking_uri=nosuch://x")
    text = str(err.value)
    assert text.startswith("MLflow at nosuch://x cannot be used") and "\n" not in text
    assert "logger.mlflow.tracking_uri" in text


def test_a_password_in_the_tracking_url_is_refused_and_never_reaches_disk(runs):
    url = "https://bob:s3cret-pass@mlflow.example.com"
    done = cli("train", *TINY, "logger=mlflow", f"logger.mlflow.tracking_uri={url}", runs=runs)
    assert done.returncode == 2
    assert "MLFLOW_TRACKING_PASSWORD" in done.stderr and "s3cret-pass" not in done.stderr
    for path in runs.rglob("*"):
        if path.is_file():
            assert b"s3cret-pass" not in path.read_bytes(), path


def test_logger_many_includes_mlflow(tmp_path):
    cfg = kiln.api.compose("train", [f"paths.root={tmp_path}", "logger=many"])
    assert set(cfg.logger) == {"tensorboard", "csv", "mlflow"}
    assert cfg.logger.mlflow.runs_root == str(tmp_path)


def test_kiln_without_logger_mlflow_does_not_import_mlflow():
    code = (
        "import sys, kiln.cli, kiln.tasks.train, kiln.sweep.tracking, kiln.serving.registry; "
        "print(sorted(m for m in sys.modules if m.startswith('mlflow')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
