"""data.threshold: a binary model's cut, chosen on validation (auto) or given, stored in the model
and applied by the test metrics, kiln.load(...).predict, kiln predict and a real server."""

import json

import httpx
import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.metrics import accuracy_score, balanced_accuracy_score

import kiln
import kiln.api
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint
from kiln.training.threshold import balanced_accuracy_cut
from tests.helpers import PENGUINS, train
from tests.helpers.server import live_server, to_records

BASE = [
    "data=table",
    f"data.path={PENGUINS}",
    "data.target=sex",
    "model=mlp",
    "seed=1",
    "data.batch_size=64",
]  # the cases below were found at this batch size


@pytest.mark.parametrize("seed", range(20))
def test_the_cut_maximises_balanced_accuracy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    y = rng.random(n) < rng.uniform(0.05, 0.5)
    p = np.round(rng.beta(1, 3, n) + 0.3 * y, 2).clip(0, 1)  # ties, a shifted positive class
    cut = balanced_accuracy_cut(p, y)
    if y.all() or not y.any():
        assert cut is None
        return
    scores = {t: balanced_accuracy_score(y, p > t) for t in np.r_[np.unique(p), 0.5, -1.0]}
    got = balanced_accuracy_score(y, p > cut)
    assert got == pytest.approx(max(scores.values()))  # no cut does better
    if scores[0.5] == pytest.approx(got):  # ties keep the usual cut
        assert cut == 0.5


def _probabilities(ckpt_path: str, split: str):
    ckpt = load_checkpoint(ckpt_path)
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm)
    module.load_state_dict(ckpt["state_dict"])
    module.eval()
    *x, y = dm.splits[split]
    with torch.no_grad():
        return module.predict_step((*x, y), 0).numpy(), y.numpy(), module


def test_auto_stores_the_cut_chosen_on_validation_for_the_best_weights(tmp_path):
    result = train(tmp_path, *BASE, "data.threshold=auto", "trainer.max_epochs=2")
    p, y, module = _probabilities(result["best_checkpoint"], "val")
    chosen = balanced_accuracy_cut(p, y)
    assert chosen != 0.5  # for this seed the cut moved, so a cut left at 0.5 would fail here
    assert float(module.decision.value) == pytest.approx(chosen, abs=1e-6)
    assert result["decision_threshold"] == pytest.approx(chosen, abs=1e-6)


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory):
    """A binary model with the cut 0.8, its ONNX artifact and some rows it scores."""
    runs = tmp_path_factory.mktemp("cut")
    result = train(runs, *BASE, "data.threshold=0.8", "trainer.max_epochs=2")
    out = runs / "artifact"
    kiln.api.run(
        "export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}", f"paths.root={runs}"]
    )
    rows = (
        pd.read_csv(PENGUINS)
        .dropna(subset=["sex"])
        .drop(columns=["sex"])
        .sample(80, random_state=0)
    )
    return result, out, rows


def test_the_test_metrics_cut_at_the_stored_threshold(cut_run):
    result, _, _ = cut_run
    p, y, module = _probabilities(result["best_checkpoint"], "test")
    assert float(module.decision.value) == pytest.approx(0.8)
    assert ((p > 0.5) != (p > 0.8)).any()  # the cut changes some labels, so this can fail
    assert result["test/acc"] == pytest.approx(accuracy_score(y, p > 0.8), abs=1e-6)
    assert result["test/balanced_acc"] == pytest.approx(
        balanced_accuracy_score(y, p > 0.8), abs=1e-6
    )


def test_predict_and_a_served_request_cut_at_the_stored_threshold(cut_run, tmp_path):
    _, artifact, rows = cut_run
    assert json.loads((artifact / "metadata.json").read_text())["threshold"] == pytest.approx(0.8)
    frame = kiln.load(artifact).predict(rows)
    p = frame["proba_male"].to_numpy()
    assert ((p > 0.5) & (p <= 0.8)).any()  # rows a 0.5 cut would call male
    assert frame["prediction"].tolist() == np.where(p > 0.8, "male", "female").tolist()
    src, dst = tmp_path / "rows.csv", tmp_path / "preds.csv"
    rows.to_csv(src, index=False)
    kiln.api.run(
        "predict",
        [f"artifact={artifact}", f"input={src}", f"output={dst}", f"paths.root={tmp_path}"],
    )
    assert pd.read_csv(dst)["prediction"].tolist() == frame["prediction"].tolist()
    with live_server(artifact) as (url, _):
        served = httpx.post(f"{url}/predict", json=to_records(rows), timeout=30).json()[
            "predictions"
        ]
    assert [s["prediction"] for s in served] == frame["prediction"].tolist()
    assert np.allclose([s["probabilities"]["male"] for s in served], p, atol=1e-6)


def test_weights_saved_before_the_threshold_existed_load_with_half():
    from torch import nn

    from kiln.models.pipeline import DecisionThreshold

    model = nn.Module()
    model.decision = DecisionThreshold(0.8)
    model.load_state_dict({}, strict=True)  # an older checkpoint: no decision.value
    assert float(model.decision.value) == 0.5
    model.load_state_dict({"decision.value": torch.tensor(0.3)}, strict=True)
    assert float(model.decision.value) == pytest.approx(0.3)
