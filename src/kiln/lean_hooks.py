"""Callback dispatch that skips the hooks a callback does not override.

Lightning calls every hook of every callback on every step (about six hooks per training
step), each inside a profiler context whose name formats the callback's ``state_key``. With
kiln's default callbacks that is some fifty calls a step, nearly all of them to the empty
methods of ``Callback``: about 0.2 ms a step on a CPU core, a seventh of a small MLP's step
(docs/benchmarks.md). This dispatch calls exactly the callbacks whose class (or instance)
defines the hook, in the same order, with the same ``_current_fx_name`` bookkeeping and the
same profiler contexts, so nothing a callback sees changes. It applies only to trainers
kiln built (``enable(trainer)``); any other trainer in the process goes through Lightning's
own function.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint, EarlyStopping
from lightning.pytorch.trainer import call

_MARK = "_kiln_lean_hooks"
_lightning_dispatch = call._call_callback_hooks
_overrides: dict[tuple[type, str], bool] = {}


def _defines(callback: L.Callback, hook_name: str) -> bool:
    if hook_name in vars(callback):  # a hook set on the instance
        return True
    key = (type(callback), hook_name)
    found = _overrides.get(key)
    if found is None:
        found = getattr(type(callback), hook_name, None) is not getattr(L.Callback, hook_name, None)
        _overrides[key] = found
    return found


def _call_callback_hooks(
    trainer: L.Trainer,
    hook_name: str,
    *args: Any,
    monitoring_callbacks: bool | None = None,
    **kwargs: Any,
) -> None:
    if not getattr(trainer, _MARK, False):
        _lightning_dispatch(
            trainer, hook_name, *args, monitoring_callbacks=monitoring_callbacks, **kwargs
        )
        return
    pl_module = trainer.lightning_module
    if pl_module:
        prev_fx_name = pl_module._current_fx_name
        pl_module._current_fx_name = hook_name
    for callback in trainer.callbacks:
        if not _defines(callback, hook_name):
            continue
        if monitoring_callbacks is not None and monitoring_callbacks != isinstance(
            callback, (EarlyStopping, Checkpoint)
        ):
            continue
        fn = getattr(callback, hook_name)
        if callable(fn):
            with trainer.profiler.profile(f"[Callback]{callback.state_key}.{hook_name}"):
                fn(trainer, trainer.lightning_module, *args, **kwargs)
    if pl_module:
        pl_module._current_fx_name = prev_fx_name


def enable(trainer: L.Trainer) -> L.Trainer:
    """Route this trainer's callback hooks through the lean dispatch."""
    call._call_callback_hooks = _call_callback_hooks
    setattr(trainer, _MARK, True)
    return trainer
