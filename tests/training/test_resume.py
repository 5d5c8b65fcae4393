"""A run stopped after epoch k and resumed ends exactly where an uninterrupted run ends."""

import json

import torch

import kiln.api
from tests.helpers import cli, run_dir, train

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
        "+callbacks.stop._target_=kiln.training.callbacks.StopAfter",
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


def test_resume_into_a_longer_run(runs):
    """One-cycle's total steps are fixed by the first run: a longer resume is refused in one
    sentence (it used to end in a traceback one step past the end); an epoch schedule extends."""
    fast = ["experiment=wine_mlp", "debug=fast", "~callbacks.early_stopping"]
    onecycle = train(runs, *fast, "scheduler=onecycle")
    last = run_dir(onecycle) / "checkpoints" / "last.ckpt"
    proc = cli("train", *fast, "scheduler=onecycle", f"ckpt_path={last}", "trainer.max_epochs=2",
               "print_config=false", runs=runs)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "trained with trainer.max_epochs=1" in proc.stderr
    assert "kiln retrain" in proc.stderr
    step = train(runs, *fast, "scheduler=step")
    last = run_dir(step) / "checkpoints" / "last.ckpt"
    longer = train(runs, *fast, "scheduler=step", f"ckpt_path={last}", "trainer.max_epochs=2")
    assert longer["epochs"] == 2
    # a total_steps set in the config does not follow the run's length: the resume goes on
    fixed = [*fast, "scheduler=onecycle", "+scheduler.fn.total_steps=400"]
    last = run_dir(train(runs, *fixed)) / "checkpoints" / "last.ckpt"
    longer = train(runs, *fixed, f"ckpt_path={last}", "trainer.max_epochs=2")
    assert longer["epochs"] == 2


def test_resume_with_other_model_settings_names_them(runs):
    """The same class with other hidden sizes ended in load_state_dict's size-mismatch
    traceback; now one sentence names the model.* settings that differ. Settings that keep
    the shapes (dropout) still resume, and eval of the checkpoint is unaffected."""
    fast = ["experiment=wine_mlp", "debug=fast", "print_config=false"]
    last = run_dir(train(runs, *fast)) / "checkpoints" / "last.ckpt"
    proc = cli("train", *fast, "model.hidden=[32]", f"ckpt_path={last}", runs=runs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    (line,) = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert "model has model.hidden=[64, 64], this run asks for model.hidden=[32]" in line
    assert "without ckpt_path" in line
    assert not list(runs.rglob("resumed_from.ckpt"))
    resumed = train(runs, *fast, "model.dropout=0.3", f"ckpt_path={last}")
    assert resumed["epochs"] == 1
    evaluated = kiln.api.run("eval", [f"paths.root={runs}", f"ckpt_path={last}"])
    assert "test/acc" in evaluated
