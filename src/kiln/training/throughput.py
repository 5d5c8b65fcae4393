"""Training throughput and peak GPU memory, measured in every run and written to metrics.json.

A user comparing devices, batch sizes or DDP widths needs the same figure from every run:
samples (and, for token inputs, tokens) per second over the training steps after a short
warm-up (compilation, allocator growth), across all ranks, with validation time left out and
checkpoint writes left in, since a run pays for them.
"""

from __future__ import annotations

import time

import lightning as L
import torch
from typing_extensions import override


class Throughput(L.Callback):
    """Counts training samples after ``warmup_steps`` batches; ``summary()`` gives the rates."""

    def __init__(self, warmup_steps: int = 5) -> None:
        self.warmup_steps = warmup_steps
        self._result: dict[str, float] = {}

    @staticmethod
    def _now(module: L.LightningModule) -> float:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)
        return time.perf_counter()

    @override
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.batches, self.samples, self.tokens, self.paused = 0, 0, 0, 0.0
        self.t0 = self.pause_start = None
        self._result = {}
        if pl_module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(pl_module.device)

    @override
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = trainer.estimated_stepping_batches
        self.warmup = self.warmup_steps if total > 2 * self.warmup_steps else 0

    @override
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.t0 is None and self.batches >= self.warmup:
            self.t0 = self._now(pl_module)

    @override
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches += 1
        if self.t0 is None:
            return
        self.samples += len(batch[-1])
        first = batch[0]
        if isinstance(first, torch.Tensor) and first.ndim >= 2 and not first.is_floating_point():
            self.tokens += first.numel()  # token ids: (batch, sequence length)

    @override
    def on_validation_start(self, trainer, pl_module) -> None:
        if self.t0 is not None and not trainer.sanity_checking:
            self.pause_start = self._now(pl_module)

    @override
    def on_validation_end(self, trainer, pl_module) -> None:
        if self.pause_start is not None:
            self.paused += self._now(pl_module) - self.pause_start
            self.pause_start = None

    @override
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.t0 is None:
            return
        seconds = self._now(pl_module) - self.t0 - self.paused
        counts = torch.tensor(
            [self.samples, self.tokens], dtype=torch.float64, device=pl_module.device
        )
        samples, tokens = trainer.strategy.reduce(counts, reduce_op="sum").tolist()
        self._result = {
            "train_samples": int(samples),
            "train_samples_per_s": round(samples / seconds, 1) if seconds > 0 else 0.0,
        }
        if tokens:
            self._result["train_tokens_per_s"] = round(tokens / seconds, 1) if seconds > 0 else 0.0
        if pl_module.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(pl_module.device) / 2**20
            self._result["peak_gpu_memory_mib"] = round(peak, 1)

    def summary(self) -> dict[str, float]:
        return dict(self._result)
