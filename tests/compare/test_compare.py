"""kiln compare: identical splits for every candidate, a leaderboard in four forms, the best
checkpoint kept; scikit-learn recomputes the baselines' scores from the written splits."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

import kiln.api
from kiln.compare.baselines import features
from kiln.errors import KilnError
from kiln.training.builders import build_datamodule
from tests.helpers import cli

FAST = [
    "trainer.max_epochs=2",
    "logger=none",
    "+model_overrides.ft_transformer.d_model=16",
    "+model_overrides.ft_transformer.layers=1",
]


def compare(runs, *overrides):
    return kiln.api.run("compare", [f"paths.root={runs}", *overrides])


def test_compare_ranks_neural_models_and_baselines_and_keeps_the_best_checkpoint(runs):
    res = compare(runs, "data=breast_cancer", "models=[mlp,ft_transformer,baselines]", *FAST)
    out = Path(res["output_dir"])
    rows = res["leaderboard"]
    assert [r["model"] for r in rows] and len(rows) == 5
    assert {r["model"] for r in rows} == {"mlp", "ft_transformer", "logistic", "tree", "hist_gb"}
    scores = [r["metric"] for r in rows]
    assert scores == sorted(scores, reverse=True) and res["metric"] == "test/acc"
    for r in rows:
        assert 0.5 < r["metric"] <= 1 and r["fit_seconds"] > 0 and r["latency_ms_per_1k"] > 0
    assert next(r for r in rows if r["model"] == "mlp")["params"] > 1000
    # the files: Markdown, CSV, chart, and the best neural model's checkpoint alone
    with open(out / "leaderboard.csv") as f:
        table = list(csv.DictReader(f))
    assert [t["model"] for t in table] == [r["model"] for r in rows]
    assert math.isclose(float(table[0]["metric"]), rows[0]["metric"])
    md = (out / "leaderboard.md").read_text()
    assert all(r["model"] in md for r in rows) and "test/acc" in md
    assert (out / "leaderboard.png").stat().st_size > 5000
    best_neural = next(r["model"] for r in rows if r["family"] == "neural")
    ckpt = Path(res["best_checkpoint"])
    assert ckpt == out / f"best_{best_neural}.ckpt"
    loaded = torch.load(ckpt, weights_only=True)
    assert loaded["kiln"]["config"]["model"]["_target_"].endswith(
        {"mlp": "MLP", "ft_transformer": "FTTransformer"}[best_neural]
    )
    assert not list(out.glob("*/checkpoints/*.ckpt"))  # the others are dropped
    # each neural candidate's evaluation report, linked, and its calibration (ECE) in a column
    for r in rows:
        if r["family"] != "neural":
            assert r["ece"] is None and r["report"] == []
            continue
        (page,) = r["report"]
        assert Path(page) == out / r["model"] / "report" / "report.html"
        evaluation = json.loads((Path(page).parent / "evaluation.json").read_text())
        assert r["ece"] == pytest.approx(evaluation["classification"]["calibration"]["ece"])
        assert f"[report]({r['model']}/report/report.html)" in md
    assert {t["model"]: t["ece"] for t in table}["logistic"] == ""


def test_baselines_use_the_same_features_as_scikit_learn_would(runs):
    res = compare(runs, "data=wine", "models=[baselines]", "logger=none")
    cfg = kiln.api.compose("compare", [f"paths.root={runs}", "data=wine"])
    data = build_datamodule(cfg.data)
    x_train, y_train = features(data, "train")
    x_test, y_test = features(data, "test")
    # the features are the standardised table, statistics from the training split only
    np.testing.assert_allclose(x_train.mean(0), 0, atol=1e-5)
    assert np.abs(x_test.mean(0)).max() > 1e-3
    oracle = accuracy_score(
        y_test, LogisticRegression(max_iter=2000).fit(x_train, y_train).predict(x_test)
    )
    logistic = next(r for r in res["leaderboard"] if r["model"] == "logistic")
    assert logistic["metric"] == pytest.approx(oracle, abs=1e-6)


def test_forecast_compare_has_naive_baselines_and_folds_give_a_spread(runs):
    res = compare(
        runs,
        "data=sunspots",
        "models=[mlp,baselines]",
        "monitor.metric=val/rmse",
        "monitor.mode=min",
        "cv.test_folds=2",
        "trainer.max_epochs=3",  # fold 0 trains 2 batches; 4 steps break OneCycleLR
        "logger=none",
    )
    rows = {r["model"]: r for r in res["leaderboard"]}
    assert set(rows) == {"mlp", "last_value", "seasonal_naive", "ridge"}
    assert res["metric"] == "test/rmse" and all(r["folds"] == 2 for r in rows.values())
    # expanding-window folds: the test span moves forward, so even the naive forecasts differ
    assert rows["mlp"]["std"] > 0 and rows["last_value"]["std"] > 0
    assert rows["last_value"]["params"] == 0
    assert "±" in (Path(res["output_dir"]) / "leaderboard.md").read_text()
    # repeated hold-out (cv.mode=holdout): a chronological split does not move with the seed
    held = compare(runs, "data=sunspots", "models=[baselines]", "monitor.metric=val/rmse",
                   "monitor.mode=min", "cv.test_folds=2", "cv.mode=holdout", "logger=none")  # fmt: skip
    last = next(r for r in held["leaderboard"] if r["model"] == "last_value")
    assert last["folds"] == 2 and last["std"] == 0


def test_cv_test_folds_is_k_fold_cross_validation(runs):
    res = compare(runs, "data=wine", "models=[mlp,baselines]", "cv.test_folds=3", *FAST[:2])
    rows = {r["model"]: r for r in res["leaderboard"]}
    assert all(r["folds"] == 3 for r in rows.values()) and rows["mlp"]["std"] > 0
    assert sorted(r["fold"] for r in res["results"] if r["model"] == "mlp") == [0, 1, 2]
    assert "±" in (Path(res["output_dir"]) / "leaderboard.md").read_text()
    # the oracle: scikit-learn on each fold's split (test fold k of 3, one seed for all)
    cfg = kiln.api.compose("compare", [f"paths.root={runs}", "data=wine"])
    scores = []
    for fold in range(3):
        with open_dict(cfg):
            cfg.data.test_folds, cfg.data.test_fold = 3, fold
        data = build_datamodule(cfg.data)
        x_train, y_train = features(data, "train")
        x_test, y_test = features(data, "test")
        fitted = LogisticRegression(max_iter=2000).fit(x_train, y_train)
        scores.append(accuracy_score(y_test, fitted.predict(x_test)))
    assert rows["logistic"]["metric"] == pytest.approx(np.mean(scores), abs=1e-6)
    assert rows["logistic"]["std"] == pytest.approx(np.std(scores, ddof=1), abs=1e-6)


def test_unknown_model_and_cli_exit(runs):
    with pytest.raises(KilnError, match="'nope' is not a model config"):
        compare(runs, "models=[nope]")
    done = cli("compare", "models=[nope]", runs=runs)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nope" in done.stderr + done.stdout


def test_a_model_twice_or_overrides_for_a_model_not_listed_are_refused(runs):
    """models=[mlp,mlp] trained both into mlp/ and showed one row of folds=2; overrides for a
    model not in models were silently dropped. Both are refused before any training."""
    with pytest.raises(KilnError, match=r"models lists mlp more than once; give each model once"):
        compare(runs, "data=wine", "models=[mlp,mlp]", "trainer.max_epochs=1", "logger=none")
    with pytest.raises(
        KilnError, match=r"model_overrides\.mlpp .*not in models \(mlp, baselines\)"
    ):
        compare(runs, "data=wine", "models=[mlp,baselines]", "+model_overrides.mlpp.hidden=[8]",
                "trainer.max_epochs=1", "logger=none")  # fmt: skip
    assert not list(Path(runs).glob("compare/*/mlp"))
    done = cli("compare", "data=wine", "models=[mlp,mlp]", runs=runs)
    assert done.returncode == 2 and "Traceback" not in done.stderr + done.stdout
    assert "kiln compare: error: models lists mlp more than once" in done.stderr


def test_the_ranking_metric_is_checked_before_training_and_ranks_its_own_way(runs):
    for metric, words in [("test/nope", "use one of test/acc"), ("test/loss", "have no loss")]:
        with pytest.raises(KilnError, match=words):
            compare(runs, "data=wine", "models=[mlp,baselines]", f"metric={metric}", *FAST[:2])
    assert not list(Path(runs).glob("compare/*/mlp"))  # refused before the first model trained
    regression = ["data=diabetes", "monitor.metric=val/rmse", "monitor.mode=min"]
    res = compare(runs, *regression, "models=[baselines]", "metric=test/r2")
    r2 = [r["metric"] for r in res["leaderboard"]]
    assert r2 == sorted(r2, reverse=True) and r2[0] > r2[-1]  # higher R² first
