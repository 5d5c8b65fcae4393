"""Test-only pieces loaded by name into real `kiln train` processes: data whose first column is
the row id, and a callback that records which ids each rank saw in each stage."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import numpy as np
import torch

from kiln.data.base import InMemoryDataModule, RawData
from kiln.preprocessing.scale import Standardize


class IdData(InMemoryDataModule):
    """A 3-class table; column 0 is the row id (0..rows-1), the others carry the signal."""

    def __init__(self, rows: int = 401, features: int = 6, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows, self.features = rows, features

    def load(self) -> RawData:
        rng = np.random.default_rng(7)
        x = rng.normal(size=(self.rows, self.features)).astype(np.float32)
        w = rng.normal(size=(self.features, 3))
        y = np.argmax(x @ w + 0.5 * rng.normal(size=(self.rows, 3)), axis=1)
        x = np.concatenate([np.arange(self.rows, dtype=np.float32)[:, None], x], axis=1)
        return RawData(x=x, y=y, kind="tabular", name="ids")

    def fit_preprocessor(self, x_train: torch.Tensor) -> torch.nn.Module:
        return Standardize.fit(x_train)


class RecordIds(L.Callback):
    """Writes <out_dir>/<stage>_rank<r>_epoch<e>.json: the row ids this rank was handed."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.seen: dict[str, list[int]] = {}

    def _add(self, stage: str, trainer: L.Trainer, batch) -> None:
        key = f"{stage}_rank{trainer.global_rank}_epoch{trainer.current_epoch}"
        self.seen.setdefault(key, []).extend(batch[0][:, 0].long().tolist())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._add("train", trainer, batch)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl=0) -> None:
        if not trainer.sanity_checking:
            self._add("val", trainer, batch)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl=0) -> None:
        self._add("test", trainer, batch)

    def on_test_end(self, trainer, pl_module) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for key, ids in self.seen.items():
            (self.out_dir / f"{key}.json").write_text(json.dumps(ids))
