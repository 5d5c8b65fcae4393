"""kiln sweep logger=mlflow against a real SQLite tracking store: every trial a run of the one
experiment sweep/<name>, nested under the sweep's parent run, with its sampled values and its
objective as Optuna recorded them; the parent holds the best value and best.yaml."""

from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

import kiln.api

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

TINY = [
    "sweep=wine_mlp",
    "debug=fast",
    "trainer.enable_model_summary=false",
    "~callbacks.confusion_matrix",
    "calibrate=false",
    "sweep.sampler=random",
    "sweep.pruner=none",
    "sweep.plots=false",
    "logger=mlflow",
]


@pytest.fixture(scope="module", autouse=True)
def local_store_only():
    """A developer's MLFLOW_TRACKING_URI must not receive the tests' runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = kiln.api.run("sweep", [f"paths.root={runs}", *TINY, "sweep.n_trials=2"])
    sweep_dir = runs / "sweep" / "wine_mlp"
    study = optuna.load_study(study_name="wine_mlp", storage=f"sqlite:///{sweep_dir}/study.sqlite")
    mlflow.set_tracking_uri(f"sqlite:///{runs / 'mlflow.db'}")
    df = mlflow.search_runs(experiment_names=["sweep/wine_mlp"])
    return runs, result, study, df


def test_every_trial_is_a_run_nested_under_the_sweeps_run(swept):
    _, _, study, df = swept
    parents = df[df["tags.kiln.role"] == "sweep"]
    trials = df[df["tags.kiln.role"] != "sweep"]
    assert len(parents) == 1 and len(trials) == len(study.trials) == 2
    parent = parents.iloc[0]["run_id"]
    assert set(trials["tags.mlflow.parentRunId"]) == {parent}
    assert sorted(trials["tags.mlflow.runName"]) == ["trial 0000", "trial 0001"]
    assert set(trials["status"]) == {"FINISHED"}


def test_each_trial_has_its_sampled_values_and_its_objective(swept):
    _, _, study, df = swept
    trials = df[df["tags.kiln.role"] != "sweep"]
    by_dir = {Path(r["tags.kiln.run_dir"]).name: r for _, r in trials.iterrows()}
    assert len(by_dir) == 2
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        row = by_dir[f"{t.number:04d}"]
        assert row["metrics.val/f1_best"] == pytest.approx(t.value, rel=1e-6)
        assert float(row["params.trial/optimizer.lr"]) == pytest.approx(t.params["optimizer.lr"])
        assert row["params.trial/optimizer"] == t.params["optimizer"]
        assert float(row["params.optimizer.lr"]) == pytest.approx(t.params["optimizer.lr"])


def test_the_sweeps_run_holds_the_best_value_and_best_yaml(swept, tmp_path):
    runs, result, study, df = swept
    parent = df[df["tags.kiln.role"] == "sweep"].iloc[0]
    assert parent["metrics.best/val/f1_best"] == pytest.approx(study.best_value)
    assert parent["tags.kiln.best_trial"] == str(study.best_trial.number) == str(result["trial"])
    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    got = client.download_artifacts(parent["run_id"], "best.yaml", str(tmp_path))
    assert yaml.safe_load(Path(got).read_text())["trial"] == study.best_trial.number
    assert {a.path for a in client.list_artifacts(parent["run_id"])} == {"best.yaml", "trials.csv"}
