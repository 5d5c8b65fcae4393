"""Validation, test and prediction steps of ``KilnModule``: torchmetrics collections per
stage, the best-so-far monitored value, and the plateau schedule fed after validation."""

from __future__ import annotations

import math

from torch import Tensor

from kiln.errors import KilnError
from kiln.models.pipeline import decision_for
from kiln.training.metrics import set_threshold
from kiln.training.threshold import ValidationScores
from kiln.training.undefined_metrics import undefined


class EvalSteps:
    """Mixin for ``KilnModule``: uses its ``raw_output``, ``loss``, ``to_prediction``, the
    metric collections it builds in ``__init__``, ``monitor`` and ``best``."""

    def init_decision(self, spec) -> None:
        """A binary model's cut (``decision``, a buffer), the cut validation scores with (the
        fixed one, or 0.5 until data.threshold=auto chooses), and auto's validation scores."""
        self.decision = decision_for(spec)
        auto = spec.extra.get("decision_threshold") == "auto"
        self.val_scores = ValidationScores() if auto and self.decision is not None else None
        self.val_cut = float(self.decision.value) if self.decision is not None else 0.5
        set_threshold(self.val_metrics, self.val_cut)

    def _eval_step(self, batch, metrics, loss_metric, tally, scores=None) -> Tensor:
        x, y = self.split_batch(batch)
        z = self.raw_output(x)
        loss_metric.update(self.loss(z, y), weight=len(y))
        pred = self.to_prediction(z)
        if scores is not None:  # data.threshold=auto: the cut is chosen on these
            scores.update(pred, y)
        tally.update(pred, y)
        if self.spec.task == "forecast":  # every (sample, step) value counts once
            metrics.update(pred.flatten(), y.flatten())
        else:
            metrics.update(pred, y)
        return pred

    def validation_step(self, batch, batch_idx: int) -> Tensor:
        args = (self.val_metrics, self.val_loss, self.val_tally, self.val_scores)
        return self._eval_step(batch, *args)

    def on_validation_epoch_start(self) -> None:
        if self.decision is not None:  # the cut validation scores with: fixed, or 0.5 for auto
            self.val_tally.threshold = self.val_cut

    def _defined(self, stage: str, split: str, metrics, loss_metric, tally) -> dict:
        """The stage's metrics without those the split cannot define (``self.undefined``)."""
        values = {f"{stage}/loss": loss_metric.compute(), **metrics.compute()}
        gaps = undefined(self.spec.task, tally.compute(), split, self.spec.class_names)
        self.undefined = {k: v for k, v in self.undefined.items() if not k.startswith(stage)}
        self.undefined.update({f"{stage}/{k}": why for k, why in gaps.items()})
        for m in (loss_metric, metrics, tally):
            m.reset()
        return {k: v for k, v in values.items() if k not in self.undefined}

    def on_validation_epoch_end(self) -> None:
        args = (self.val_metrics, self.val_loss, self.val_tally)
        values = self._defined("val", "validation", *args)
        self.log_dict(values, prog_bar=True)
        name = self.monitor["metric"]
        if name in self.undefined:
            raise KilnError(
                f"monitor.metric={name} is undefined: {self.undefined[name]}; monitor val/loss or give the validation split rows of every class."
            )
        if name not in values:
            raise KilnError(
                f"monitor.metric={name!r} is not logged in validation; use one of {', '.join(sorted(values))}."
            )
        cut = self.val_scores.compute() if self.val_scores is not None else None
        if self.val_scores is not None:
            self.val_scores.reset()
        if self.trainer.sanity_checking:
            return
        current = float(values[name])
        if math.isnan(current):
            raise KilnError(
                f"{name} became NaN; lower optimizer.lr or set trainer.gradient_clip_val."
            )
        self.step_plateau(current)
        better = max if self.monitor["mode"] == "max" else min
        improved = self.best is None or (better(self.best, current) == current != self.best)
        if improved and cut is not None:  # the checkpoint saved for this epoch holds its cut
            self.decision.value.fill_(cut)
        self.best = current if self.best is None else better(self.best, current)
        self.log(f"{name}_best", self.best, prog_bar=True)

    def test_step(self, batch, batch_idx: int) -> None:
        pred = self._eval_step(batch, self.test_metrics, self.test_loss, self.test_tally)
        if self.confusion is not None:
            self.confusion.update(pred, batch[-1])

    def on_test_epoch_start(self) -> None:
        if self.decision is not None:  # the model's cut, as predict and serve apply it
            cut = float(self.decision.value)
            set_threshold(self.test_metrics, cut)
            self.test_tally.threshold = self.confusion.threshold = cut

    def on_test_epoch_end(self) -> None:
        self.log_dict(
            self._defined("test", "test", self.test_metrics, self.test_loss, self.test_tally)
        )

    def predict_step(self, batch, batch_idx: int) -> Tensor:
        """Batches of (*inputs, target) as from the data module, or inputs alone."""
        if (
            isinstance(batch, (tuple, list))
            and len(batch) > 1
            and len(batch) == self.inputs_per_batch + 1
        ):
            batch = batch[:-1]
        x = batch if isinstance(batch, Tensor) else (batch[0] if len(batch) == 1 else tuple(batch))
        return self.to_prediction(self.raw_output(x))
