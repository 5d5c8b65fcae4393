"""kiln's logged metrics equal scikit-learn's on the same predictions."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn import metrics as skm

from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import train


def _predict(result):
    ckpt = load_checkpoint(result["best_checkpoint"])
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm)
    module.load_state_dict(ckpt["state_dict"])
    module.eval()
    x, y = dm.splits["test"]
    with torch.no_grad():
        return module.predict_step((x, y), 0).numpy().astype(np.float64), y.numpy()


@pytest.mark.parametrize("experiment", ["wine_mlp", "breast_cancer_mlp"])
def test_classification_metrics_match_sklearn(runs, experiment):
    result = train(runs, f"experiment={experiment}", "trainer.max_epochs=3")
    prob, y = _predict(result)
    if prob.ndim == 1:  # binary: P(class 1)
        pred = (prob > result["decision_threshold"]).astype(int)
        assert result["test/auroc"] == pytest.approx(skm.roc_auc_score(y, prob), abs=1e-6)
        ap = skm.average_precision_score(y, prob)
        assert result["test/f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-6)
    else:
        pred = prob.argmax(1)
        assert result["test/auroc"] == pytest.approx(
            skm.roc_auc_score(y, prob, multi_class="ovr", average="macro"), abs=1e-5
        )
        assert result["test/f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-6)
        onehot = np.eye(prob.shape[1])[y]
        ap = skm.average_precision_score(onehot, prob, average="macro")
    assert result["test/acc"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
    assert result["test/balanced_acc"] == pytest.approx(
        skm.balanced_accuracy_score(y, pred), abs=1e-6
    )
    assert result["test/pr_auc"] == pytest.approx(ap, abs=1e-5)


def test_regression_metrics_match_sklearn(runs):
    result = train(runs, "experiment=diabetes_mlp", "trainer.max_epochs=5")
    pred, y = _predict(result)
    assert result["test/mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-5)
    assert result["test/rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-5)
    assert result["test/r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-5)
