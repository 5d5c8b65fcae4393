"""The LightningModule: fitted preprocessing + network + head, with loss and metrics by task."""

from __future__ import annotations

import functools

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.classification import ConfusionMatrix
from typing_extensions import override

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models.finetune import frozen_norms
from kiln.models.pipeline import network_output, prediction, target_scaler_for, temperature_for
from kiln.training import lightning_private
from kiln.training.augment import BatchAugment, augment_seed
from kiln.training.checkpoints import pack, unpack
from kiln.training.evaluation import EvalSteps
from kiln.training.metrics import task_metrics
from kiln.training.objectives import each_member, loss_weights, task_loss, train_score
from kiln.training.stepping import ManualStepping, adopt_automatic_progress
from kiln.training.undefined_metrics import TargetTally
from kiln.version import __version__


class KilnModule(ManualStepping, EvalSteps, L.LightningModule):
    """Raw inputs in, predictions out: ``forward`` runs preprocessing, network and head.

    ``forward`` returns logits (classification) or values on the target's original scale
    (regression); ``predict_step`` returns probabilities or values. Everything fitted from
    data is a buffer (``preprocessor``, ``target_scaler``, ``decision``, ``temperature``), so
    it is inside every checkpoint. ``monitor`` ({metric, mode}) comes from config and names the best-so-far
    metric ``<metric>_best``. The optimizer is stepped by ``ManualStepping`` (kiln.training.stepping),
    which takes gradient clipping and accumulation as arguments; validation, test and
    prediction steps are ``EvalSteps`` (kiln.training.evaluation).
    """

    def __init__(
        self,
        network: nn.Module,
        spec: InputSpec,
        preprocessor: nn.Module | None = None,
        optimizer: functools.partial | None = None,
        scheduler: dict | None = None,
        monitor: dict | None = None,
        target_stats: tuple[float, float] | None = None,
        compile: bool = False,
        seed: int = 0,
        run_config: dict | None = None,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str = "norm",
        accumulate_grad_batches: int = 1,
        loss_fn: nn.Module | None = None,
        extra_metrics: dict | None = None,
        augment: BatchAugment | None = None,
    ) -> None:
        super().__init__()
        self.init_stepping(gradient_clip_val, gradient_clip_algorithm, accumulate_grad_batches)
        self.spec = spec
        self.preprocessor = preprocessor if preprocessor is not None else nn.Identity()
        self.network = network
        self.target_scaler = target_scaler_for(spec, target_stats)
        self.optimizer_factory = optimizer
        self.scheduler_cfg = scheduler
        self.monitor = dict(monitor or {"metric": "val/loss", "mode": "min"})
        if self.monitor.get("mode") not in ("min", "max"):
            raise KilnError(f"monitor.mode={self.monitor.get('mode')!r} must be min or max.")
        self.seed = seed
        self.run_config = run_config or {}
        if compile:
            self.network.compile()  # in place: state_dict keys stay the same with and without it
        n = spec.num_outputs
        self.loss_fn = loss_fn  # a user's loss (kiln.training.extensions), else the task's
        self.members = int(getattr(network, "ensemble_members", 0))  # TabM: a loss per member
        # data.class_weight (on the training split): recorded in the spec, so not persistent
        self.register_buffer("class_weights", loss_weights(spec, loss_fn), persistent=False)
        full = task_metrics(spec.task, n)
        full.add_metrics(dict(extra_metrics or {}))  # a user's torchmetrics, as val/<name>
        self.val_metrics = full.clone(prefix="val/")
        self.test_metrics = full.clone(prefix="test/")
        self.init_decision(spec)  # binary: the cut, a buffer (kiln.training.evaluation)
        self.temperature = temperature_for(spec)  # logits / T, a buffer (training.calibration)
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_tally, self.test_tally = TargetTally(spec.task, n), TargetTally(spec.task, n)
        self.undefined: dict[str, str] = {}  # stage/metric -> why the split cannot define it
        # training-split running sums (loss, and correct predictions or absolute error): two
        # in-place adds a step instead of a metric collection's bookkeeping
        self.register_buffer("_train_loss_sum", torch.zeros(()), persistent=False)
        self.register_buffer("_train_score_sum", torch.zeros(()), persistent=False)
        self._train_rows = 0
        self.confusion = (
            ConfusionMatrix(task=spec.task, num_classes=n) if spec.is_classification else None
        )
        self.best: float | None = None
        self.profile: dict | None = None  # the drift reference (kiln.monitoring), plain JSON
        self.inputs_per_batch = int(spec.extra.get("inputs_per_batch", 1))
        self.channels_last = False  # set in setup(): on CUDA for convolutional networks
        self.augment = augment  # training batches only (kiln.training.augment); not a module

    def __setattr__(self, name: str, value) -> None:
        # Lightning sets _current_fx_name around every hook call (~40 per step); a plain
        # attribute write skips nn.Module's parameter/buffer bookkeeping for it.
        if name == lightning_private.CURRENT_FX_NAME:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @override
    def setup(self, stage: str) -> None:
        # channels-last on CUDA for convolutional networks (tensor cores read NHWC); the
        # weights keep this layout through the move to the GPU
        device = self.trainer.strategy.root_device if self._trainer is not None else None
        convs = any(isinstance(m, nn.Conv2d) for m in self.network.modules())
        self.channels_last = bool(device is not None and device.type == "cuda" and convs)
        if self.channels_last:
            self.network.to(memory_format=torch.channels_last)

    @override
    def train(self, mode: bool = True):
        super().train(mode)
        return self.keep_frozen_norms() if mode else self

    def keep_frozen_norms(self):
        """model.freeze: a wholly frozen norm layer keeps its statistics (eval mode) in training
        too; Lightning keeps each submodule's mode across validation."""
        for _, norm in frozen_norms(self.network):
            norm.eval()
        return self

    # -- forward and loss ---------------------------------------------------------------
    def raw_output(self, x: Tensor) -> Tensor:
        """Network output before the head's inverse scaling: logits, or the scaled target."""
        x = self.preprocessor(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return network_output(self.spec, self.network(x), self.temperature)

    @override
    def forward(self, x: Tensor) -> Tensor:
        z = self.raw_output(x)
        return self.target_scaler(z) if self.target_scaler is not None else z

    def to_prediction(self, z: Tensor) -> Tensor:
        """Probabilities for classification, original-scale values for regression."""
        return prediction(self.spec, self.target_scaler, z)

    def loss(self, z: Tensor, y: Tensor) -> Tensor:
        return task_loss(self.spec, self.target_scaler, self.loss_fn, z, y, self.class_weights)

    # -- steps --------------------------------------------------------------------------
    @override
    def on_fit_start(self) -> None:
        self.keep_frozen_norms()
        if self.temperature is not None:  # train on raw logits (a warm start may bring a T);
            self.temperature.value.fill_(1.0)  # calibration refits it after fit

    @override
    def on_train_epoch_start(self) -> None:
        # dropout & co. draw from a stream fixed by (seed, epoch): a resumed run replays it exactly
        torch.manual_seed(self.seed * 7919 + self.current_epoch)

    @staticmethod
    def split_batch(batch: tuple[Tensor, ...]) -> tuple[Tensor | tuple[Tensor, ...], Tensor]:
        """A batch is (*inputs, target). One input is passed on as a tensor, several (numeric
        and categorical columns, tokens and lengths) as a tuple the preprocessor unpacks."""
        *inputs, y = batch
        return (inputs[0] if len(inputs) == 1 else tuple(inputs)), y

    @override
    def transfer_batch_to_device(self, batch, device: torch.device, dataloader_idx: int):
        # kiln's loaders give tuples of tensors, mostly already on the device (GPU-resident
        # splits): hand them on without Lightning's generic walk over the collection
        if isinstance(batch, tuple) and all(
            isinstance(t, Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    @override
    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        x, y = self.split_batch(batch)
        soft = None  # augment=...: mixup/cutmix targets
        if self.augment is not None:
            seed = augment_seed(
                self.seed, self.global_step, self._pending_micro_batches, self.global_rank
            )
            x, soft = self.augment(x, y, seed)
        z = self.raw_output(x)
        if self.members and self.network.training:
            z, y = each_member(z, y, self.members)
        loss = self.loss(z, y if soft is None else soft)
        # Lightning writes step metrics when (batches + 1) % log_every_n_steps == 0: log on those
        batches = lightning_private.batches_that_stepped(self.trainer)
        every = self.trainer.log_every_n_steps
        if batches == 0 or (every and (batches + 1) % every == 0):
            self._check_finite(loss)
            self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True)
            self.log(
                "train/lr",
                self.trainer.optimizers[0].param_groups[0]["lr"],
                on_step=True,
                on_epoch=False,
            )
        n = len(y)  # running sums of detached values: no graph, no no_grad context needed
        self._train_loss_sum.add_(loss.detach(), alpha=n)
        self._train_score_sum.add_(train_score(self.spec, self.target_scaler, z.detach(), y))
        self._train_rows += n
        self.optimise(loss, batch_idx)
        return loss

    @override
    def on_train_epoch_end(self) -> None:
        self.step_epoch_schedule()
        rows = self._train_loss_sum.new_tensor(self._train_rows)
        sums = torch.stack([self._train_loss_sum, self._train_score_sum, rows])
        loss_sum, score_sum, rows = self.trainer.strategy.reduce(sums, reduce_op="sum").tolist()
        self._train_loss_sum.zero_()
        self._train_score_sum.zero_()
        self._train_rows = 0
        if rows == 0:
            return
        self._check_finite(torch.tensor(loss_sum))
        name = "train/acc" if self.spec.labelled else "train/mae"
        self.log_dict({"train/loss_epoch": loss_sum / rows, name: score_sum / rows})

    def _check_finite(self, loss: Tensor) -> None:
        if not torch.isfinite(loss):
            raise KilnError(
                f"The training loss became {float(loss)} at step {self.global_step}; lower optimizer.lr, "
                "set trainer.gradient_clip_val, or check the data for extreme values."
            )

    # -- checkpoints --------------------------------------------------------------------
    @override
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["kiln"] = {
            "version": __version__,
            "spec": self.spec.to_dict(),
            "config": self.run_config,
            "best": self.best,
        }
        if "schema" in self.spec.extra:  # tables: the string -> code encoder predict/serve reuse
            checkpoint["kiln"]["schema"] = self.spec.extra["schema"]
        if self.profile is not None:
            checkpoint["kiln"]["profile"] = pack(self.profile)

    @override
    def on_load_checkpoint(self, checkpoint: dict) -> None:
        adopt_automatic_progress(checkpoint)
        self.best = checkpoint.get("kiln", {}).get("best")
        stored = checkpoint.get("kiln", {}).get("profile")
        self.profile = unpack(stored) if stored is not None else self.profile
