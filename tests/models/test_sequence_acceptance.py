"""Issue 4's acceptance: order-aware models solve the motif task, an order-blind MLP cannot;
the forecaster beats the last value; FT-Transformer and MLP learn a table."""

import numpy as np
import pytest

import kiln.api
from kiln.compare.baselines import evaluate, naive_forecast
from kiln.training.builders import build_datamodule
from tests.helpers import train

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("experiment", ["dna_motif_transformer", "dna_motif_lstm"])
def test_order_aware_models_find_the_motif(runs, experiment):
    result = train(runs, f"experiment={experiment}", "logger=none")
    assert result["test/acc"] >= 0.95


def test_an_mlp_on_base_counts_stays_near_chance(runs):
    result = train(runs, "experiment=dna_motif_counts_mlp", "logger=none")
    # 300 test sequences: chance is 0.5 +- 0.03 (one std)
    assert result["test/acc"] <= 0.6


def test_the_forecaster_beats_the_last_value_forecast(runs):
    result = train(runs, "experiment=sunspots_forecast", "logger=none")
    cfg = kiln.api.compose("train", [f"paths.root={runs}", "experiment=sunspots_forecast"])
    dm = build_datamodule(cfg.data)
    y = dm.splits["test"][1].numpy()
    naive = evaluate("forecast", 1, naive_forecast("last_value", dm, "test"), y, "test")
    oracle = float(np.sqrt(np.mean((naive_forecast("last_value", dm, "test") - y) ** 2)))
    assert naive["test/rmse"] == pytest.approx(oracle, rel=1e-5)
    assert result["test/rmse"] < naive["test/rmse"]


@pytest.mark.parametrize("model", ["ft_transformer", "mlp"])
def test_table_models_learn_breast_cancer(runs, model):
    result = train(
        runs, f"model={model}", "data=breast_cancer", "trainer.max_epochs=15", "logger=none"
    )
    assert result["test/acc"] >= 0.93
