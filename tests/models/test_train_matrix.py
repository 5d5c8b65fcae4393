"""Every model x compatible data set trains a few steps; every experiment and option composes."""

import math
from importlib import resources

import pytest

import kiln.api
from kiln.errors import KilnError
from tests.helpers import run_dir, train

EXPERIMENTS = sorted(
    p.name[:-5]
    for p in resources.files("kiln.conf").joinpath("experiment").iterdir()
    if p.name.endswith(".yaml")
)
PAIRS = [("mlp", d) for d in ("digits", "digits_flat", "wine", "breast_cancer", "diabetes")] + [
    ("cnn", "digits")
]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(experiment):
    cfg = kiln.api.compose("train", [f"experiment={experiment}"])
    assert cfg.model._target_ and cfg.data._target_ and cfg.monitor.metric.startswith("val/")


@pytest.mark.parametrize("model,data", PAIRS)
def test_model_trains_a_few_steps(runs, model, data):
    result = train(
        runs,
        f"model={model}",
        f"data={data}",
        "debug=fast",
        "monitor.metric=val/loss",
        "monitor.mode=min",
    )
    task_metrics = {"diabetes": ("test/rmse", "test/mae", "test/r2")}.get(
        data, ("test/acc", "test/f1", "test/auroc")
    )
    for name in (*task_metrics, "test/loss", "val/loss_best"):
        assert math.isfinite(result[name]), name
    out = run_dir(result)
    for f in (
        "config.yaml",
        "metrics.json",
        "data_report.json",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
    ):
        assert (out / f).is_file(), f


def test_cnn_on_a_table_names_model_data_and_the_fitting_models(runs):
    with pytest.raises(KilnError, match=r"CNN does not take tabular data \(wine\).*mlp"):
        train(runs, "model=cnn", "data=wine", "debug=fast")


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "onecycle", "plateau"])
def test_optimizer_and_scheduler_options_train(runs, optimizer, scheduler):
    result = train(
        runs,
        "experiment=wine_mlp",
        f"optimizer={optimizer}",
        f"scheduler={scheduler}",
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        "test=false",
    )
    assert math.isfinite(result["val/f1_best"])


def test_trainer_knobs_clip_accumulate_bf16_deterministic_compile_off(runs):
    result = train(
        runs,
        "experiment=breast_cancer_mlp",
        "trainer.max_epochs=2",
        "trainer.gradient_clip_val=0.5",
        "trainer.accumulate_grad_batches=2",
        "trainer.precision=bf16-mixed",
        "trainer.deterministic=true",
        "compile=false",
        "logger=many",
    )
    assert math.isfinite(result["test/auroc"])
    out = run_dir(result)
    assert (out / "csv" / "metrics.csv").is_file()
    assert (
        result["global_step"] == 2 * 7
    )  # 398 train rows / 32 = 13 batches -> 7 optimizer steps/epoch


def test_torch_compile_on(runs):
    result = train(
        runs, "experiment=wine_mlp", "trainer.max_epochs=1", "compile=true", "test=false"
    )
    assert math.isfinite(result["val/f1_best"])
