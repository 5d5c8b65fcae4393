"""Each table transform against scikit-learn on the same data, to 1e-6 (run in float64)."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from kiln.data.schema import Schema
from kiln.preprocessing.tabular import fit_categorical, fit_numeric

RNG = np.random.default_rng(7)


def table(n=400):
    """A normal column, a skewed one, a NaN-heavy integer one (80% missing), a single value."""
    x = np.stack(
        [
            RNG.normal(5, 2, n),
            RNG.lognormal(1, 1, n),
            RNG.integers(0, 6, n).astype(float),
            np.full(n, 3.25),
        ],
        1,
    )
    x[RNG.random(n) < 0.1, 0] = np.nan
    x[RNG.random(n) < 0.8, 2] = np.nan
    return x


def kiln_numeric(train, apply, **settings):
    base = {"impute": "mean", "outliers": {"method": "none"}, "normalize": "none", **settings}
    module, keep, _ = fit_numeric(train, [base] * train.shape[1], dtype=torch.float64)
    assert keep.all()
    return module(torch.from_numpy(apply)).numpy()


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_imputation_matches_simple_imputer(strategy):
    train, new = table(), table(150)
    ours = kiln_numeric(train, new, impute=strategy, fill_value=-1.5)
    ref = SimpleImputer(strategy=strategy, fill_value=-1.5).fit(train).transform(new)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


@pytest.mark.parametrize(
    "method, scaler",
    [
        ("standard", StandardScaler()),
        ("minmax", MinMaxScaler()),
        ("robust", RobustScaler()),
        ("quantile", QuantileTransformer(output_distribution="normal", subsample=10**6)),
    ],
)
def test_normalization_matches_scikit_learn(method, scaler):
    train, new = table(), table(150)
    new[:5] *= 50  # beyond the training range
    ours = kiln_numeric(train, new, impute="median", normalize=method)
    ref = make_pipeline(SimpleImputer(strategy="median"), scaler).fit(train).transform(new)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_log_standard_is_log1p_then_standard_scaler():
    train, new = np.abs(table()), np.abs(table(100))
    ours = kiln_numeric(train, new, impute="median", normalize="log_standard")
    imp = SimpleImputer(strategy="median").fit(train)
    ref = (
        StandardScaler().fit(np.log1p(imp.transform(train))).transform(np.log1p(imp.transform(new)))
    )
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_missing_indicators_match_simple_imputer_add_indicator():
    train, new = table(), table(150)
    ours = kiln_numeric(train, new, impute="mean", indicator=True)
    ref = SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True)
    np.testing.assert_allclose(ours[:, :4], ref.fit(train).transform(new)[:, :4], atol=1e-6)
    np.testing.assert_array_equal(ours[:, 4:], np.isnan(new).astype(float))


@pytest.mark.parametrize("method", ["iqr", "zscore"])
def test_outlier_bounds_clip_and_flag_match_scipy(method):
    train, new = table(), table(150)
    col = train[:, 0][~np.isnan(train[:, 0])]
    if method == "iqr":
        q1 = np.percentile(col, 25)
        lo, hi = q1 - 2.0 * stats.iqr(col), q1 + stats.iqr(col) * 3.0
    else:
        z = np.abs(stats.zscore(col))
        lo, hi = col[z <= 2.5].min(), col[z <= 2.5].max()
    outliers = {"method": method, "k": 2.0, "threshold": 2.5, "strategy": "flag"}
    ours = kiln_numeric(train[:, :1], new[:, :1], impute="median", outliers=outliers)
    if method == "iqr":
        expected = (new[:, 0] < lo) | (new[:, 0] > hi)
        np.testing.assert_array_equal(ours[:, 1], expected.astype(float))
        clipped = kiln_numeric(train[:, :1], new[:, :1], outliers={**outliers, "strategy": "clip"})
        fill = np.clip(col, lo, hi).mean()
        np.testing.assert_allclose(
            clipped[:, 0],
            np.where(np.isnan(new[:, 0]), fill, np.clip(new[:, 0], lo, hi)),
            atol=1e-6,
        )
    else:  # every training value the flag passes lies within scipy's z-score threshold
        inside = ~ours[:, 1].astype(bool) & ~np.isnan(new[:, 0])
        assert (np.abs(new[inside, 0] - col.mean()) / col.std() <= 2.5).all()
        assert (np.abs(new[ours[:, 1] == 1, 0] - col.mean()) / col.std() > 2.5).all()


def test_one_hot_matches_one_hot_encoder():
    train = pd.DataFrame(
        {"a": RNG.choice(list("xyz"), 300), "b": RNG.choice(["p", "q"], 300), "t": 0.0}
    )
    new = pd.DataFrame({"a": ["z", "x", "w", None], "b": ["q", "p", "p", "q"], "t": 0.0})
    schema = Schema.infer(train, "t", "regression")
    schema.fit_vocab(train, {})
    codes = schema.encode(train)[1]
    module, _ = fit_categorical(codes, schema.cardinalities, [{"encode": "onehot"}] * 2)
    ours = module(torch.from_numpy(schema.encode(new)[1]), dtype=torch.float64).numpy()
    ref = (
        OneHotEncoder(handle_unknown="ignore")
        .fit(train[["a", "b"]])
        .transform(new[["a", "b"]].fillna("w"))
        .toarray()
    )
    # per column: [unknown, missing, vocabulary...]; scikit-learn has only the vocabulary
    np.testing.assert_array_equal(np.delete(ours, [0, 1, 5, 6], axis=1), ref)
    np.testing.assert_array_equal(ours[:, 0], [0, 0, 1, 0])  # unseen "w" -> unknown
    np.testing.assert_array_equal(ours[:, 1], [0, 0, 0, 1])  # None -> its own token
