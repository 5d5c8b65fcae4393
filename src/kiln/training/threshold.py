"""``data.threshold=auto``: a binary model's decision threshold chosen on the validation split.

kiln maximises balanced accuracy (the mean of the two classes' recalls): unlike F1 it does not
depend on which label kiln happens to call positive (the second in sorted order), and on an
imbalanced target it gives the rare class the same say as the common one. The cut is chosen
on the validation predictions of every epoch that improves the monitored metric, so the best
checkpoint holds the cut chosen for its own weights.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


def balanced_accuracy_cut(p: np.ndarray, y: np.ndarray) -> float | None:
    """The cut t (label 1 where p > t) that maximises balanced accuracy on (p, y), among 0.5
    and the midpoints between consecutive distinct scores; of equal ones, the nearest to 0.5.
    None when ``y`` lacks a class (balanced accuracy is then undefined)."""
    p, y = np.asarray(p, dtype=np.float64).ravel(), np.asarray(y).ravel().astype(bool)
    pos, neg = np.sort(p[y]), np.sort(p[~y])
    if not len(pos) or not len(neg):
        return None
    values = np.unique(p)
    cuts = np.concatenate([[0.5], (values[:-1] + values[1:]) / 2])
    true_pos = len(pos) - np.searchsorted(pos, cuts, side="right")
    true_neg = np.searchsorted(neg, cuts, side="right")
    score = (true_pos / len(pos) + true_neg / len(neg)) / 2
    best = np.flatnonzero(score == score.max())
    return float(cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]])


class ValidationScores(Metric):
    """The validation split's probabilities and targets of one epoch, gathered over processes."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("probs", [], dist_reduce_fx="cat")
        self.add_state("targets", [], dist_reduce_fx="cat")

    def update(self, probs: torch.Tensor, targets: torch.Tensor) -> None:
        self.probs.append(probs.detach().flatten().float())
        self.targets.append(targets.detach().flatten())

    def compute(self) -> float | None:
        if not self.probs:
            return None
        p, y = dim_zero_cat(self.probs), dim_zero_cat(self.targets)
        return balanced_accuracy_cut(p.cpu().numpy(), y.cpu().numpy())
