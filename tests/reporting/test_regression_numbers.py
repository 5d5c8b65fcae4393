"""Residual statistics, error by target decile and slices, against numpy/pandas by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from kiln.reporting.regression import error_by_decile, residual_stats
from kiln.reporting.slices import slice_labels, slice_metrics


def test_residual_stats_against_sklearn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=1000)
    pred = y + rng.normal(0.3, 0.5, 1000)
    stats = residual_stats(pred, y)
    assert stats["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert stats["rmse"] == pytest.approx(root_mean_squared_error(y, pred))
    assert stats["r2"] == pytest.approx(r2_score(y, pred))
    assert stats["bias"] == pytest.approx((pred - y).mean())
    assert stats["abs_error_p90"] == pytest.approx(np.percentile(np.abs(pred - y), 90))
    assert residual_stats(np.ones(3), np.full(3, 2.0))["r2"] is None  # constant target


def test_error_by_decile_matches_pandas_qcut():
    rng = np.random.default_rng(1)
    y = rng.exponential(size=2000)
    pred = y * rng.normal(1, 0.2, 2000)
    rows = error_by_decile(pred, y)
    frame = pd.DataFrame({"y": y, "err": pred - y, "bin": pd.qcut(y, 10, labels=False)})
    assert len(rows) == 10
    for row, (_, group) in zip(rows, frame.groupby("bin"), strict=True):
        assert row["rows"] == len(group)
        assert row["mae"] == pytest.approx(group["err"].abs().mean())
        assert row["bias"] == pytest.approx(group["err"].mean())
        assert row["target_from"] <= group["y"].min() and group["y"].max() <= row["target_to"]


def test_error_by_decile_merges_tied_edges():
    y = np.array([1.0] * 50 + [2.0] * 50)
    rows = error_by_decile(y + 0.5, y)
    assert sum(r["rows"] for r in rows) == 100 and len(rows) < 10


def test_slices_numeric_by_quartile_categorical_by_value_worst_first():
    values = pd.Series(np.arange(8, dtype=float))
    labels = slice_labels(values)
    assert len(set(labels)) == 4 and list(pd.Series(labels).value_counts()) == [2, 2, 2, 2]
    cats = slice_labels(pd.Series(["a", "b", None, "a"]))
    assert list(cats) == ["a", "b", "(missing)", "a"]
    loss = np.array([1.0, 3.0, 0.0, 1.0])
    rows = slice_metrics(cats, loss, np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]), "binary")
    assert rows[0] == {"slice": "b", "rows": 1, "loss": 3.0, "accuracy": 0.0}
    assert rows[1] == {"slice": "a", "rows": 2, "loss": 1.0, "accuracy": 1.0}
