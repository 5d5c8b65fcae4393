"""TabM, the tabular default: its members' mean is the prediction, each member trains on its own
loss, and it exports, predicts and carries a drift profile like every other model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import kiln
from kiln.data.spec import InputSpec
from kiln.models.tabm import TabM, mean_prediction
from kiln.training.checkpoints import load_checkpoint
from kiln.training.objectives import each_member, task_loss
from tests.helpers import PENGUINS, cli, train
from tests.helpers.export_oracle import torch_pipeline


def test_mean_prediction_is_the_members_mean_probability():
    z = torch.randn(5, 4, 3, dtype=torch.float64) * 3
    got = mean_prediction(z, "multiclass").softmax(-1)
    assert torch.allclose(got, z.softmax(-1).mean(1))
    zb = torch.randn(5, 4, dtype=torch.float64) * 3
    assert torch.allclose(mean_prediction(zb, "binary").sigmoid(), zb.sigmoid().mean(1))
    assert torch.allclose(mean_prediction(zb, "regression"), zb.mean(1))


def test_members_differ_and_eval_returns_one_output():
    torch.manual_seed(0)
    net = TabM((6,), 3, task="multiclass", numeric_features=4, k=8, hidden=[16, 16], dropout=0.0)
    x = torch.randn(10, 6)
    members = net.train()(x)
    assert members.shape == (10, 8, 3)
    assert (members[:, 0] - members[:, 1]).abs().max() > 1e-3  # random-sign start: not clones
    out = net.eval()(x)
    assert out.shape == (10, 3)
    assert torch.allclose(out.softmax(-1), members.softmax(-1).mean(1), atol=1e-6)


def test_each_member_is_scored_on_its_own_loss():
    """The loss the training step takes (task_loss over each_member's rows) is the mean of the
    k members' losses, not the loss of their mean."""
    torch.manual_seed(0)
    net = TabM((6,), 3, task="multiclass", numeric_features=4, k=4, hidden=[16]).train()
    x, y = torch.randn(12, 6), torch.randint(0, 3, (12,))
    z = net(x)
    spec = InputSpec("tabular", (6,), "multiclass", 3, "t")
    loss = task_loss(spec, None, None, *each_member(z, y, 4))
    by_member = torch.stack([F.cross_entropy(z[:, i], y) for i in range(4)]).mean()
    assert torch.allclose(loss, by_member)
    assert not torch.allclose(loss, F.cross_entropy(z.mean(1), y))


def test_the_table_default_trains_exports_with_parity_and_profiles_drift(runs, tmp_path):
    result = train(runs, "data=table", f"data.path={PENGUINS}", "data.target=species",
                   "model=tabm", "model.k=4", "model.hidden=[16]", "debug=fast", "logger=none")  # fmt: skip
    ckpt = load_checkpoint(result["best_checkpoint"])
    assert ckpt["kiln"]["config"]["model"]["_target_"] == "kiln.models.tabm.TabM"
    assert ckpt["kiln"].get("profile"), "no drift profile in the checkpoint"
    out = tmp_path / "artifact"
    done = cli("export", f"ckpt_path={result['best_checkpoint']}", f"out={out}", runs=runs)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pd.read_csv(PENGUINS).drop(columns=["species"])
    pipeline, schema = torch_pipeline(result["best_checkpoint"])
    x_num, x_cat = schema.encode(rows)
    with torch.inference_mode():
        expected = pipeline(torch.from_numpy(x_num), torch.from_numpy(x_cat)).numpy()
    predictor = kiln.load(out)
    got = predictor.predict(rows)[[f"proba_{c}" for c in predictor.labels]].to_numpy()
    assert np.abs(got - expected).max() <= 1e-4
    drift = cli("drift", f"ckpt_path={result['best_checkpoint']}", f"input={PENGUINS}", runs=runs)
    assert drift.returncode == 0, drift.stderr[-2000:]
