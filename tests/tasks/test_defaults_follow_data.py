"""Defaults that follow the data (issue 16): with only a data source and a target, each command
picks the model for the data's kind and the monitor for the task; explicit choices win."""

from __future__ import annotations

import pytest
import torch
import yaml

import kiln.api
from kiln.errors import KilnError
from kiln.training.builders import build_datamodule
from kiln.training.defaults import resolve_defaults
from tests.helpers import PENGUINS, run_dir, train

TABLE = ["data=table", f"data.path={PENGUINS}"]
FAST = ["trainer.max_epochs=2", "logger=none", "~callbacks.confusion_matrix"]


def saved_config(result: dict) -> dict:
    return yaml.safe_load((run_dir(result) / "config.yaml").read_text())


@pytest.mark.parametrize(
    ("target", "task", "monitor"),
    [
        ("sex", "binary", {"metric": "val/acc", "mode": "max"}),
        ("species", "multiclass", {"metric": "val/acc", "mode": "max"}),
        ("body_mass_g", "regression", {"metric": "val/rmse", "mode": "min"}),
    ],
)
def test_two_argument_train_on_a_table_picks_tabm_and_the_tasks_monitor(
    runs, target, task, monitor
):
    result = train(runs, *TABLE, f"data.target={target}", *FAST)
    cfg = saved_config(result)
    assert cfg["model"]["_target_"] == "kiln.models.tabm.TabM"
    assert cfg["monitor"] == monitor
    test_metric = "test/acc" if monitor["metric"] == "val/acc" else "test/rmse"
    assert test_metric in result and f"{monitor['metric']}_best" in result
    ckpt = torch.load(result["best_checkpoint"], weights_only=True, map_location="cpu")
    assert ckpt["kiln"]["spec"]["task"] == task
    stored = ckpt["kiln"]["config"]  # eval, export and retrain see a concrete model and monitor
    assert stored["model"] == kiln.api.compose("train", ["model=tabm"]).model
    assert stored["monitor"] == monitor


def test_explicit_model_and_monitor_win(runs):
    result = train(
        runs, *TABLE, "data.target=body_mass_g", "model=resmlp", "monitor.metric=val/mae", *FAST
    )
    cfg = saved_config(result)
    assert cfg["model"]["_target_"] == "kiln.models.resmlp.ResMLP"
    assert cfg["monitor"] == {"metric": "val/mae", "mode": "min"}  # its own direction
    assert "val/mae_best" in result
    result = train(
        runs, "experiment=penguins_species", "trainer.max_epochs=1", "logger=none"
    )  # an experiment file's monitor (val/f1) is explicit too
    assert saved_config(result)["monitor"] == {"metric": "val/f1", "mode": "max"}


def test_a_model_that_cannot_take_the_data_fails_in_one_sentence(runs):
    with pytest.raises(KilnError, match=r"^model CNN does not take tabular data .*: .*mlp"):
        train(runs, *TABLE, "data.target=species", "model=cnn", *FAST)
    with pytest.raises(KilnError, match="monitor.metric='val/acc' is not logged in validation"):
        train(runs, *TABLE, "data.target=body_mass_g", "monitor.metric=val/acc", *FAST)


@pytest.mark.parametrize(
    ("data", "model", "metric"),
    [
        ("digits", "cnn", "val/acc"),
        ("sunspots", "gru", "val/rmse"),
        ("dna_motif", "lstm", "val/acc"),
    ],
)
def test_other_kinds_get_their_documented_model(data, model, metric):
    cfg = kiln.api.compose("train", [f"data={data}"])
    resolve_defaults(cfg, build_datamodule(cfg.data).spec)
    assert cfg.model == kiln.api.compose("train", [f"model={model}"]).model
    assert cfg.monitor.metric == metric


def test_the_default_experiment_resolves_to_the_digits_cnn_as_before():
    cfg = kiln.api.compose("train", [])
    resolve_defaults(cfg, build_datamodule(cfg.data).spec)
    before = kiln.api.compose("train", ["experiment=digits_cnn"])
    assert cfg.model == before.model
    assert cfg.monitor == before.monitor == {"metric": "val/acc", "mode": "max"}
    assert cfg.optimizer == before.optimizer and cfg.scheduler == before.scheduler


def test_model_settings_under_model_auto_name_the_fix():
    from tests.helpers import cli

    done = cli("train", *TABLE, "data.target=species", "model.hidden=[8]")
    assert done.returncode == 2
    assert "name the model first (e.g. model=mlp model.hidden=[8])" in done.stderr


def test_compare_on_a_table_without_models_lists_the_table_models(runs, capsys):
    result = kiln.api.run(
        "compare",
        [f"paths.root={runs}", *TABLE, "data.target=body_mass_g", "trainer.max_epochs=1",
         "logger=none", "cv.test_folds=2"],
    )  # fmt: skip
    names = {row["model"] for row in result["leaderboard"]}
    assert {"tabm", "mlp", "ft_transformer", "ridge", "hist_gb"} <= names
    assert result["metric"] == "test/rmse"
    saved = yaml.safe_load((runs.glob("compare/*/config.yaml").__next__()).read_text())
    assert saved["models"] == ["tabm", "mlp", "ft_transformer", "baselines"]
    assert saved["monitor"] == {"metric": "val/rmse", "mode": "min"}
    assert f"Best: {result['best_model']}" in capsys.readouterr().out


def test_sweep_objective_follows_an_auto_monitor(runs):
    result = kiln.api.run(
        "sweep",
        [f"paths.root={runs}", "sweep=wine_mlp", *TABLE, "data.target=body_mass_g",
         "monitor.metric=auto", "monitor.mode=auto", "sweep.n_trials=1", "sweep.plots=false",
         "sweep.pruner=none", "trainer.max_epochs=1", "logger=none"],
    )  # fmt: skip
    assert result["metric"] == "val/rmse_best"
    assert result["direction"] == "minimize"


def test_retrain_of_a_checkpoint_trained_with_defaults(runs):
    first = train(runs, *TABLE, "data.target=body_mass_g", *FAST)
    again = kiln.api.run(
        "retrain",
        [f"paths.root={runs}", f"ckpt_path={first['best_checkpoint']}",
         "trainer.max_epochs=1", "logger=none"],
    )  # fmt: skip
    assert "test/rmse" in again and "test/rmse" in again["old"]  # old and new, same metric


def test_a_class_given_over_model_auto_does_not_get_autos_name(runs):
    result = train(runs, *TABLE, "data.target=species", "+model._target_=kiln.models.mlp.MLP",
                   "+model._partial_=true", *FAST)  # fmt: skip
    assert saved_config(result)["model"] == {"_target_": "kiln.models.mlp.MLP", "_partial_": True}


def test_compare_tests_a_table_file_on_five_folds_by_default():
    from kiln.tasks.compare import test_folds as folds_of

    table = kiln.api.compose("compare", [*TABLE, "data.target=species"])
    assert table.cv.test_folds == "auto" and folds_of(table.cv, table.data) == 5
    wine = kiln.api.compose("compare", ["data=wine"])
    assert folds_of(wine.cv, wine.data) == 1  # a shipped demo set keeps one split
    given = kiln.api.compose("compare", [*TABLE, "data.target=species", "cv.test_folds=3"])
    assert folds_of(given.cv, given.data) == 3
