"""The report's figures (matplotlib, Agg): each a function of numbers the other modules of
kiln.reporting computed and tested, returning a Figure the report saves and logs."""

from __future__ import annotations

import numpy as np

SCATTER_POINTS = 5000  # a scatter plot draws at most these rows (a seeded sample)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fig(w: float = 5.0, h: float = 4.0):
    fig, ax = pyplot().subplots(figsize=(w, h), layout="constrained")  # laid out as it draws
    return fig, ax


def confusion_matrix(matrix: np.ndarray, names: list[str]):
    n = len(names)
    fig, ax = _fig(2 + 0.45 * n, 1.6 + 0.45 * n)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=90)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        top = matrix.max() or 1
        for i in range(n):
            for j in range(n):
                color = "white" if matrix[i, j] > top / 2 else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    return fig


def curves(found: dict, kind: str):
    """ROC (kind "roc") or precision-recall ("pr") curves of each class."""
    fig, ax = _fig()
    for name, c in list(found.items())[:12]:
        if kind == "roc":
            ax.plot(c["roc"]["fpr"], c["roc"]["tpr"], label=f"{name} (AUC {c['roc']['auc']:.3f})")
        else:
            ap = c["pr"]["average_precision"]
            ax.plot(c["pr"]["recall"], c["pr"]["precision"], label=f"{name} (AP {ap:.3f})")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate" if kind == "roc" else "recall")
    ax.set_ylabel("true positive rate" if kind == "roc" else "precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
    return fig


def reliability(after: dict, before: dict | None, binary: bool):
    """Observed frequency against mean predicted probability per bin, after calibration and
    (when a temperature was fitted) before."""
    fig, ax = _fig()
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    for rel, label, style in ((before, "before calibration", "s--"), (after, "model", "o-")):
        if rel is None:
            continue
        pts = [
            (c, f)
            for c, f in zip(rel["confidence"], rel["frequency"], strict=True)
            if c is not None
        ]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, style, ms=4, label=f"{label} (ECE {rel['ece']:.4f})")
    ax.set_xlabel(
        "mean predicted probability" + (" (positive class)" if binary else " (top class)")
    )
    ax.set_ylabel("observed frequency" if binary else "accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def thresholds(rows: list[dict], cut: float):
    fig, ax = _fig()
    t = [r["threshold"] for r in rows]
    for key in ("precision", "recall", "f1", "balanced_accuracy"):
        ax.plot(t, [np.nan if r[key] is None else r[key] for r in rows], label=key)
    ax.axvline(cut, color="grey", ls=":", label=f"model's threshold {cut:.3g}")
    ax.set_xlabel("decision threshold")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    return fig


def sample(n: int, seed: int = 0) -> np.ndarray:
    if n <= SCATTER_POINTS:
        return np.arange(n)
    return np.random.default_rng(seed).choice(n, SCATTER_POINTS, replace=False)


def scatter(x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str, diagonal: bool):
    fig, ax = _fig()
    k = sample(len(x))
    ax.scatter(x[k], y[k], s=4, alpha=0.4)
    lo, hi = float(np.nanmin(x[k])), float(np.nanmax(x[k]))
    if diagonal:
        ax.plot([lo, hi], [lo, hi], ":", color="grey")
    else:
        ax.axhline(0, ls=":", color="grey")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def histogram(values: np.ndarray, xlabel: str):
    fig, ax = _fig()
    ax.hist(values, bins=50)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    return fig


def bars(labels: list[str], values: list[float], xlabel: str, errors: list[float] | None = None):
    """Horizontal bars, the first label on top."""
    fig, ax = _fig(6, 1.2 + 0.28 * len(labels))
    ax.barh(range(len(labels)), values, xerr=errors)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    return fig


def thumbnails(images: np.ndarray, captions: list[str]):
    """Images [K, C, H, W] in a row of small panels (grey, RGB, or the first channel)."""
    k = len(images)
    plt = pyplot()
    fig, axes = plt.subplots(1, k, figsize=(1.3 * k, 1.7), squeeze=False, layout="constrained")
    for ax, img, text in zip(axes[0], images, captions, strict=True):
        img = img[:3].transpose(1, 2, 0) if img.shape[0] == 3 else img[0]
        lo, hi = float(img.min()), float(img.max())
        ax.imshow((img - lo) / (hi - lo or 1), cmap="gray" if img.ndim == 2 else None)
        ax.set_title(text, fontsize=6)
        ax.axis("off")
    return fig
