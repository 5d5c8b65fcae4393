"""Which metrics a split cannot define, so kiln reports them as missing instead of a number.

torchmetrics answers AUROC on a split holding one class with 0.0 (and a warning), which reads
as the worst possible model. scikit-learn is the rule: ``roc_auc_score`` raises when a class is
absent from the targets, ``f1_score`` warns (undefined) when a binary split has no positive
target and no positive prediction, ``r2_score`` when the target does not vary. Such a metric is
not logged: it is absent from TensorBoard and metrics.json (``undefined_metrics`` there names
it and why), and the final table prints it as ``missing``.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class TargetTally(Metric):
    """Per split: rows of each class and predicted positives (classification), or the count,
    sum and sum of squares of the target (regression), summed over batches and processes."""

    full_state_update = False

    def __init__(self, task: str, num_classes: int) -> None:
        super().__init__()
        self.task = task
        self.threshold = (
            0.5  # a binary model's decision threshold (kiln.training.metrics.set_threshold)
        )
        size = 2 if task == "binary" else (num_classes if task == "multiclass" else 3)
        self.add_state("tally", torch.zeros(size, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("positives", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, y: torch.Tensor) -> None:
        if self.task in ("binary", "multiclass"):
            counts = torch.bincount(y.flatten().long(), minlength=len(self.tally))
            self.tally += counts[: len(self.tally)].to(self.tally)
            if self.task == "binary":
                self.positives += (pred.flatten() > self.threshold).sum().to(self.positives)
        else:
            y = y.flatten().double()
            self.tally += torch.stack([y.new_tensor(float(len(y))), y.sum(), (y * y).sum()])

    def compute(self) -> tuple[torch.Tensor, float]:
        return self.tally.clone(), float(self.positives)


def undefined(task: str, tallied: tuple[torch.Tensor, float], split: str,
              class_names: list[str] | None = None) -> dict[str, str]:  # fmt: skip
    """{metric name (without stage): why it is undefined on ``split``}, from a tally's compute."""
    tally, positives = tallied
    out = {}
    if task in ("binary", "multiclass"):
        names = class_names or [str(i) for i in range(len(tally))]
        absent = [names[i] for i, c in enumerate(tally.tolist()) if c == 0]
        if absent:  # balanced_acc: torchmetrics counts the class's recall as 0, sklearn drops it
            why = f"the {split} split has no row of class {', '.join(absent)}"
            out.update({"auroc": why, "pr_auc": why, "balanced_acc": why})
        if task == "binary" and tally[1] == 0 and positives == 0:
            out["f1"] = f"the {split} split has no positive row and none was predicted"
    elif task in ("regression", "forecast"):
        n, s, ss = tally.tolist()
        if n < 2 or ss / n - (s / n) ** 2 <= 1e-12 * max(1.0, ss / n):
            out["r2"] = f"the {split} split's target does not vary"
    return out
