"""torchmetrics collections per task, named as kiln logs them (`stage/name`)."""

from __future__ import annotations

import torch
from torchmetrics import (
    ClasswiseWrapper,
    MeanAbsoluteError,
    MeanSquaredError,
    MetricCollection,
    R2Score,
)
from torchmetrics.classification import (
    AUROC,
    Accuracy,
    AveragePrecision,
    F1Score,
    MulticlassAccuracy,
)

from kiln.errors import KilnError

# the way each logged metric improves; a monitor.mode against it would keep the worst checkpoint
BETTER = {"loss": "min", "mae": "min", "rmse": "min", "acc": "max", "f1": "max", "auroc": "max", "r2": "max",
          "balanced_acc": "max", "pr_auc": "max", "f1_micro": "max"}  # fmt: skip


def improves(metric: str, default: str | None = None) -> str | None:
    """min or max: which way ``stage/name`` (or its ``_best``) improves; ``default`` if unknown."""
    return BETTER.get(str(metric).split("/", 1)[-1].removesuffix("_best"), default)


def metric_names(task: str, stage: str, loss: bool = True) -> list[str]:
    """``stage/name`` of every metric kiln logs for the task at that stage."""
    names = (["loss"] if loss else []) + list(task_metrics(task, 2).keys())
    return [f"{stage}/{n}" for n in names]


class BinaryBalancedAccuracy(MulticlassAccuracy):
    """Balanced accuracy (the mean recall of the two classes) of P(class 1) cut at
    ``threshold``, like torchmetrics' binary metrics (label 1 where the probability exceeds it)."""

    def __init__(self, threshold: float = 0.5) -> None:
        super().__init__(num_classes=2, average="macro")
        self.threshold = threshold

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        super().update((preds > self.threshold).long(), target)


def set_threshold(metrics: MetricCollection, value: float) -> None:
    """Cut a binary collection's probabilities at ``value`` (the model's decision threshold)."""
    for metric in metrics.values(copy_state=False):
        if hasattr(metric, "threshold"):
            metric.threshold = float(value)


def task_metrics(task: str, num_classes: int, ranking: bool = True) -> MetricCollection:
    """acc, balanced_acc, f1 (macro) and auroc and pr_auc (average precision, macro over the
    classes one against the rest) for classification; mae, rmse and r2 for regression.

    Classification metrics take probabilities (softmax, or sigmoid for binary); regression
    metrics take predictions on the target's original scale. ``ranking=False`` leaves out
    AUROC and PR-AUC, which keep every prediction of the epoch (costly on the training split).
    """
    if task == "multiclass":
        kw = {"task": "multiclass", "num_classes": num_classes}
        metrics = {
            "acc": Accuracy(**kw),
            "balanced_acc": Accuracy(average="macro", **kw),
            "f1": F1Score(average="macro", **kw),
        }
        if ranking:
            metrics["auroc"] = AUROC(average="macro", **kw)
            metrics["pr_auc"] = AveragePrecision(average="macro", **kw)
        return MetricCollection(metrics)
    if task == "multilabel":
        return multilabel_metrics(num_classes, ranking)
    if task == "binary":
        metrics = {
            "acc": Accuracy(task="binary"),
            "balanced_acc": BinaryBalancedAccuracy(),
            "f1": F1Score(task="binary"),
        }
        if ranking:
            metrics["auroc"] = AUROC(task="binary")
            metrics["pr_auc"] = AveragePrecision(task="binary")
        return MetricCollection(metrics)
    return MetricCollection(
        {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False), "r2": R2Score()}
    )


def multilabel_metrics(labels: int, ranking: bool = True) -> MetricCollection:
    """Several 0/1 labels a row: acc (each label right, averaged), f1 (macro), f1_micro and,
    per label k, f1_<k> (scikit-learn's f1_score(average=None), tests/text); auroc and pr_auc
    macro over the labels."""
    kw = {"task": "multilabel", "num_labels": labels}
    metrics = {
        "acc": Accuracy(**kw),
        "f1": F1Score(average="macro", **kw),
        "f1_micro": F1Score(average="micro", **kw),
        "f1_label": ClasswiseWrapper(
            F1Score(average="none", **kw), labels=[str(k) for k in range(labels)], prefix="f1_"
        ),
    }
    if ranking:
        metrics["auroc"] = AUROC(average="macro", **kw)
        metrics["pr_auc"] = AveragePrecision(average="macro", **kw)
    return MetricCollection(metrics)


def check_ranking_metric(metric: str, task: str, baselines: bool) -> str:
    """A leaderboard's metric must be measured on the test split for every candidate (the
    scikit-learn baselines have no loss); returns the direction that ranks it."""
    allowed = metric_names(task, "test", loss=not baselines)
    if metric not in allowed:
        why = " (the baselines have no loss)" if baselines and metric == "test/loss" else ""
        raise KilnError(
            f"metric={metric} is not measured on the test split of every candidate for a "
            f"{task} task{why}; use one of {', '.join(allowed)}."
        )
    return improves(metric)


def final_metric_names(monitor_metric: str, test: bool = True) -> list[str]:
    """The metrics ``kiln train`` returns at the end of a run: the monitor's ``_best`` and, with
    ``test``, the test metrics of every task whose validation logs the monitor (a classifier's
    for val/f1, a regressor's for val/rmse, both for val/loss; the task itself comes with the
    data)."""
    tasks = [t for t in ("multiclass", "regression") if monitor_metric in metric_names(t, "val")]
    out = [f"{monitor_metric}_best"]
    for task in (tasks or ["multiclass", "regression"]) if test else []:
        out += [m for m in metric_names(task, "test") if m not in out]
    return out


# figures a kiln train run returns beside its metrics (tasks/train.py's summary, Throughput)
RUN_FIGURES = (
    "epochs",
    "global_step",
    "fit_seconds",
    "train_samples",
    "train_samples_per_s",
    "train_tokens_per_s",
    "peak_gpu_memory_mib",
)


def to_python(metrics: dict) -> dict[str, float]:
    """Tensors and numpy scalars to plain floats, for JSON and printing."""
    return {k: float(v.item() if isinstance(v, torch.Tensor) else v) for k, v in metrics.items()}


def check_monitor(monitor, task: str, extra: dict[str, str | None] | None = None) -> None:
    """monitor.metric must be a validation metric of the task (or a user's, ``extra``: name ->
    its direction, None when unknown), and monitor.mode its direction."""
    metric, mode = monitor.get("metric"), monitor.get("mode")
    extra = extra or {}
    logged = metric_names(task, "val") + [f"val/{n}" for n in extra]
    if metric not in logged:
        lower = [m.split("/")[1] for m in logged if improves(m) == "min"]
        hint = f" (monitor.mode=min for {', '.join(lower)})"
        raise KilnError(
            f"monitor.metric={metric!r} is not logged in validation for a {task} task; "
            f"use one of {', '.join(logged)}{hint}."
        )
    expected = improves(metric) or extra.get(str(metric).split("/", 1)[-1])
    if expected is not None and mode != expected:
        raise KilnError(
            f"monitor.metric={metric} improves as it gets {'smaller' if expected == 'min' else 'larger'} "
            f"but monitor.mode={mode}; set monitor.mode={expected}."
        )
