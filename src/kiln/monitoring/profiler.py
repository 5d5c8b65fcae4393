"""The Lightning callback that records the reference profile while ``kiln train`` runs.

The input part comes from the training split at the start of fitting; the prediction part
from the validation predictions of each epoch, so every checkpoint (best.ckpt included)
carries the predictions of its own weights. ``from_ckpt`` keeps an earlier profile instead
(``kiln retrain`` without ``refit_profile``).
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from kiln.data.contract import split_tensors
from kiln.monitoring.features import Featurizer
from kiln.monitoring.profile import build_profile, prediction_profile


class ReferenceProfiler(L.Callback):
    def __init__(self, raw_values_max_rows: int = 1000, grid_points: int = 1001, psi_bins: int = 10,
                 image_components: int = 4, from_ckpt: str | None = None) -> None:  # fmt: skip
        self.numeric_kw = {
            "raw_values_max_rows": int(raw_values_max_rows),
            "grid_points": int(grid_points),
            "psi_bins": int(psi_bins),
        }
        self.image_components = int(image_components)
        self.from_ckpt = from_ckpt
        self._preds: list[torch.Tensor] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or getattr(pl_module, "profile", None) is not None:
            return
        if self.from_ckpt:
            from kiln.training.checkpoints import read_checkpoint  # builds nothing from its config

            pl_module.profile = read_checkpoint(self.from_ckpt)["kiln"].get("profile")
            return
        dm = trainer.datamodule
        inputs = [t.cpu() for t in split_tensors(dm, "train")[:-1]]
        featurizer = Featurizer.for_data(dm, inputs, self.image_components)
        pl_module.profile = build_profile(
            featurizer, [t.numpy() for t in inputs], dm.spec.task, **self.numeric_kw
        )

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._preds = []

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ):
        if not trainer.sanity_checking and isinstance(outputs, torch.Tensor):
            self._preds.append(outputs.detach().float().cpu())

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        profile = getattr(pl_module, "profile", None)
        if trainer.sanity_checking or not self._preds or profile is None or self.from_ckpt:
            return
        spec = pl_module.spec
        preds = np.concatenate([p.numpy() for p in self._preds])
        profile["predictions"] = prediction_profile(
            preds, spec.task, spec.class_names, **self.numeric_kw
        )
        self._preds = []
