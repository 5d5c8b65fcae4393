"""The report's sections, each computed from a model's answers on the test split: numbers
for evaluation.json and the figures that draw them."""

from __future__ import annotations

import numpy as np

from kiln.reporting import classification as cls
from kiln.reporting import figures
from kiln.reporting.collect import Answers
from kiln.reporting.regression import error_by_decile, residual_stats


def uncalibrated(probs: np.ndarray, temperature: float, task: str) -> np.ndarray:
    """The probabilities before temperature scaling: logits / T undone from the answers
    (softmax(T log p) = softmax(z) and sigmoid(T logit p) = sigmoid(z))."""
    p = probs.astype(np.float64)
    if task == "binary":
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return 1 / (1 + np.exp(-temperature * (np.log(p) - np.log1p(-p))))
    z = temperature * np.log(np.clip(p, 1e-300, 1.0))
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    from kiln.reporting.collect import row_loss

    return float(row_loss(probs, y, "binary" if probs.ndim == 1 else "multiclass").mean())


def calibration(probs, y, temperature: float, bins: int) -> dict:
    """ECE, Brier score, NLL and reliability bins of the answers; with a fitted temperature,
    the same of the probabilities before it."""

    def scores(p: np.ndarray) -> dict:
        rel = cls.reliability(*cls.calibration_inputs(p, y), bins)
        return {"ece": rel["ece"], "brier": cls.brier(p, y), "nll": _nll(p, y), "reliability": rel}

    out = {"temperature": temperature, **scores(probs)}
    if temperature != 1.0:
        out["before"] = scores(
            uncalibrated(probs, temperature, "binary" if probs.ndim == 1 else "")
        )
    return out


def classification(ans: Answers, spec, temperature: float, cut: float | None, bins: int):
    names = list(spec.class_names or [str(i) for i in range(spec.num_outputs)])
    if spec.task == "binary" and len(names) < 2:
        names = ["0", "1"]
    matrix = cls.confusion(ans.label, ans.y, len(names))
    found = cls.curves(ans.out, ans.y, names)
    cal = calibration(ans.out, ans.y, temperature, bins)
    section = {
        "accuracy": float((ans.label == ans.y).mean()),
        "confusion_matrix": {"classes": names, "counts": matrix.tolist()},
        "per_class": cls.per_class(matrix, names),
        "curves": found,
        "calibration": cal,
    }
    figs = {"confusion_matrix": figures.confusion_matrix(matrix, names)}
    if found:
        figs["roc"] = figures.curves(found, "roc")
        figs["precision_recall"] = figures.curves(found, "pr")
    figs["reliability"] = figures.reliability(
        cal["reliability"], cal.get("before", {}).get("reliability"), spec.task == "binary"
    )
    if spec.task == "binary":
        section["decision_threshold"] = cut
        section["thresholds"] = cls.threshold_sweep(ans.out, ans.y)
        figs["thresholds"] = figures.thresholds(section["thresholds"], cut or 0.5)
    return section, figs


def regression(ans: Answers):
    pred, y = ans.out.reshape(-1).astype(np.float64), ans.y.reshape(-1).astype(np.float64)
    res = pred - y
    section = {"residuals": residual_stats(pred, y), "error_by_decile": error_by_decile(pred, y)}
    deciles = section["error_by_decile"]
    figs = {
        "predicted_vs_actual": figures.scatter(y, pred, "actual", "predicted", diagonal=True),
        "residuals_vs_predicted": figures.scatter(
            pred, res, "predicted", "residual (predicted - actual)", diagonal=False
        ),
        "residual_histogram": figures.histogram(res, "residual (predicted - actual)"),
        "error_by_decile": figures.bars(
            [f"{d['target_from']:.3g} to {d['target_to']:.3g}" for d in deciles],
            [d["mae"] for d in deciles],
            "mean absolute error, by decile of the target",
        ),
    }
    return section, figs
