"""The optimisation step of ``KilnModule``: Lightning's manual optimisation, done kiln's way.

Lightning's automatic optimisation wraps each step in a closure and some fifteen hook
calls; on a small network that bookkeeping is a measurable share of the step (docs/
benchmarks.md). kiln steps the optimizer itself instead, doing what the automatic loop does
and in the same order: the loss divided by ``accumulate_grad_batches``, backward (without
the DDP gradient all-reduce on micro-batches that do not step), the precision plugin's
unscaling, clipping in ``on_before_optimizer_step``, the optimizer step, zeroing the
gradients, and the learning-rate schedule per step, per epoch, or on the monitored metric
(plateau). ``trainer.gradient_clip_val``, ``gradient_clip_algorithm`` and
``accumulate_grad_batches`` keep their config names: ``build_module`` hands them to the module
and ``build_trainer`` keeps them from Lightning, which refuses them under manual optimisation.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import Tensor

from kiln.errors import KilnError
from kiln.training import lightning_private
from kiln.training.optim import fused_kwargs, scheduler_kwargs, unwrap

STEP_KEYS = ("gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches")


def adopt_automatic_progress(checkpoint: dict) -> None:
    """A checkpoint written under automatic optimisation (kiln before manual stepping) counts
    its optimizer steps where the manual loop does not look; move the count so that
    ``global_step`` and ``max_steps`` carry on from it when such a run is resumed."""
    loops = checkpoint.get("loops", {}).get("fit_loop", {})
    auto = loops.get("epoch_loop.automatic_optimization.optim_progress", {})
    auto_steps = auto.get("optimizer", {}).get("step")
    key = "epoch_loop.manual_optimization.optim_step_progress"
    manual = loops.get(key)
    if (
        auto_steps
        and manual
        and not manual["total"]["completed"]
        and auto_steps["total"]["completed"]
    ):
        loops[key] = {part: dict(counts) for part, counts in auto_steps.items()}


def trainable(module) -> list:
    """The parameters the optimizer steps: all but those model.freeze froze."""
    everything = list(module.parameters())
    params = [p for p in everything if p.requires_grad]
    if everything and not params:
        raise KilnError("model.freeze froze every parameter, so nothing would train; freeze fewer.")
    return params


class ManualStepping:
    """Mixin for a LightningModule with ``optimizer_factory``, ``scheduler_cfg`` and ``monitor``."""

    def init_stepping(
        self,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str = "norm",
        accumulate_grad_batches: int = 1,
    ) -> None:
        self.automatic_optimization = False
        self.gradient_clip_val = float(gradient_clip_val) if gradient_clip_val else None
        self.gradient_clip_algorithm = str(gradient_clip_algorithm or "norm").lower()
        n = 1 if accumulate_grad_batches is None else accumulate_grad_batches
        if isinstance(n, bool) or not float(n).is_integer() or n < 1:
            raise KilnError(
                f"trainer.accumulate_grad_batches={accumulate_grad_batches} must be a whole number, at least 1."
            )
        self.accumulate_grad_batches = int(n)
        self._pending_micro_batches = 0  # backward passes since the last optimizer step
        if self.gradient_clip_algorithm not in ("norm", "value"):
            raise KilnError(
                f"trainer.gradient_clip_algorithm={gradient_clip_algorithm!r} must be norm or value."
            )

    def optimise(self, loss: Tensor, batch_idx: int) -> None:
        """Backward, and every ``accumulate_grad_batches`` batches (or at the epoch's last) a step."""
        opt = self.optimizers()
        n = self.accumulate_grad_batches
        steps = (
            n == 1 or (batch_idx + 1) % n == 0 or batch_idx + 1 == self.trainer.num_training_batches
        )
        sync = contextlib.nullcontext()
        if not steps and hasattr(self.trainer.strategy, "block_backward_sync"):
            sync = self.trainer.strategy.block_backward_sync()
        with sync:
            self.manual_backward(loss / n if n > 1 else loss)
        if not steps:
            self._pending_micro_batches += 1
            return
        opt.step()  # the precision plugin unscales, then calls on_before_optimizer_step
        opt.zero_grad(set_to_none=True)
        self._pending_micro_batches = 0
        if (self.scheduler_cfg or {}).get("interval") == "step":
            self._scheduler().step()

    def on_validation_model_zero_grad(self) -> None:
        # Lightning zeroes the gradients before each validation; a validation in the middle of
        # an accumulation group (val_check_interval) must not lose the micro-batches so far
        if not self._pending_micro_batches:
            super().on_validation_model_zero_grad()

    def on_before_optimizer_step(self, optimizer) -> None:
        if self.gradient_clip_val:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.gradient_clip_val,
                gradient_clip_algorithm=self.gradient_clip_algorithm,
            )

    def _scheduler(self):
        sched = self.lr_schedulers()
        return sched[0] if isinstance(sched, list) else sched

    def _epoch_completed(self) -> bool:
        """Whether the epoch ran all its batches (max_steps may cut the last one short)."""
        return lightning_private.epoch_ran_all_batches(self.trainer)

    def step_epoch_schedule(self) -> None:
        """At a training epoch's end: epoch-interval schedules other than plateau."""
        cfg = self.scheduler_cfg or {}
        if cfg.get("fn") is None or cfg.get("interval", "epoch") != "epoch":
            return
        if not self._epoch_completed():
            return
        sched = self._scheduler()
        if not isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step()

    def step_plateau(self, value: float) -> None:
        """After the validation at a training epoch's end, a plateau schedule reads the
        monitored metric (validations within an epoch, val_check_interval < 1, do not count)."""
        if (self.scheduler_cfg or {}).get("fn") is None or not self._epoch_completed():
            return
        sched = self._scheduler()
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(value)

    def optimizer_steps_planned(self) -> int:
        """Optimizer steps the whole run will take (what one-cycle's total_steps needs)."""
        trainer = self.trainer
        batches = trainer.estimated_stepping_batches  # batches when nothing accumulates
        n = self.accumulate_grad_batches
        if n == 1:
            return int(batches)
        if trainer.max_epochs is None or trainer.max_epochs < 0:  # bounded by max_steps alone
            return int(trainer.max_steps)
        per_epoch = math.ceil(trainer.num_training_batches / n)
        total = per_epoch * max(int(trainer.max_epochs or 1), 1)
        return (
            min(total, trainer.max_steps) if trainer.max_steps and trainer.max_steps > 0 else total
        )

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise KilnError("No optimizer is configured; add optimizer=adamw (or sgd, adam).")
        # a fused optimizer unscales inside its step, so the precision plugin cannot clip first
        fused = {} if self.gradient_clip_val else fused_kwargs(self.optimizer_factory, self.device)
        try:
            opt = self.optimizer_factory(params=trainable(self), **fused)
        except (TypeError, ValueError) as err:  # e.g. optimizer.betas=abc
            raise KilnError(
                f"Could not build the optimizer from its config ({err}); check the optimizer.* values."
            ) from None
        cfg = self.scheduler_cfg or {}
        fn = cfg.get("fn")
        if fn is None:
            return opt
        interval = cfg.get("interval", "epoch")
        plateau = unwrap(fn) is torch.optim.lr_scheduler.ReduceLROnPlateau
        if interval not in ("step", "epoch") or (plateau and interval != "epoch"):
            raise KilnError(
                f"scheduler.interval={interval!r} must be step or epoch (epoch for a plateau schedule)."
            )
        kwargs = scheduler_kwargs(fn, self.optimizer_steps_planned)
        try:
            scheduler = fn(opt, **kwargs)
        except (TypeError, ValueError) as err:  # e.g. scheduler.fn.factor=1 for a plateau
            raise KilnError(
                f"Could not build the scheduler from its config ({err}); check the scheduler.* values."
            ) from None
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler}}
