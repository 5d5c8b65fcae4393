"""Learning-rate schedules that torch does not ship as one class."""

from __future__ import annotations

import functools
import inspect
import math

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_fraction: float = 0.0,
    min_ratio: float = 0.0,
) -> LambdaLR:
    """Linear warmup from 0 to the optimizer's lr, then cosine decay to ``min_ratio`` x lr.

    Warmup is ``warmup_steps``, or ``warmup_fraction`` of ``total_steps`` when that is given.
    """
    warm = max(warmup_steps, int(warmup_fraction * total_steps))
    total = max(total_steps, warm + 1)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def unwrap(factory):
    """The class or function behind a Hydra ``_partial_`` factory (or the factory itself)."""
    return factory.func if isinstance(factory, functools.partial) else factory


def scheduler_steps(fn, total: int) -> int:
    """``total_steps`` for a scheduler factory. OneCycleLR divides by zero when pct_start x
    total_steps is exactly 1 (4 steps at pct_start 0.25: a tiny run, or a small CV fold); one
    step more moves its warmup's end off step 0, and its last learning rate stays near the end."""
    func = unwrap(fn)
    pct = (getattr(fn, "keywords", None) or {}).get("pct_start", 0.3)
    if func is torch.optim.lr_scheduler.OneCycleLR and float(pct * total) == 1.0:
        return total + 1
    return total


def fills_total_steps(fn) -> bool:
    """Whether kiln gives this scheduler factory the run's ``total_steps`` (one-cycle,
    warmup-cosine), which ties the schedule to the run's length; not when the config sets it."""
    try:
        takes = "total_steps" in inspect.signature(unwrap(fn)).parameters
    except (TypeError, ValueError):
        return False
    return takes and "total_steps" not in (getattr(fn, "keywords", None) or {})


def scheduler_kwargs(fn, planned_steps) -> dict:
    """What kiln adds when it builds a scheduler: ``total_steps`` (``planned_steps()``, asked
    only when needed) and ``pct_start`` as a float (OneCycleLR refuses the integers 0 and 1)."""
    kwargs = {}
    if fills_total_steps(fn):
        kwargs["total_steps"] = scheduler_steps(fn, planned_steps())
    if "pct_start" in (getattr(fn, "keywords", None) or {}):
        kwargs["pct_start"] = float(fn.keywords["pct_start"])
    return kwargs


FUSED_DEVICES = ("cuda", "cpu")  # torch >= 2.4 has fused AdamW, Adam and SGD on both


def fused_kwargs(factory, device: torch.device) -> dict:
    """``{"fused": True}`` on CUDA and CPU for optimizers that take it (AdamW, Adam, SGD),
    unless the config sets ``fused`` or ``foreach`` itself: one kernel per parameter instead
    of some ten element-wise ops (on CPU each op's dispatch costs more than the arithmetic on
    a small network: docs/benchmarks.md). Results differ from the default by rounding only."""
    fn = unwrap(factory)
    given = getattr(factory, "keywords", {}) or {}
    try:
        takes = "fused" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return (
        {"fused": True}
        if device.type in FUSED_DEVICES and takes and not {"fused", "foreach"} & set(given)
        else {}
    )
