"""A numeric key given text or an impossible number: one sentence naming the key, exit 2.

Most cases run in-process (``kiln.api.run`` makes the same checks and raises the KilnError
the CLI prints); a few go through the real command for the exit status and the one line."""

import pytest

import kiln.api
from kiln.errors import KilnError
from tests.helpers import cli, run_dir, train


@pytest.mark.parametrize(
    "command, override, words",
    [
        ("train", "optimizer.lr=abc", "optimizer.lr='abc' is not a number"),
        ("train", "data.batch_size=0", "data.batch_size=0 must be at least 1"),
        ("train", "trainer.max_epochs=abc", "trainer.max_epochs='abc' is not an integer"),
        ("train", "seed=abc", "seed='abc' is not an integer"),
        ("train", "model.dropout=2", "model.dropout=2 must be at least 0 and below 1"),
        ("compare", "cv.folds=abc", "cv.folds='abc' is not an integer"),
        ("compare", "cv.test_folds=abc", "cv.test_folds='abc' is not an integer"),
        ("compare", "cv.test_folds=0", "cv.test_folds=0 must be at least 1"),
        # the old name of compare's test folds is train's validation folds: refused, named
        (
            "compare",
            "cv.folds=3",
            "kiln compare's test folds are cv.test_folds, so pass cv.test_folds=3",
        ),
        ("sweep", "sweep.n_trials=abc", "sweep.n_trials='abc' is not an integer"),
        ("retrain", "optimizer.lr=abc", "optimizer.lr='abc' is not a number"),
        ("export", "tolerance=abc", "tolerance='abc' is not a number"),
        ("predict", "chunk_rows=abc", "chunk_rows='abc' is not an integer"),
        ("serve", "port=99999", "port=99999 must be between 0 and 65535"),
        ("tensorboard", "port=abc", "port='abc' is not an integer"),
        ("drift", "thresholds.ks_pvalue=abc", "thresholds.ks_pvalue='abc' is not a number"),
        ("drift", "+thresholds.wasserstien=0.2", "thresholds.wasserstien is not a drift threshold"),
        ("drift", "exit_on=never", "exit_on='never' is not a rule"),
        ("train", "scheduler=step scheduler.fn.step_size=abc", "scheduler.fn.step_size='abc'"),
        ("compare", "keep_checkpoints=some", "keep_checkpoints='some' is unknown; use best or all"),
        ("train", "optimizer.betas=abc", "optimizer.betas='abc' must be a list of 2 numbers"),
        (
            "train",
            "optimizer.betas=[0.9]",
            "optimizer.betas=[0.9] must be a list of 2 numbers for AdamW",
        ),
        ("train", "model.hidden=abc", "model.hidden='abc' must be a list of integers for MLP"),
        (
            "train",
            "model=resmlp",
            "model.hidden=[64, 64] must be an integer for ResMLP; e.g. model.hidden=256",
        ),
        (
            "train",
            "model=lstm model.hidden=8 model.bidirectional=no",
            "model.bidirectional='no' must be true or false",
        ),
        ("train", "test=no", "test='no' must be true or false"),
        ("train", "print_config=off", "print_config='off' must be true or false"),
        (
            "train",
            "trainer.enable_progress_bar=no",
            "trainer.enable_progress_bar='no' must be true or false or null",
        ),
        (
            "train",
            "callbacks.model_checkpoint.save_last=no",
            "save_last='no' must be true or false",
        ),
        (
            "train",
            "preprocess.numeric.indicator=yes",
            "preprocess.numeric.indicator='yes' must be true or false",
        ),
        ("retrain", "from_scratch=no", "from_scratch='no' must be true or false"),
        ("predict", "overwrite=no", "overwrite='no' must be true or false"),
        ("serve", "access_log=yes", "access_log='yes' must be true or false"),
        ("drift", "predictions=0", "predictions=0 must be true or false"),
        ("sweep", "sweep.plots=no", "sweep.plots='no' must be true or false"),
        ("train", "model.hidden=[64,0]", "model MLP has a layer of width 0"),
        ("train", "data=table data.target=y data.path={tmp}", "data.path={tmp} is not a file"),
    ],
)
def test_a_bad_number_is_named_before_anything_runs(command, override, words, runs, tmp_path):
    needed = {
        "train": ["experiment=wine_mlp"],
        "compare": ["models=[mlp]"],
        "sweep": [f"sweep.storage=sqlite:///{tmp_path}/s.db"],
        "retrain": ["ckpt_path=x.ckpt"],
        "export": ["ckpt_path=x.ckpt"],
        "predict": ["artifact=a", "input=b.csv", "output=c.csv"],
        "serve": ["artifact=a"],
        "tensorboard": [f"path={tmp_path}"],
        "drift": ["artifact=a", "input=b.csv"],
    }[command]
    overrides = [f"paths.root={runs}", *needed, *override.format(tmp=tmp_path).split()]
    with pytest.raises(KilnError) as err:
        kiln.api.run(command, overrides)
    assert words.format(tmp=tmp_path) in str(err.value)
    if command == "sweep":
        assert not (tmp_path / "s.db").exists()  # refused before the study was opened


@pytest.mark.parametrize(
    "command, args, words",
    [
        ("train", ["optimizer.lr=abc"], "optimizer.lr='abc' is not a number"),  # kiln.config.checks
        ("compare", ["models=[mlp]", "keep_checkpoints=some"], "keep_checkpoints='some'"),  # task
        ("tensorboard", ["runs", "port=abc"], "port='abc' is not an integer"),
        ("train", ["test=no"], "test='no' must be true or false"),
        ("train", ["optimizer.betas=[0.9]"], "optimizer.betas=[0.9] must be a list of 2 numbers"),
    ],
)
def test_the_command_prints_one_line_and_exits_2(command, args, words, runs):
    proc = cli(command, *args, runs=runs)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith(f"kiln {command}: error: ") and words in lines[-1], lines


def test_a_bad_sweep_key_leaves_no_study_that_refuses_the_fixed_command(runs, tmp_path):
    common = ["sweep=wine_mlp", f"sweep.storage=sqlite:///{tmp_path}/s.db", "sweep.n_trials=1",
              "trainer.max_epochs=1", "sweep.plots=false", "logger=none"]  # fmt: skip
    bad = cli("sweep", *common, "+sweep.params.optimizer.nope='interval(0.1, 0.2)'", runs=runs)
    assert bad.returncode == 2 and "sweep.params.optimizer.nope" in bad.stderr, bad.stderr[-2000:]
    fixed = cli("sweep", *common, "+sweep.params.optimizer.weight_decay='interval(0.0, 0.1)'",
                runs=runs)  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "Traceback" not in bad.stderr + fixed.stderr


def test_compare_takes_one_model_without_brackets(runs):
    proc = cli("compare", "models=mlp", "trainer.max_epochs=1", "logger=none", runs=runs)
    assert proc.returncode == 0, proc.stderr[-2000:]  # it read 'mlp' as the models m, l, p
    assert len(list(runs.glob("compare/*/best_mlp.ckpt"))) == 1


def test_eval_data_keys_change_the_checkpoints_own_data(runs):
    best = run_dir(train(runs, "experiment=wine_mlp", "debug=fast")) / "checkpoints" / "best.ckpt"
    bad = cli("eval", f"ckpt_path={best}", "+data.nope=1", runs=runs)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr + bad.stdout, bad.stderr[-2000:]
    assert "kiln eval: error: Could not build data from its config" in bad.stderr
    ok = cli("eval", f"ckpt_path={best}", "+data.eval_batch_size=7", runs=runs)
    assert ok.returncode == 0 and "test/acc" in ok.stdout, ok.stderr[-2000:]


@pytest.mark.parametrize(
    "command, keys",
    [("eval", "ckpt_path"), ("export", "ckpt_path"), ("predict", "artifact, input, output"),
     ("serve", "artifact"), ("drift", "input"), ("retrain", "ckpt_path")],
)  # fmt: skip
def test_a_required_key_left_out_is_named(command, keys, runs):
    with pytest.raises(KilnError, match=f"^{keys} (is|are) required and not set"):
        kiln.api.run(command, [f"paths.root={runs}"])


def test_a_required_key_left_out_through_the_command(runs):
    proc = cli("predict", runs=runs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "kiln predict: error: artifact, input, output are required and not set" in proc.stderr


def test_overwrite_no_leaves_the_output_file_as_it_was(runs, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("kept\n")
    args = ["artifact=a", f"input={tmp_path / 'in.csv'}", f"output={out}", "overwrite=no"]
    with pytest.raises(KilnError, match="overwrite='no' must be true or false"):
        kiln.api.run("predict", [f"paths.root={runs}", *args])
    assert out.read_text() == "kept\n"


def test_an_unbounded_run_needs_a_schedule_without_a_length(runs):
    unbounded = ["experiment=wine_mlp", "debug=fast", "trainer.max_epochs=-1"]
    with pytest.raises(
        KilnError, match=r"trainer.max_epochs=-1 runs without end.*\+\+trainer.max_steps=<n>"
    ):
        train(runs, *unbounded)  # the one-cycle schedule: OverflowError (float infinity) before
    result = train(runs, *unbounded, "++trainer.max_steps=4", "logger=none")  # bounded by steps
    assert result["best_checkpoint"]


def test_an_unbounded_run_with_a_plateau_schedule_starts():
    import functools

    import torch
    from omegaconf import OmegaConf

    from kiln.training.builders import check_schedule_length

    unbounded = OmegaConf.create({"max_epochs": -1, "max_steps": -1})
    plateau = functools.partial(torch.optim.lr_scheduler.ReduceLROnPlateau, factor=0.5)
    check_schedule_length(plateau, unbounded)  # it needs no total: no error
    onecycle = functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.1)
    with pytest.raises(KilnError, match="OneCycleLR schedule needs the run's length"):
        check_schedule_length(onecycle, unbounded)
