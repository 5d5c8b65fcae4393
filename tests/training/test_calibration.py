"""Temperature scaling (calibrate=auto|true|false): T fitted on the validation split as the NLL's
minimiser, stored in the model, and applied by the checkpoint, predict and the ONNX artifact."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

import kiln
import kiln.api
from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models.pipeline import Temperature
from kiln.training.builders import build_datamodule, build_module
from kiln.training.calibration import BOUNDS, calibrate, fit_temperature, nll
from kiln.training.checkpoints import load_checkpoint
from kiln.training.module import KilnModule
from tests.helpers import PENGUINS, train
from tests.helpers.export_oracle import torch_pipeline

BASE = ["data=table", f"data.path={PENGUINS}", "model=mlp", "trainer.max_epochs=2", "logger=none"]


def brute_force_temperature(z: np.ndarray, y: np.ndarray, task: str) -> float:
    """The NLL's minimiser over T in BOUNDS by a grid on log T, refined twice around its best."""
    z, y = np.asarray(z, np.float64), np.asarray(y)

    def loss(t: float) -> float:
        s = z / t
        if task == "binary":  # mean of log(1 + e^s) - y s
            return float(np.mean(np.logaddexp(0, s) - y * s))
        top = s.max(-1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(s - top).sum(-1))
        return float(np.mean(log_norm - s[np.arange(len(y)), y]))

    lo, hi = math.log(BOUNDS[0]), math.log(BOUNDS[1])
    for _ in range(3):
        grid = np.linspace(lo, hi, 401)
        best = grid[int(np.argmin([loss(math.exp(g)) for g in grid]))]
        step = grid[1] - grid[0]
        lo, hi = max(best - 2 * step, grid[0]), min(best + 2 * step, grid[-1])
    return math.exp(best)


def logit_module(task: str, classes: int) -> KilnModule:
    """A real KilnModule whose network passes its input on: the rows given are its logits."""
    spec = InputSpec("tabular", (classes if task == "multiclass" else 1,), task, classes, "logits")
    return KilnModule(nn.Identity(), spec)


def overconfident(task: str, seed: int = 0, n: int = 400):
    """Logits three times too sharp for the labels drawn from the true probabilities."""
    rng = np.random.default_rng(seed)
    if task == "binary":
        true = rng.normal(0, 1.5, n)
        y = (rng.random(n) < 1 / (1 + np.exp(-true))).astype(np.float32)
        return torch.tensor(3 * true, dtype=torch.float32)[:, None], torch.tensor(y)
    true = rng.normal(0, 1.5, (n, 3))
    p = np.exp(true) / np.exp(true).sum(-1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    return torch.tensor(3 * true, dtype=torch.float32), torch.tensor(y)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_the_fitted_temperature_is_the_brute_force_nll_minimiser(task):
    z, y = overconfident(task)
    zz = z[:, 0] if task == "binary" else z
    t = fit_temperature(zz, y, task)
    assert t == pytest.approx(brute_force_temperature(zz.numpy(), y.numpy(), task), rel=1e-3)
    assert t > 2  # the logits are three times too sharp: T undoes most of it
    module = logit_module(task, 2 if task == "binary" else 3)
    report = calibrate(module, [(z, y)], "auto")
    assert float(module.temperature.value) == pytest.approx(t, rel=1e-6)
    assert report["calibration/val_nll_after"] < report["calibration/val_nll_before"]
    assert report["calibration/val_ece_after"] < report["calibration/val_ece_before"]
    assert report["calibration/val_nll_after"] == pytest.approx(nll(zz, y, task, t))


def test_auto_keeps_one_where_scaling_does_not_lower_the_nll():
    # P(y=1) is exactly sigmoid(logit) at both logits: T = 1 is already the optimum
    z = torch.tensor([math.log(3)] * 4 + [-math.log(3)] * 4)[:, None]
    y = torch.tensor([1, 1, 1, 0, 0, 0, 0, 1], dtype=torch.float32)
    module = logit_module("binary", 2)
    report = calibrate(module, [(z, y)], "auto")
    assert report["calibration/temperature"] == 1.0 == float(module.temperature.value)
    # uniform scores: every T gives the same NLL
    module = logit_module("multiclass", 3)
    report = calibrate(module, [(torch.zeros(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]))], "auto")
    assert report["calibration/temperature"] == 1.0
    assert report["calibration/val_nll_after"] == report["calibration/val_nll_before"]


def test_false_leaves_one_and_true_needs_validation_rows():
    z, y = overconfident("multiclass")
    module = logit_module("multiclass", 3)
    module.temperature.value.fill_(2.5)  # a warm start's temperature is not kept either
    assert calibrate(module, [(z, y)], False)["calibration/temperature"] == 1.0
    assert float(module.temperature.value) == 1.0
    with pytest.raises(KilnError, match="calibrate=true needs validation rows"):
        calibrate(module, [], True)
    with pytest.raises(KilnError, match="calibrate='yes'"):
        calibrate(module, [(z, y)], "yes")


def test_weights_saved_before_the_temperature_existed_load_with_one():
    model = nn.Module()
    model.temperature = Temperature(3.0)
    model.load_state_dict({}, strict=True)  # an older checkpoint: no temperature.value
    assert float(model.temperature.value) == 1.0


def _module(ckpt_path: str):
    ckpt = load_checkpoint(ckpt_path)
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm)
    module.load_state_dict(ckpt["state_dict"])
    return module.eval(), dm


@pytest.fixture(scope="module")
def species_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("calibrated")
    result = train(runs, *BASE, "data.target=species")
    outs = {fmt: runs / fmt for fmt in ("onnx", "torch")}
    for fmt, out in outs.items():
        ckpt = f"ckpt_path={result['best_checkpoint']}"
        kiln.api.run("export", [ckpt, f"out={out}", f"format={fmt}", f"paths.root={runs}"])
    return result, outs


def test_a_warm_start_trains_on_raw_logits(species_run):
    """A calibrated checkpoint's T (retrain, fine-tuning) is reset when fitting starts, so the
    loss sees the network's own logits; calibration refits T after fit."""
    result, _ = species_run
    module, _ = _module(result["best_checkpoint"])
    assert float(module.temperature.value) != 1.0
    module.on_fit_start()
    assert float(module.temperature.value) == 1.0


def test_training_stores_the_validation_minimiser_in_the_best_checkpoint(species_run):
    result, _ = species_run
    module, dm = _module(result["best_checkpoint"])
    t = float(module.temperature.value)
    assert t != 1.0 and t == pytest.approx(result["calibration/temperature"], rel=1e-6)
    module.temperature.value.fill_(1.0)
    *x, y = dm.splits["val"]
    with torch.no_grad():
        z = module.raw_output(x[0] if len(x) == 1 else tuple(x))
    assert t == pytest.approx(brute_force_temperature(z.numpy(), y.numpy(), "multiclass"), rel=1e-3)
    assert result["calibration/val_nll_after"] < result["calibration/val_nll_before"]
    metrics = json.loads((Path(result["best_checkpoint"]).parents[1] / "metrics.json").read_text())
    assert metrics["calibration/temperature"] == result["calibration/temperature"]


@pytest.mark.parametrize("fmt", ["onnx", "torch"])
def test_predict_and_the_artifacts_apply_the_stored_temperature(species_run, fmt):
    result, artifacts = species_run
    artifact = artifacts[fmt]
    pipeline, schema = torch_pipeline(result["best_checkpoint"])
    rows = pd.read_csv(PENGUINS).drop(columns=["species"])
    inputs = [torch.from_numpy(a) for a in schema.encode(rows)]
    with torch.inference_mode():
        expected = pipeline(*inputs).numpy()
        pipeline.module.temperature.value.fill_(1.0)
        uncalibrated = pipeline(*inputs).numpy()
    assert np.abs(expected - uncalibrated).max() > 1e-2  # T changes the answer, so this can fail
    meta = json.loads((artifact / "metadata.json").read_text())
    assert meta["temperature"] == pytest.approx(result["calibration/temperature"])
    predictor = kiln.load(artifact)
    assert predictor.backend == fmt
    got = predictor.predict(rows)[[f"proba_{c}" for c in predictor.labels]].to_numpy()
    assert np.abs(got - expected).max() <= 1e-4


def test_false_trains_with_one_and_regression_has_no_temperature(tmp_path):
    result = train(tmp_path, *BASE, "data.target=species", "calibrate=false")
    assert result["calibration/temperature"] == 1.0
    assert float(_module(result["best_checkpoint"])[0].temperature.value) == 1.0
    result = train(tmp_path, *BASE, "data.target=body_mass_g")
    assert not any(k.startswith("calibration/") for k in result)
    module, _ = _module(result["best_checkpoint"])
    assert module.temperature is None
    assert not any("temperature" in k for k in module.state_dict())


def test_a_calibrate_value_other_than_auto_true_false_is_refused(tmp_path):
    with pytest.raises(KilnError, match="calibrate='yes' must be true or false or auto"):
        train(tmp_path, *BASE, "data.target=species", "calibrate=yes")
