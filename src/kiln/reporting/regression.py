"""The numbers behind a regressor's plots: residual statistics and error by target decile."""

from __future__ import annotations

import numpy as np

from kiln.reporting.classification import bin_index


def residual_stats(pred: np.ndarray, y: np.ndarray) -> dict:
    """Residual = prediction - target: its mean (bias) and spread, MAE, RMSE, R2 and the
    50th/90th/99th percentiles of the absolute error."""
    pred, y = np.asarray(pred, np.float64), np.asarray(y, np.float64)
    res = pred - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    q50, q90, q99 = np.percentile(np.abs(res), [50, 90, 99]) if len(res) else (np.nan,) * 3
    return {
        "rows": len(y),
        "bias": float(res.mean()),
        "residual_std": float(res.std()),
        "mae": float(np.abs(res).mean()),
        "rmse": float(np.sqrt((res**2).mean())),
        "r2": None if ss_tot == 0 else float(1 - (res**2).sum() / ss_tot),
        "abs_error_p50": float(q50),
        "abs_error_p90": float(q90),
        "abs_error_p99": float(q99),
    }


def quantile_bins(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(edges, bin of each value): equal-count bins by the values' quantiles, right-closed as
    pandas.qcut cuts them; tied edges merge, so a column of few values gets fewer bins."""
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return np.array([edges[0], edges[0]]), np.zeros(len(values), dtype=int)
    return edges, bin_index(values, edges)


def error_by_decile(pred: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """MAE, RMSE and bias of the rows in each decile of the target: where the model fails."""
    pred, y = np.asarray(pred, np.float64), np.asarray(y, np.float64)
    edges, k = quantile_bins(y, bins)
    rows = []
    for b in range(len(edges) - 1):
        res = pred[k == b] - y[k == b]
        if len(res) == 0:
            continue
        rows.append(
            {
                "bin": b,
                "target_from": float(edges[b]),
                "target_to": float(edges[b + 1]),
                "rows": len(res),
                "mae": float(np.abs(res).mean()),
                "rmse": float(np.sqrt((res**2).mean())),
                "bias": float(res.mean()),
            }
        )
    return rows
