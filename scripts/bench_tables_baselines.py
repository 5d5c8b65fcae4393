"""scikit-learn's baselines for scripts/bench_tables.py, each a pipeline a careful user would write.

- hgb: HistGradientBoosting with native categorical support (categories as pandas categoricals)
- linear: logistic regression (classes) / ridge (numbers) on median-imputed, standardised numbers
  plus one-hot categories (missing as its own category)
- rf: random forest (300 trees) on median-imputed numbers and ordinal-encoded categories
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

BASELINES = ("hgb", "linear", "rf")


def categorical_columns(X: pd.DataFrame) -> list[str]:
    """The columns read as text: the ones kiln also takes as categorical or boolean."""
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def _as_categories(X: pd.DataFrame, cats: list[str], vocab: dict | None = None) -> pd.DataFrame:
    """Categoricals with the training rows' categories (an unseen one becomes missing)."""
    X = X.copy()
    for c in cats:
        text = X[c].astype("string").fillna("<missing>")
        known = vocab[c] if vocab else sorted(text.unique())
        X[c] = pd.Categorical(text, categories=known)
    return X


def _text(X: pd.DataFrame, cats: list[str]) -> pd.DataFrame:
    X = X.copy()
    for c in cats:
        X[c] = X[c].astype("string").fillna("<missing>").astype(object)
    return X


def build(name: str, task: str, X: pd.DataFrame, seed: int):
    """An unfitted estimator for ``X`` (the pipeline is chosen from its columns)."""
    cats = categorical_columns(X)
    nums = [c for c in X.columns if c not in cats]
    classes = task != "regression"
    if name == "hgb":
        cls = HistGradientBoostingClassifier if classes else HistGradientBoostingRegressor
        return cls(categorical_features="from_dtype", random_state=seed)
    if name == "linear":
        pre = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
                ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
            ]
        )
        head = (
            LogisticRegression(max_iter=2000) if classes else RidgeCV(alphas=np.logspace(-3, 3, 13))
        )
        return make_pipeline(pre, head)
    if name == "rf":
        pre = ColumnTransformer(
            [
                ("num", SimpleImputer(strategy="median"), nums),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cats),
            ]
        )
        cls = RandomForestClassifier if classes else RandomForestRegressor
        return make_pipeline(pre, cls(n_estimators=300, n_jobs=1, random_state=seed))
    raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}")


def fit_score(name: str, task: str, X_train, y_train, X_test, y_test, seed: int) -> float:
    """Accuracy (classes) or R2 (numbers) of the baseline fitted on the training rows."""
    cats = categorical_columns(X_train)
    model = build(name, task, X_train, seed)
    if name == "hgb":
        train = _as_categories(X_train, cats)
        test = _as_categories(X_test, cats, {c: list(train[c].cat.categories) for c in cats})
    else:
        train, test = _text(X_train, cats), _text(X_test, cats)
    model.fit(train, y_train)
    return float(model.score(test, y_test))  # accuracy / R2
