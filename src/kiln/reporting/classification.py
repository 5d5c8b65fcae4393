"""The numbers behind a classifier's plots: reliability bins, ECE and Brier score, ROC and
precision-recall curves (scikit-learn's, thinned), per-class precision/recall/F1 and, for a
binary model, its metrics across decision thresholds. Plain numpy in, JSON-ready dicts out."""

from __future__ import annotations

import numpy as np

CURVE_POINTS = 200  # the most points a curve keeps (every one of them on scikit-learn's curve)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value: bin k holds (edges[k], edges[k+1]]; the lowest edge falls in bin 0."""
    return np.clip(np.searchsorted(edges, values, side="left") - 1, 0, len(edges) - 2)


def reliability(prob: np.ndarray, outcome: np.ndarray, bins: int = 15) -> dict:
    """Equal-width bins of the predicted probability: rows, mean probability and observed
    frequency per bin, and ECE = sum over bins of rows/N * |frequency - mean probability|.

    Multiclass: ``prob`` is the top class's probability and ``outcome`` whether it was right;
    binary: the positive class's probability and whether the row is positive."""
    prob, outcome = np.asarray(prob, np.float64), np.asarray(outcome, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    k = bin_index(prob, edges)
    count = np.bincount(k, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(k, prob, minlength=bins) / count
        freq = np.bincount(k, outcome, minlength=bins) / count
    gap = np.where(count > 0, np.abs(freq - conf), 0.0)
    ece = float((count * gap).sum() / max(len(prob), 1))
    return {
        "edges": edges.tolist(),
        "count": count.astype(int).tolist(),
        "confidence": [None if c == 0 else float(v) for c, v in zip(count, conf, strict=True)],
        "frequency": [None if c == 0 else float(v) for c, v in zip(count, freq, strict=True)],
        "ece": ece,
    }


def calibration_inputs(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probability, outcome) a reliability diagram bins: see ``reliability``."""
    if probs.ndim == 1:
        return probs, (y == 1).astype(np.float64)
    return probs.max(1), (probs.argmax(1) == y).astype(np.float64)


def brier(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared distance between the probabilities and the one-hot label (binary: (p - y)^2)."""
    if probs.ndim == 1:
        return float(np.mean((probs.astype(np.float64) - y) ** 2))
    onehot = np.eye(probs.shape[1])[y]
    return float(np.mean(((probs.astype(np.float64) - onehot) ** 2).sum(1)))


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).round().astype(int))
    return [a[keep].astype(np.float64).tolist() for a in arrays]


def curves(probs: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    """ROC and precision-recall curves, one-vs-rest per class (binary: the positive class),
    from scikit-learn, thinned to CURVE_POINTS; a class absent from ``y`` has none."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    scores = {names[1]: probs} if probs.ndim == 1 else dict(zip(names, probs.T, strict=False))
    positive = {names[1]: y == 1} if probs.ndim == 1 else {n: y == k for k, n in enumerate(names)}
    out: dict = {}
    for name, s in scores.items():
        truth = positive[name]
        if truth.all() or not truth.any():
            continue
        fpr, tpr, _ = roc_curve(truth, s)
        precision, recall, _ = precision_recall_curve(truth, s)
        fpr_t, tpr_t = _thin(fpr, tpr)
        rec_t, prec_t = _thin(recall[::-1], precision[::-1])
        out[name] = {
            "roc": {"fpr": fpr_t, "tpr": tpr_t, "auc": float(auc(fpr, tpr))},
            "pr": {
                "recall": rec_t,
                "precision": prec_t,
                "average_precision": float(average_precision_score(truth, s)),
            },
        }
    return out


def confusion(pred: np.ndarray, y: np.ndarray, classes: int) -> np.ndarray:
    """[true, predicted] counts."""
    return np.bincount(y * classes + pred, minlength=classes * classes).reshape(classes, classes)


def _ratio(a: np.ndarray, b: np.ndarray) -> list[float | None]:
    return [None if d == 0 else float(n / d) for n, d in zip(a, b, strict=True)]


def per_class(matrix: np.ndarray, names: list[str]) -> list[dict]:
    """Precision, recall and F1 of each class from the confusion matrix; a ratio with nothing
    to divide by (no row predicted, or none true) is missing (None), never 0 (scikit-learn's
    rule with zero_division=nan)."""
    tp = np.diag(matrix).astype(np.float64)
    predicted, true = matrix.sum(0), matrix.sum(1)
    precision, recall = _ratio(tp, predicted), _ratio(tp, true)
    f1 = _ratio(2 * tp, predicted + true)  # 2tp / (2tp + fp + fn): missing only with neither
    rows = []
    for k, name in enumerate(names):
        rows.append(
            {
                "class": name,
                "precision": precision[k],
                "recall": recall[k],
                "f1": f1[k],
                "support": int(true[k]),
            }  # fmt: skip
        )
    return rows


def threshold_sweep(prob: np.ndarray, y: np.ndarray, steps: int = 19) -> list[dict]:
    """A binary model's metrics if it cut at each threshold t (label 1 where p > t, as kiln's
    decision threshold): precision, recall, F1, accuracy, balanced accuracy, positive rate."""
    prob = np.asarray(prob, np.float64)
    pos, neg = np.sort(prob[y == 1]), np.sort(prob[y != 1])
    n_pos, n_neg = len(pos), len(neg)
    rows = []
    for t in np.round(np.linspace(0, 1, steps + 2)[1:-1], 4):
        tp = n_pos - np.searchsorted(pos, t, side="right")
        fp = n_neg - np.searchsorted(neg, t, side="right")
        tn = n_neg - fp
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / n_pos if n_pos else None
        f1 = (
            None
            if precision is None or recall is None
            else (0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
        )
        tnr = tn / n_neg if n_neg else None
        rows.append(
            {
                "threshold": float(t),
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "accuracy": float((tp + tn) / max(n_pos + n_neg, 1)),
                "balanced_accuracy": None if recall is None or tnr is None else (recall + tnr) / 2,
                "positive_rate": float((tp + fp) / max(n_pos + n_neg, 1)),
            }
        )
    return [{k: (float(v) if v is not None else None) for k, v in r.items()} for r in rows]
