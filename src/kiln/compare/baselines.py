"""scikit-learn baselines on the same preprocessed features and splits as the neural models.

Features are what the fitted preprocessor hands the network (standardised on the training
split), flattened; token sequences are seen as token frequencies. Forecasts also get the
naive baselines every forecaster must beat: last value and seasonal naive.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from kiln.errors import KilnError
from kiln.preprocessing.tokens import TokenCounts
from kiln.training.lightning_private import tree_nodes
from kiln.training.metrics import task_metrics, to_python

SMALL_ROWS = 50_000


def candidates(task: str, seed: int, spec=None) -> dict[str, object]:
    """Name -> an unfitted estimator (or the name of a naive forecast) for ``task``; text
    (``spec`` of data=text) gets TF-IDF baselines on its raw strings (text_candidates)."""
    if spec is not None and "tokenizer" in spec.extra:
        return text_candidates(seed, multilabel=task == "multilabel")
    if task == "forecast":
        return {"last_value": "last_value", "seasonal_naive": "seasonal_naive", "ridge": Ridge(1.0)}
    if task == "regression":
        return {
            "ridge": Ridge(1.0),
            "tree": DecisionTreeRegressor(min_samples_leaf=5, random_state=seed),
            "hist_gb": HistGradientBoostingRegressor(random_state=seed),
        }
    found = {
        "logistic": LogisticRegression(max_iter=2000),
        "tree": DecisionTreeClassifier(min_samples_leaf=5, random_state=seed),
        "hist_gb": HistGradientBoostingClassifier(random_state=seed),
    }
    if task == "multilabel":  # a table's labels: one classifier per label
        return {k: OneVsRestClassifier(v) for k, v in found.items()}
    return found


def text_candidates(seed: int, multilabel: bool = False) -> dict[str, object]:
    """TF-IDF of words (1-2 grams) and of character 2-5 grams, each with a logistic
    regression: the classical text baselines a neural model must beat, on the raw strings."""
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)

    def model():  # multilabel: one logistic regression per label
        lr = LogisticRegression(C=10.0, max_iter=2000)
        return OneVsRestClassifier(lr) if multilabel else lr

    return {
        "tfidf_logistic": make_pipeline(words, model()),
        "tfidf_char_logistic": make_pipeline(chars, model()),
    }


def features(dm, split: str, raw_text: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a split as the baselines see it: the preprocessor's output, flattened; or
    the split's raw strings (``raw_text``, data=text's ``texts``) for the TF-IDF baselines."""
    if raw_text:
        return np.asarray(dm.texts[split], dtype=object), dm.splits[split][-1].cpu().numpy()
    *inputs, y = (t.cpu() for t in dm.splits[split])
    x = inputs[0] if len(inputs) == 1 else tuple(inputs)
    with torch.no_grad():
        if dm.spec.kind == "tokens":
            f = TokenCounts(dm.spec.extra["vocab_size"])(x)
        else:
            f = dm.preprocessor.cpu()(x) if dm.preprocessor is not None else x
    return f.flatten(1).numpy().astype(np.float64), y.numpy()


def naive_forecast(kind: str, dm, split: str) -> np.ndarray:
    """Last value, or the value one season before each target step, from the raw window."""
    x = dm.splits[split][0].cpu().numpy()[:, :, 0]
    w, h, season = x.shape[1], dm.spec.num_outputs, int(dm.spec.extra.get("season", 1))
    if kind == "last_value":
        return np.repeat(x[:, -1:], h, axis=1)
    if season > w:
        raise KilnError(f"data.season={season} is longer than data.window={w}; raise the window.")
    return np.stack([x[:, w - season + (k % season)] for k in range(h)], axis=1)


def evaluate(task: str, num_classes: int, pred: np.ndarray, y: np.ndarray, stage: str) -> dict:
    """The same torchmetrics collection (and names) the neural models log."""
    metrics = task_metrics(task, num_classes).clone(prefix=f"{stage}/")
    p, t = torch.as_tensor(pred, dtype=torch.float32), torch.as_tensor(y)
    if task == "forecast":
        p, t = p.flatten(), t.flatten()
    metrics.update(p, t)
    return to_python(metrics.compute())


def fit_baseline(name: str, estimator, dm) -> dict:
    """Fit on train, score val and test; the row a leaderboard needs."""
    spec = dm.spec
    raw_text = name.startswith("tfidf")
    x_train, y_train = features(dm, "train", raw_text)
    # small tables: one thread; OpenMP's spin-waits cost more than they save (hist_gb on
    # breast_cancer took 13 s with all threads vs 0.6 s with one on a busy 2-core machine)
    threads = 1 if len(x_train) < SMALL_ROWS else None
    started = time.perf_counter()
    if not isinstance(estimator, str):
        with threadpool_limits(threads):
            estimator = clone(estimator).fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    result: dict = {"model": name, "family": "baseline", "fit_seconds": fit_seconds}
    for stage in ("val", "test"):
        started = time.perf_counter()
        x, y = features(dm, stage, raw_text)
        with threadpool_limits(threads):
            pred = predict(estimator, dm, stage, x)
        result["latency_ms_per_1k"] = (time.perf_counter() - started) * 1e6 / max(len(y), 1)
        result.update(evaluate(spec.task, spec.num_outputs, pred, y, stage))
    result["params"] = count_parameters(estimator)
    return result


def predict(estimator, dm, stage: str, x: np.ndarray) -> np.ndarray:
    """Probabilities (positive class for binary) or values, as the neural models output them."""
    spec = dm.spec
    if isinstance(estimator, str):
        return naive_forecast(estimator, dm, stage)
    if spec.task == "multilabel":
        return estimator.predict_proba(x)
    if spec.is_classification:
        proba = estimator.predict_proba(x)
        return proba[:, 1] if spec.task == "binary" else proba
    return estimator.predict(x)


def count_parameters(estimator) -> int:
    """Fitted numbers: coefficients for linear models, nodes for trees, 0 for naive forecasts."""
    if isinstance(estimator, str):
        return 0
    if hasattr(estimator, "steps"):  # a TF-IDF pipeline: its model's coefficients
        estimator = estimator.steps[-1][1]
    if isinstance(estimator, OneVsRestClassifier):
        return sum(count_parameters(e) for e in estimator.estimators_)
    if hasattr(estimator, "coef_"):
        return int(np.size(estimator.coef_) + np.size(getattr(estimator, "intercept_", 0)))
    if hasattr(estimator, "tree_"):
        return int(estimator.tree_.node_count)
    if isinstance(estimator, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return tree_nodes(estimator)
    return 0
