"""torch's intra-op threads for training on a CPU, chosen for the model's size.

A small network's kernels are too short to split: with two threads each one waits for the
other at every kernel, and when other processes share the cores that hand-off costs far more
than the work (issue 16: ~80 ms per AdamW step on a 131k-parameter MLP on a busy 2-core
machine). So below ``ONE_THREAD_BELOW`` floating-point operations per training step, kiln
trains on one thread; above it, torch's own default (one per core). Measurements and the rule:
docs/benchmarks.md, "Issue 16: table speed". ``threads=N`` in the config always wins, and so
does an OMP_NUM_THREADS the user set.
"""

from __future__ import annotations

import logging
import os

import lightning as L
import torch

log = logging.getLogger(__name__)

ONE_THREAD_BELOW = 1e10  # FLOPs per training step (6 x parameters x batch size)
# A convolution reuses each weight at every pixel, so its parameters undercount its work by the
# image's area: for images the rule counts one forward pass's FLOPs instead (torch's counter).
_DEFAULT = torch.get_num_threads()  # the process's own count, before kiln changes it


def step_flops(parameters: int, batch_size: int) -> float:
    """Forward (2) and backward (4) multiply-adds per parameter per row: 6 x params x batch."""
    return 6.0 * parameters * batch_size


def threads_for(parameters: int, batch_size: int) -> int:
    """The intra-op thread count for a CPU training run with no explicit choice."""
    return 1 if step_flops(parameters, batch_size) < ONE_THREAD_BELOW else _DEFAULT


class ThreadsForSize(L.Callback):
    """Sets torch's thread count when fitting starts (train, compare, sweep, retrain).

    ``threads``: None picks by size; 0 leaves torch's default; N > 0 uses N threads.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.threads is not None:
            torch.set_num_threads(int(self.threads) or _DEFAULT)
            return
        if pl_module.device.type != "cpu" or os.environ.get("OMP_NUM_THREADS"):
            return
        parameters = sum(p.numel() for p in pl_module.parameters())
        batch = int(getattr(trainer.datamodule, "batch_size", None) or 64)
        per_row = image_forward_flops(pl_module)
        if per_row is not None:  # 6 x params = 3 x (2 x params): forward + backward per row
            parameters = int(per_row / 2)
        chosen = threads_for(parameters, batch)
        if chosen != torch.get_num_threads():
            log.info(
                "torch threads: %d for %d parameters at batch %d (threads=N to choose)",
                chosen, parameters, batch,
            )  # fmt: skip
        torch.set_num_threads(chosen)


def image_forward_flops(pl_module) -> float | None:
    """FLOPs of one image row's forward pass (None for other kinds), counted on two blank
    images in evaluation mode, so no batch-norm statistic moves."""
    from torch.utils.flop_counter import FlopCounterMode

    spec = getattr(pl_module, "spec", None)
    if spec is None or spec.kind != "image":
        return None
    c, h, w = spec.shape
    nhwc = spec.extra.get("image", {}).get("layout") == "NHWC"
    x = torch.zeros(2, h, w, c, dtype=torch.uint8) if nhwc else torch.zeros(2, c, h, w)
    modes = {m: m.training for m in pl_module.modules()}
    pl_module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            pl_module(x.to(pl_module.device))
    finally:
        for module, mode in modes.items():
            module.train(mode)
    return counter.get_total_flops() / 2
