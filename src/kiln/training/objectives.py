"""What a step optimises and the running score it reports: the task's loss (or a user's, given
what the task's own is given) and the training split's accuracy or absolute error."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kiln.data.spec import InputSpec
from kiln.errors import KilnError


def loss_weights(spec: InputSpec, loss_fn: nn.Module | None) -> Tensor | None:
    """The class weights of ``data.class_weight`` (``spec.extra["class_weights"]``) as a
    tensor, or None; they weigh kiln's own loss, so a user's loss cannot take them."""
    weights = spec.extra.get("class_weights")
    if weights and loss_fn is not None:
        raise KilnError(
            "data.class_weight weighs kiln's own loss and loss._target_ replaces it; drop one."
        )
    return torch.tensor(weights, dtype=torch.float32) if weights else None


def task_loss(
    spec: InputSpec,
    target_scaler,
    loss_fn: nn.Module | None,
    z: Tensor,
    y: Tensor,
    class_weights: Tensor | None = None,
):
    """Cross-entropy (multiclass), BCE with logits (binary), MSE on the standardised target
    (regression, forecast); ``loss_fn`` (``+loss._target_=...``) takes the same arguments.

    ``class_weights`` (one per class, data.class_weight) weigh each row's loss by its class and
    divide by the rows' summed weight, as torch's weighted cross-entropy does; binary follows
    the same rule, so a weight's scale never changes the loss."""
    if loss_fn is not None:
        target = y.float() if spec.task == "binary" else y
        return loss_fn(z.float(), target if spec.is_classification else target_scaler.scale(y))
    if spec.task == "multiclass":
        return F.cross_entropy(z.float(), y, weight=class_weights)
    if spec.task == "multilabel":  # y: [N, labels] of 0/1
        return F.binary_cross_entropy_with_logits(z.float(), y.float())
    if spec.task == "binary":
        if class_weights is None:
            return F.binary_cross_entropy_with_logits(z.float(), y.float())
        w = class_weights[y.long()]
        each = F.binary_cross_entropy_with_logits(z.float(), y.float(), reduction="none")
        return (each * w).sum() / w.sum()
    return F.mse_loss(z.float(), target_scaler.scale(y))


def train_score(spec: InputSpec, target_scaler, z: Tensor, y: Tensor) -> Tensor:
    """Correct predictions (classification) or summed absolute error (regression)."""
    if spec.task == "multiclass":
        return (z.argmax(-1) == y).sum()
    if spec.task == "binary":
        return ((z > 0).long() == y).sum()
    if spec.task == "multilabel":  # the share of each row's labels right
        return ((z > 0).float() == y.float()).float().mean(1).sum()
    err = (target_scaler(z.float()) - y).abs()
    return (err.flatten(1).mean(1) if err.ndim > 1 else err).sum()  # forecast: per step


def each_member(z: Tensor, y: Tensor, members: int) -> tuple[Tensor, Tensor]:
    """An ensemble's training output [N, k, ...] as N * k rows, each with its row's target:
    every member is scored on its own loss (TabM), not on the ensemble's mean."""
    return z.flatten(0, 1), y.repeat_interleave(members, 0)
