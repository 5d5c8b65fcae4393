"""kiln's lean hook dispatch must call exactly what Lightning's own dispatch calls."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from kiln.data.loader import TensorBatchLoader
from kiln.training import lightning_private as lean_hooks

HOOKS = [
    "setup", "on_fit_start", "on_train_start", "on_train_epoch_start", "on_train_batch_start",
    "on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad",
    "on_train_batch_end", "on_validation_start", "on_validation_batch_end",
    "on_validation_epoch_end", "on_train_epoch_end", "on_save_checkpoint", "on_train_end",
    "on_fit_end", "teardown",
]  # fmt: skip


class Recorder(L.Callback):
    """Records every hook in HOOKS it receives, with the module's _current_fx_name."""

    def __init__(self, log: list) -> None:
        self.events = log
        for name in HOOKS:
            setattr(self, name, self._make(name))  # set on the instance, as a user may do

    def _make(self, name):
        def hook(trainer, module, *args, **kwargs):
            self.events.append((name, module._current_fx_name))

        return hook


class Quiet(L.Callback):
    """Defines one hook in its class; everything else is Callback's no-op."""

    def __init__(self, log: list) -> None:
        self.events = log

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.events.append(("quiet.on_train_batch_end", batch_idx))


class Toy(L.LightningModule):
    def __init__(self, log: list) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Linear(4, 2)
        self.log_ = log

    def on_train_batch_start(self, batch, batch_idx):
        self.log_.append(("module.on_train_batch_start", batch_idx))
        return -1 if batch_idx == 3 else None  # Lightning: -1 ends the epoch here

    def on_after_batch_transfer(self, batch, dataloader_idx):
        x, y = batch
        return x * 2, y

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", F.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(lean: bool, tmp_path):
    log: list = []
    trainer = L.Trainer(
        max_epochs=2,
        callbacks=[Recorder(log), Quiet(log)],
        logger=False,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    if lean:
        lean_hooks.enable(trainer)
    g = torch.Generator().manual_seed(1)
    data = [torch.randn(80, 4, generator=g), torch.randint(0, 2, (80,), generator=g)]
    module = Toy(log)
    trainer.fit(module, TensorBatchLoader(data, 10), TensorBatchLoader(data, 40))
    return log, module.net.weight.detach().clone()


def test_lean_dispatch_calls_what_lightning_calls(tmp_path):
    lean_log, lean_weights = fit(True, tmp_path / "lean")
    plain_log, plain_weights = fit(False, tmp_path / "plain")
    assert lean_log == plain_log
    assert torch.equal(lean_weights, plain_weights)  # on_after_batch_transfer's x * 2 applied
    steps = [e for e in lean_log if e[0] == "module.on_train_batch_start"]
    assert [i for _, i in steps] == [0, 1, 2, 3] * 2  # the -1 at batch 3 ended each epoch
    assert ("on_train_batch_start", "on_train_batch_start") in lean_log


def test_a_module_without_overrides_is_answered_without_the_dispatch(tmp_path):
    class Bare(L.LightningModule):
        pass

    trainer = lean_hooks.enable(L.Trainer(logger=False, accelerator="cpu"))
    batch = (torch.ones(2),)
    assert (
        lean_hooks._call_lightning_module_hook(
            trainer, "on_before_batch_transfer", batch, 0, pl_module=Bare()
        )
        is batch
    )
    assert (
        lean_hooks._call_lightning_module_hook(
            trainer, "on_train_batch_end", None, batch, 0, pl_module=Bare()
        )
        is None
    )
