"""kiln retrain's config: what it applies to the checkpoint's config, and the overrides it
refuses in one sentence instead of composing them and then training without them."""

import pytest
from hydra.errors import HydraException

import kiln.api
from kiln.config.hydra_errors import sentence
from kiln.errors import KilnError
from kiln.tasks.retrain import training_config

ADAMW = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 0.003,
         "betas": [0.9, 0.999], "weight_decay": 0.01}  # fmt: skip
CKPT = {
    "kiln": {
        "config": {
            "seed": 42,
            "data": {"_target_": "kiln.data.table.TableDataModule", "path": "old.csv"},
            "model": {"_target_": "kiln.models.mlp.MLP", "_partial_": True, "hidden": [256, 256]},
            "optimizer": ADAMW,
            "scheduler": {
                "interval": "step",
                "fn": {
                    "_target_": "torch.optim.lr_scheduler.OneCycleLR",
                    "_partial_": True,
                    "max_lr": 0.003,
                    "pct_start": 0.25,
                },
            },  # fmt: skip
            "monitor": {"metric": "val/acc", "mode": "max"},
            "trainer": {"max_epochs": 3},
        },
        "schema": None,
    }
}


def retrain_config(tmp_path, *overrides):
    cfg = kiln.api.compose(
        "retrain", [f"paths.root={tmp_path}", "ckpt_path=x.ckpt", "logger=none", *overrides]
    )
    return training_config(cfg, CKPT)


def test_optimizer_lr_changes_the_checkpoints_optimizer_and_its_one_cycle_peak(tmp_path):
    new = retrain_config(tmp_path, "optimizer.lr=0.01")
    assert new.optimizer == {**ADAMW, "lr": 0.01}
    assert new.scheduler.fn.max_lr == 0.01  # was ${optimizer.lr} in train: it follows


def test_an_optimizer_option_replaces_the_checkpoints_optimizer(tmp_path):
    """+optimizer=sgd used to merge SGD's keys into AdamW's: SGD got betas and failed."""
    new = retrain_config(tmp_path, "optimizer=sgd")
    assert new.optimizer._target_ == "torch.optim.SGD" and "betas" not in new.optimizer
    assert new.optimizer.lr == 0.05 and new.optimizer.momentum == 0.9
    new = retrain_config(tmp_path, "optimizer=sgd", "optimizer.lr=0.02")
    assert new.optimizer.lr == 0.02 and new.scheduler.fn.max_lr == 0.02
    assert new.model.hidden == [256, 256]


@pytest.mark.parametrize(
    "override, words",
    [
        ("+model.hidden=[8]", "keeps the checkpoint's model and would not apply +model.hidden=[8]"),
        ("+model=mlp", "keeps the checkpoint's model"),
        ("+scheduler=cosine", "keeps the checkpoint's scheduler"),
        ("monitor.metric=val/f1", "keeps the checkpoint's monitor"),
        ("+compile=true", "does not apply +compile=true"),
    ],
)
def test_overrides_retrain_would_drop_are_refused(tmp_path, override, words):
    with pytest.raises(KilnError, match=words.replace("[", r"\[").replace("+", r"\+")) as err:
        retrain_config(tmp_path, override)
    assert str(err.value).count(". ") == 0 and "kiln train" in str(err.value)


@pytest.mark.parametrize(
    "override, words",
    [
        ("model.hidden=[8]", "kiln retrain keeps the checkpoint's model and would not apply"),
        ("model=mlp", "kiln retrain keeps the checkpoint's model"),
        ("scheduler=cosine", "kiln retrain keeps the checkpoint's scheduler"),
        ("+optimizer=sgd", "+optimizer=sgd adds to optimizer, which the retrain config already"),
    ],
)
def test_overrides_that_do_not_compose_name_retrains_reason_not_a_plus(tmp_path, override, words):
    """Hydra's own advice was +model.hidden=[8] (composed, then ignored) or +optimizer=sgd."""
    with pytest.raises(HydraException) as err:
        kiln.api.compose("retrain", [f"paths.root={tmp_path}", "ckpt_path=x.ckpt", override])
    line = sentence(err.value, "retrain")
    assert words in line and "write +" not in line, line


def test_the_retrain_config_documents_how_to_change_the_optimizer():
    from importlib import resources

    conf = resources.files("kiln.conf").joinpath("retrain.yaml").read_text()
    assert "optimizer=<name>" in conf and "model.*, scheduler.* and monitor.* are refused" in conf
