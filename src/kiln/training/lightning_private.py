"""Hook dispatch that skips the hooks a callback or the module does not override.

Lightning calls every hook of every callback on every step (about six hooks per training
step), each inside a profiler context whose name formats the callback's ``state_key``. With
kiln's default callbacks that is some fifty calls a step, nearly all of them to the empty
methods of ``Callback``: about 0.2 ms a step on a CPU core, a seventh of a small MLP's step
(docs/benchmarks.md). This dispatch calls exactly the callbacks whose class (or instance)
defines the hook, in the same order, with the same ``_current_fx_name`` bookkeeping and the
same profiler contexts, so nothing a callback sees changes. It applies only to trainers
kiln built (``enable(trainer)``); any other trainer in the process goes through Lightning's
own function. The same holds for the six per-step LightningModule hooks whose base
implementation does nothing but hand the batch back (``PASS_THROUGH``): when the module's
class keeps Lightning's own method, the call is answered without the dispatch around it.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint, EarlyStopping
from lightning.pytorch.trainer import call

_MARK = "_kiln_lean_hooks"
# Lightning's own functions, kept on its module so a re-import of this one finds them again;
# None where a Lightning release has renamed them, and then enable() leaves Lightning alone
_lightning_dispatch = vars(call).setdefault(
    "_lightning_callback_hooks", getattr(call, "_call_callback_hooks", None)
)
_lightning_module_dispatch = vars(call).setdefault(
    "_lightning_module_hook", getattr(call, "_call_lightning_module_hook", None)
)
# per-step LightningModule hooks whose base method returns None, or the batch (args[0])
PASS_THROUGH = {
    "on_train_batch_start": False,
    "on_train_batch_end": False,
    "on_before_backward": False,
    "on_after_backward": False,
    "on_before_batch_transfer": True,
    "on_after_batch_transfer": True,
}


def _defines(callback: L.Callback, hook_name: str) -> bool:
    if hook_name in getattr(callback, "__dict__", ()):  # a hook set on the instance
        return True
    return getattr(type(callback), hook_name, None) is not getattr(L.Callback, hook_name, None)


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


def _call_lightning_module_hook(
    trainer: L.Trainer, hook_name: str, *args: Any, pl_module=None, **kwargs: Any
) -> Any:
    returns_batch = PASS_THROUGH.get(hook_name)
    if returns_batch is not None and getattr(trainer, _MARK, False):
        module = pl_module or trainer.lightning_module
        if (
            module is not None
            and hook_name not in vars(module)
            and getattr(type(module), hook_name) is getattr(L.LightningModule, hook_name)
        ):
            return args[0] if returns_batch else None
    return _lightning_module_dispatch(trainer, hook_name, *args, pl_module=pl_module, **kwargs)


def enable(trainer: L.Trainer) -> L.Trainer:
    """Route this trainer's callback and module hooks through the lean dispatch."""
    if _lightning_dispatch is None or _lightning_module_dispatch is None:
        return trainer
    call._call_callback_hooks = _call_callback_hooks
    call._call_lightning_module_hook = _call_lightning_module_hook
    setattr(trainer, _MARK, True)
    return trainer
