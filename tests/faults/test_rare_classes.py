"""Rare classes: every split holds every class when the rows allow it, one sentence (data report
and console) when they do not, and a metric a split cannot define is missing, never 0.0.
scikit-learn is the oracle for "undefined": roc_auc_score raises on a split missing a class,
f1_score warns on a binary split with no positive target or prediction, r2_score on a constant."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from kiln.data.quality import class_gaps
from kiln.data.table_split import split_table
from kiln.training.undefined_metrics import TargetTally, undefined
from tests.helpers import cli


@pytest.mark.parametrize("seed", range(8))
def test_a_class_of_three_rows_lands_in_every_split(seed):
    y = np.array([0] * 60 + [1] * 37 + [2] * 3)
    rows = split_table(len(y), y, seed, 0.15, 0.15)
    plain = split_table(len(y), None, seed, 0.15, 0.15)
    for k, ix in rows.items():
        assert set(y[ix]) == {0, 1, 2}, (k, np.bincount(y[ix]))
        assert len(ix) == len(plain[k])  # a swap, not a move: the sizes stay
    assert np.array_equal(np.sort(np.concatenate(list(rows.values()))), np.arange(len(y)))


def test_a_class_too_small_for_every_split_gets_one_sentence():
    y = np.array([0] * 97 + [1] * 2 + [2])
    rows = split_table(len(y), y, 0, 0.15, 0.15)
    gaps = class_gaps({k: y[v] for k, v in rows.items()}, ["a", "b", "c"])
    assert gaps.count(". ") == 0 and gaps.endswith(".")
    assert "'c' 1" in gaps and "at least 3 rows" in gaps
    assert class_gaps({"train": np.array([0, 1]), "val": np.array([1, 0])}, ["a", "b"]) is None


def tally(task, pred, y, classes=2):
    t = TargetTally(task, classes)
    t.update(torch.as_tensor(pred), torch.as_tensor(y))
    return undefined(task, t.compute(), "test")


def sklearn_undefined(call) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        try:
            value = call()
        except (ValueError, UndefinedMetricWarning):
            return True
    return not np.isfinite(value)


@pytest.mark.parametrize("seed", range(30))
def test_undefined_agrees_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    y = rng.integers(0, 2, n) * (rng.random() < 0.6)  # often one class only
    p = rng.random(n) * (0.4 if rng.random() < 0.5 else 1.0)  # often no positive prediction
    got = tally("binary", p, y)
    assert ("auroc" in got) == sklearn_undefined(lambda: roc_auc_score(y, p))
    assert ("f1" in got) == sklearn_undefined(lambda: f1_score(y, p > 0.5))
    k = 3
    ym = rng.integers(0, k, n)
    pm = rng.dirichlet(np.ones(k), n)
    got = tally("multiclass", pm, ym, k)
    oracle = lambda: roc_auc_score(ym, pm, multi_class="ovr", labels=list(range(k)))  # noqa: E731
    assert ("auroc" in got) == sklearn_undefined(oracle)
    yr = rng.choice([1.0, 2.0], n) if rng.random() < 0.5 else np.full(n, 3.0)
    got = tally("regression", yr, yr)
    assert ("r2" in got) == sklearn_undefined(lambda: r2_score(yr, yr + 0.1, force_finite=False))


def test_a_test_split_without_positives_reports_auroc_missing(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    y = np.zeros(n, dtype=int)
    y[rng.integers(n)] = 1  # 99.9% / 0.1%
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "y": y})
    df.to_csv(tmp_path / "rare.csv", index=False)
    runs = tmp_path / "runs"
    out = cli("train", "data=table", f"data.path={tmp_path / 'rare.csv'}", "data.target=y",
              "model=mlp", "trainer.max_epochs=1", "logger=none", "print_config=false",
              f"paths.root={runs}")  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    run = next((runs / "train").iterdir())
    report = json.loads((run / "data_report.json").read_text())
    counts = report["target"]
    lacking = [k for k in ("train", "val", "test") if counts[k]["1"] == 0]
    assert len(lacking) == 2  # one row of class 1 cannot be in three splits
    gaps = report["class_gaps"]
    assert all(f"{k} lacks '1'" in gaps for k in lacking) and "'1' 1" in gaps
    assert gaps in out.stdout + out.stderr  # the console says it too
    metrics = json.loads((run / "metrics.json").read_text())
    assert "test" in lacking  # this seed leaves the one positive row in train
    zeros = np.zeros(counts["test"]["0"])
    assert sklearn_undefined(lambda: roc_auc_score(zeros, rng.random(len(zeros))))
    assert "test/auroc" not in metrics and "test/auroc" in metrics["undefined_metrics"]
    assert metrics["test/acc"] >= 0.0  # accuracy is defined on one class
    line = next(ln for ln in out.stdout.splitlines() if "test/auroc" in ln and "│" in ln)
    assert "missing" in line and "0.000000" not in line
