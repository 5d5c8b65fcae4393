"""A user's loss and metrics from config (docs/extending.md), checked before training starts.

``loss`` (one ``_target_`` node, e.g. ``+loss._target_=mypkg.FocalLoss``) replaces the task's
loss: it is called as ``loss(output, target)`` with what kiln's own loss gets (logits (N, C) and
class ids for multiclass; logits (N,) and 0/1 floats for binary; the standardised prediction and
target for regression), and returns a scalar. ``metrics.<name>`` (each a torchmetrics Metric)
joins the validation and test metrics as ``val/<name>`` and ``test/<name>``, fed what kiln's
own metrics get: probabilities for classification, values on the target's scale for regression.
"""

from __future__ import annotations

from torch import nn
from torchmetrics import Metric

from kiln.errors import KilnError
from kiln.training.metrics import BETTER, task_metrics


def build_loss(cfg, build) -> nn.Module | None:
    """The ``loss`` node built (``build``: builders.build), or None for the task's own loss."""
    node = cfg.get("loss")
    if node is None:
        return None
    loss = build(node, "loss")
    if not callable(loss):
        raise KilnError(
            f"loss._target_ built a {type(loss).__name__}, which cannot be called; name an "
            "nn.Module or a function of (output, target)."
        )
    return loss if isinstance(loss, nn.Module) else _Wrapped(loss)


class _Wrapped(nn.Module):
    """A plain loss function as a module (no state), so KilnModule holds either the same way."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, z, y):
        return self.fn(z, y)


def build_metrics(cfg, build, task: str) -> dict[str, Metric]:
    """``metrics.<name>`` built, each a torchmetrics Metric whose name is not one of kiln's."""
    nodes = cfg.get("metrics") or {}
    own = set(task_metrics(task, 2).keys()) | {"loss"}
    out: dict[str, Metric] = {}
    for name, node in nodes.items():
        if node is None:
            continue
        if name in own or "/" in str(name):
            raise KilnError(
                f"metrics.{name} names a metric kiln already logs (or has a /); give yours another name, e.g. metrics.my_{name}."
            )
        metric = build(node, f"metrics.{name}")
        if not isinstance(metric, Metric):
            raise KilnError(
                f"metrics.{name} built a {type(metric).__name__}, not a torchmetrics Metric; name a "
                "torchmetrics.Metric class (docs/extending.md)."
            )
        out[str(name)] = metric
    return out


def directions(metrics: dict[str, Metric]) -> dict[str, str]:
    """min or max for each user metric, from its ``higher_is_better`` (None: not monitorable)."""
    out = {}
    for name, metric in metrics.items():
        better = getattr(metric, "higher_is_better", None)
        if better is not None and name not in BETTER:
            out[name] = "max" if better else "min"
    return out
