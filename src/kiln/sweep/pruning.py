"""Reports the objective to the running Optuna trial each validation epoch and stops poor
trials early (kiln's own; optuna-integration's callback raises out of ``fit``, which would
skip the test of the best checkpoint and the run directory's metrics).

The worker sets ``ACTIVE`` to the trial it is running in this process; the callback is
built from the trial's config like any other (``callbacks.sweep_pruning``).
"""

from __future__ import annotations

import logging
import math

import lightning as L

log = logging.getLogger("kiln")

ACTIVE: dict = {"trial": None, "pruned_at": None}  # the trial this process runs now


class ReportToTrial(L.Callback):
    """``trial.report(metric, epoch)``; when the pruner says so, training stops after this
    epoch and the worker records the trial as pruned."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trial = ACTIVE["trial"]
        if trial is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        value = trainer.callback_metrics.get(self.metric)
        if value is None:
            return
        value = float(value)
        if math.isnan(value):
            return
        epoch = trainer.current_epoch
        trial.report(value, step=epoch)
        if trial.should_prune():
            ACTIVE["pruned_at"] = epoch
            trial.set_user_attr("pruned_at_epoch", epoch)
            log.info(
                "trial %d pruned after epoch %d (%s %.4f)",
                trial.number,
                epoch + 1,
                self.metric,
                value,
            )
            trainer.should_stop = True
