"""The reference profile: what the training data and the model's validation predictions looked
like, as plain JSON (lists and floats) so it fits in a weights-only checkpoint and metadata.json.

Numeric features keep n, mean, std, quantiles, a histogram over bins cut at reference deciles
(for PSI) and either the raw values (up to ``raw_values_max_rows``, which KS needs) or a dense
quantile grid that stands for the distribution in the Wasserstein distance.
"""

from __future__ import annotations

import numpy as np

from kiln.monitoring.features import Featurizer, category_counts
from kiln.monitoring.stats import bin_counts

PROFILE_VERSION = 1
QUANTILE_PROBS = np.linspace(0, 1, 21)  # reported quantiles: every 5%


def numeric_profile(values: np.ndarray, raw_values_max_rows: int = 1000, grid_points: int = 1001,
                    psi_bins: int = 10) -> dict:  # fmt: skip
    x = np.asarray(values, dtype=np.float64)
    missing = int(np.isnan(x).sum())
    x = np.sort(x[~np.isnan(x)])
    out: dict = {"type": "numeric", "n": len(x), "missing": missing}
    if len(x) == 0:
        return out
    edges = np.unique(np.quantile(x, np.linspace(0, 1, psi_bins + 1)[1:-1]))
    out.update(
        mean=float(x.mean()),
        std=float(x.std()),
        quantiles=np.quantile(x, QUANTILE_PROBS).tolist(),
        bin_edges=edges.tolist(),
        bin_counts=bin_counts(x, edges).tolist(),
    )
    if len(x) <= raw_values_max_rows:
        out["values"] = x.tolist()
    else:
        out["grid"] = np.quantile(x, np.linspace(0, 1, grid_points)).tolist()
    return out


def categorical_profile(codes: np.ndarray, labels: list[str]) -> dict:
    counts = category_counts(codes, labels)
    return {"type": "categorical", "n": int(sum(counts.values())), "counts": counts}


def profile_features(featurizer: Featurizer, inputs: list, **numeric_kw) -> dict:
    num, cat = featurizer(inputs)
    out = {name: numeric_profile(v, **numeric_kw) for name, v in num.items()}
    out.update({name: categorical_profile(v, featurizer.labels[name]) for name, v in cat.items()})
    if featurizer.kind == "text":  # many tokens a row: detect.categorical_result's noise floor
        out["tokens"]["bag"] = True
    return out


def prediction_values(pred: np.ndarray, task: str, class_names: list[str] | None):
    """Model outputs (probabilities or values) -> what prediction drift is measured on."""
    pred = np.asarray(pred)
    if task == "multiclass":
        return pred.argmax(-1), list(class_names or map(str, range(pred.shape[-1])))
    if task == "binary":
        return (pred.reshape(-1) > 0.5).astype(np.int64), list(class_names or ["0", "1"])
    if task == "multilabel":  # how many labels each row is given
        return (pred.reshape(len(pred), -1) > 0.5).sum(1).astype(np.float64), None
    return pred.reshape(-1).astype(np.float64), None


def prediction_profile(
    pred: np.ndarray, task: str, class_names: list[str] | None, **numeric_kw
) -> dict:
    values, labels = prediction_values(pred, task, class_names)
    if labels is None:
        return numeric_profile(values, **numeric_kw)
    return categorical_profile(values, labels)


def build_profile(featurizer: Featurizer, inputs: list, spec_task: str, **numeric_kw) -> dict:
    """The input part of the profile; ``predictions`` is added from the validation split."""
    return {
        "version": PROFILE_VERSION,
        "task": spec_task,
        "rows": int(len(inputs[0])),
        "featurizer": featurizer.to_dict(),
        "features": profile_features(featurizer, inputs, **numeric_kw),
        "predictions": None,
        "settings": dict(numeric_kw),
    }
