"""kiln.config.checks: what a task would read as a number passes; what it cannot read is named.

A config's ``task_name`` picks its command's schema (kiln.config.schema)."""

import re

import pytest
from omegaconf import OmegaConf

import kiln.api
from kiln.config.checks import check_values
from kiln.errors import KilnError


@pytest.mark.parametrize(
    "given",
    [
        {"task_name": "serve", "port": "8765"},  # ${oc.env:PORT,8000}: a string; read int()
        {"task_name": "export", "threads": 0},  # the runtime's own thread count
        {"task_name": "tensorboard", "reload_interval": 0},  # TensorBoard: load once
        {"task_name": "serve", "port": "${oc.env:KILN_TEST_UNSET_PORT,8000}"},
        {"task_name": "drift", "thresholds": {"bonferroni": False, "ks_pvalue": "0.01"}},
        {"task_name": "serve", "drift": {"thresholds": {"psi": 0.2}}},
        {"task_name": "predict", "overwrite": False},
        {"task_name": "train", "test": True, "print_config": None, "optimizer": {"lr": 1}},
        {"trainer": {"_target_": "lightning.Trainer", "deterministic": "warn", "max_epochs": 3}},
        {"model": {"_target_": "kiln.models.mlp.MLP", "_partial_": True, "hidden": [8, 8]}},
        {"optimizer": {"_target_": "torch.optim.AdamW", "_partial_": True, "betas": [0.9, 0.99]}},
        {"model": {"_target_": "no.such.Model", "hidden": "abc"}},  # building it reports that
    ],
)
def test_values_a_task_can_read_pass(given):
    check_values(OmegaConf.create(given))


@pytest.mark.parametrize(
    "given, words",
    [
        ({"task_name": "serve", "port": "http"}, "port='http' is not an integer"),
        ({"task_name": "serve", "port": 2.5}, "port=2.5 is not an integer"),
        ({"task_name": "serve", "port": True}, "port=True is not an integer"),
        (
            {"task_name": "train", "optimizer": {"lr": "fast"}},
            "optimizer.lr='fast' is not a number",
        ),
        ({"task_name": "train", "optimizer": {"lr": 0}}, "optimizer.lr=0 must be above 0"),
        ({"task_name": "train", "optimizer": {"lr": "nan"}}, "optimizer.lr='nan' is not a number"),
        ({"task_name": "export", "threads": -1}, "threads=-1 must be at least 0"),
        (
            {"task_name": "train", "scheduler": {"fn": {"factor": 1}}},
            "scheduler.fn.factor=1 must be at least 0 and below 1",
        ),
        (
            {"task_name": "drift", "thresholds": {"bonferroni": "yes"}},
            "thresholds.bonferroni='yes' must be true or false",
        ),
        (
            {"task_name": "drift", "thresholds": {"wasserstien": 0.2}},
            "thresholds.wasserstien is not a drift threshold",
        ),
        (
            {"task_name": "serve", "drift": {"thresholds": {"ks_pvalue": 2}}},
            "drift.thresholds.ks_pvalue=2 must be between 0 and 1",
        ),
        ({"task_name": "predict", "overwrite": "no"}, "overwrite='no' must be true or false"),
        (
            {"task_name": "retrain", "from_scratch": "off"},
            "from_scratch='off' must be true or false",
        ),
        ({"task_name": "train", "data": {"as_image": 1}}, "data.as_image=1 must be true or false"),
        (
            {"trainer": {"_target_": "lightning.Trainer", "deterministic": "no"}},
            "trainer.deterministic='no' must be true or false or one of warn or null for Trainer",
        ),
        (
            {"model": {"_target_": "kiln.models.resmlp.ResMLP", "hidden": [64, 64]}},
            "model.hidden=[64, 64] must be an integer for ResMLP; e.g. model.hidden=256",
        ),
        (
            {"optimizer": {"_target_": "torch.optim.AdamW", "betas": [0.9]}},
            "optimizer.betas=[0.9] must be a list of 2 numbers for AdamW",
        ),
    ],
)
def test_values_a_task_cannot_read_are_named(given, words):
    with pytest.raises(KilnError, match=re.escape(words)):
        check_values(OmegaConf.create(given))


def test_an_os_error_is_the_users_only_on_a_path_the_config_names(tmp_path):
    from kiln.cli import _given_path

    cfg = OmegaConf.create(
        {"output": str(tmp_path / "out.csv"), "paths": {"root": str(tmp_path / "runs")}}
    )
    assert _given_path(cfg, str(tmp_path / "out.csv"))
    assert _given_path(cfg, str(tmp_path / "runs" / "train" / "x" / "metrics.json"))
    assert not _given_path(cfg, "/usr/lib/python3/some_module.py")
    assert not _given_path(cfg, None)


def test_retrain_puts_an_old_checkpoints_monitor_direction_right():
    from kiln.tasks.retrain import _monitor_direction

    monitor = OmegaConf.create({"metric": "val/rmse", "mode": "max"})
    _monitor_direction(monitor)
    assert monitor.mode == "min"


def test_a_value_lightning_takes_beside_true_and_false_is_not_refused():
    """trainer.deterministic is true or false in kiln's configs and 'warn' too in Lightning;
    retrain's trainer node has no _target_ for a signature to judge it by."""
    for command, given in [("train", []), ("retrain", ["ckpt_path=x.ckpt"])]:
        cfg = kiln.api.compose(command, [*given, "++trainer.deterministic=warn"])
        check_values(cfg)  # no KilnError
        cfg = kiln.api.compose(command, [*given, "++trainer.deterministic=maybe"])
        if command == "train":  # Lightning's signature names what it takes
            with pytest.raises(KilnError, match="trainer.deterministic='maybe'"):
                check_values(cfg)
