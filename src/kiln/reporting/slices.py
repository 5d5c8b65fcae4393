"""Metrics per slice of the test rows (``eval.slice_by=[col, ...]``): per value of a
categorical column, per quantile bin of a numeric one, so a user sees where the model is weak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kiln.reporting.regression import quantile_bins

NUMERIC_BINS = 4
TOP_VALUES = 20  # the most frequent values of a column; the rest form "(other)"


def slice_labels(values: pd.Series) -> np.ndarray:
    """The slice of each row: a quantile bin "[lo, hi]" of a numeric column, else its value."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(np.float64)
        present = ~np.isnan(v)
        labels = np.full(len(v), "(missing)", dtype=object)
        if present.any():
            edges, k = quantile_bins(v[present], NUMERIC_BINS)
            names = np.array(
                [f"[{edges[b]:.4g}, {edges[b + 1]:.4g}]" for b in range(len(edges) - 1)]
            )
            labels[present] = names[k]
        return labels
    text = values.astype(object).where(values.notna(), "(missing)").astype(str)
    top = text.value_counts().index[:TOP_VALUES]
    return text.where(text.isin(top), "(other)").to_numpy(object)


def slice_metrics(labels: np.ndarray, loss: np.ndarray, pred, y, task: str) -> list[dict]:
    """Rows, mean loss and accuracy (classification) or MAE/RMSE (regression) per slice,
    the slices in order of their mean loss, worst first."""
    rows = []
    for name in pd.unique(labels):
        m = labels == name
        row = {"slice": str(name), "rows": int(m.sum()), "loss": float(loss[m].mean())}
        if task in ("binary", "multiclass"):
            row["accuracy"] = float((pred[m] == y[m]).mean())
        elif task == "multilabel":  # every label of a row right (scikit-learn's subset accuracy)
            row["accuracy"] = float(((pred[m] > 0.5) == (y[m] > 0.5)).all(1).mean())
        else:
            res = np.asarray(pred[m], np.float64) - y[m]
            row["mae"] = float(np.abs(res).mean())
            row["rmse"] = float(np.sqrt((res**2).mean()))
        rows.append(row)
    return sorted(rows, key=lambda r: -r["loss"])
