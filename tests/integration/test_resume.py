"""A run stopped after epoch k and resumed ends exactly where an uninterrupted run ends."""

import json

import torch

from tests.conftest import run_dir, train

COMMON = [
    "experiment=wine_mlp",
    "model.dropout=0.3",
    "trainer.max_epochs=6",
    "~callbacks.early_stopping",
    "seed=3",
]


def test_resume_reproduces_weights_and_metrics(runs):
    straight = train(runs, *COMMON)
    stopped = train(
        runs,
        *COMMON,
        "+callbacks.stop._target_=kiln.callbacks.StopAfter",
        "+callbacks.stop.epochs=3",
        "test=false",
    )
    assert stopped["epochs"] == 3
    last = run_dir(stopped) / "checkpoints" / "last.ckpt"
    resumed = train(runs, *COMMON, f"ckpt_path={last}")
    a = torch.load(run_dir(straight) / "checkpoints/last.ckpt", weights_only=True)
    b = torch.load(run_dir(resumed) / "checkpoints/last.ckpt", weights_only=True)
    assert a["epoch"] == b["epoch"] and a["global_step"] == b["global_step"]
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for name in ("test/acc", "test/f1", "test/loss", "val/f1_best"):
        assert straight[name] == resumed[name], name
    # the resumed run wrote to a new directory; the stopped run's files are untouched
    assert run_dir(resumed) != run_dir(stopped)
    assert json.loads((run_dir(stopped) / "metrics.json").read_text())["epochs"] == 3
