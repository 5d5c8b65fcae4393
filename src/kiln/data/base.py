"""The in-memory data module: load once, split with a seed, fit preprocessing on train only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch import nn

from kiln.data.folds import check_fold, fold_report, split_rows
from kiln.data.loader import TensorBatchLoader
from kiln.data.spec import TASKS, InputSpec
from kiln.errors import KilnError


@dataclass
class RawData:
    """What a source hands the data module: features, target and how to read them."""

    x: np.ndarray
    y: np.ndarray
    kind: str  # "tabular" or "image"
    name: str
    class_names: list[str] | None = None


def infer_task(y: np.ndarray) -> str:
    """Regression for non-integer or many-valued targets, else binary or multiclass."""
    values = np.unique(y[~np.isnan(y)] if y.dtype.kind == "f" else y)
    is_integral = y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(np.mod(values, 1) == 0))
    if not is_integral or len(values) > 50:
        return "regression"
    return "binary" if len(values) == 2 else "multiclass"


class InMemoryDataModule(L.LightningDataModule):
    """Base for data that fits in memory. Subclasses implement ``load() -> RawData``.

    Splits are seeded, and stratified for classification; ``test_folds=K, test_fold=k`` makes
    the test split fold k of a K-fold partition (kiln.data.folds). The preprocessor (a torch module)
    is fitted on the training split only and handed to the model, so its statistics travel in
    every checkpoint. Batches come from ``TensorBatchLoader``; with ``pin_to_device`` the whole
    split is moved once to the accelerator (``"auto"``: when training on a GPU).
    """

    def __init__(
        self,
        batch_size: int | str = 64,
        eval_batch_size: int | None = None,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        split_seed: int = 0,
        task: str = "auto",
        pin_to_device: bool | str = "auto",
        test_folds: int | None = None,
        test_fold: int | None = None,
    ) -> None:
        super().__init__()
        if task != "auto" and task not in TASKS:
            raise KilnError(
                f"data.task={task!r} is not a task kiln knows; use one of auto, {', '.join(TASKS)}."
            )
        for key, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < frac < 1:
                raise KilnError(
                    f"data.{key}={frac} must lie strictly between 0 and 1; set it to e.g. 0.15."
                )
        if val_fraction + test_fraction >= 0.9:
            raise KilnError(
                "data.val_fraction + data.test_fraction leave under 10% for training; lower them."
            )
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise KilnError(f"data.batch_size={batch_size!r} must be a count of rows or auto.")
        self._batch_size = batch_size
        self._eval_batch_size = eval_batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.fold = check_fold(test_folds, test_fold)
        self.task = task
        self.pin_to_device = pin_to_device
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.spec: InputSpec | None = None
        self.preprocessor: nn.Module | None = None
        self.target_stats: tuple[float, float] | None = None

    # -- to implement -------------------------------------------------------------------
    def load(self) -> RawData:
        raise NotImplementedError

    def fit_preprocessor(self, x_train: torch.Tensor) -> nn.Module:
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self._prepare()
        device = self.trainer.strategy.root_device if self.trainer is not None else None
        if device is not None and device.type != "cpu" and self.pin_to_device in (True, "auto"):
            self.move_to(device)

    def _prepare(self) -> None:
        raw = self.load()
        task = infer_task(raw.y) if self.task == "auto" else self.task
        if task == "multilabel":
            raise KilnError(
                f"data.task=multilabel is supported for data=text and data=table, not for {raw.name}; "
                "use data.task=auto, or one model per label."
            )
        y = raw.y
        if task != "regression":
            classes = np.unique(y)
            if len(classes) < 2:
                raise KilnError(
                    f"The target of {raw.name} has a single class; a classifier needs at least two."
                )
            if task == "binary" and len(classes) != 2:
                raise KilnError(
                    f"data.task=binary but the target of {raw.name} has {len(classes)} classes; use data.task=multiclass."
                )
            y = np.searchsorted(classes, y)
            class_names = raw.class_names or [str(c) for c in classes]
        else:
            class_names = None
        rows = split_rows(
            y,
            task != "regression",
            self.val_fraction,
            self.test_fraction,
            self.split_seed,
            self.fold,
        )
        x = torch.as_tensor(raw.x, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32 if task == "regression" else torch.long)
        self.splits = {name: (x[ix], yt[ix]) for name, ix in rows.items()}
        self.preprocessor = self.fit_preprocessor(self.splits["train"][0])
        if task == "regression":
            ytr = self.splits["train"][1].double()
            self.target_stats = (float(ytr.mean()), float(ytr.std(unbiased=False)))
        self.spec = InputSpec(
            kind=raw.kind,
            shape=tuple(x.shape[1:]),
            task=task,
            num_outputs=len(class_names) if task == "multiclass" else 1,
            dataset=raw.name,
            class_names=class_names,
        )

    def move_to(self, device: torch.device) -> None:
        """Keep every split resident on ``device`` (the GPU path: no host-to-device copy per batch)."""
        self.splits = {k: (x.to(device), y.to(device)) for k, (x, y) in self.splits.items()}

    def report(self) -> dict:
        """Rows per split and, for classification, the class balance of each split."""
        out: dict = {"dataset": self.spec.dataset, "task": self.spec.task, "rows": {}}
        out.update(fold_report(self.fold))
        for name, (_, y) in self.splits.items():
            out["rows"][name] = len(y)
            if self.spec.is_classification:
                counts = torch.bincount(y.cpu(), minlength=len(self.spec.class_names)).tolist()
                out.setdefault("class_counts", {})[name] = dict(
                    zip(self.spec.class_names, counts, strict=True)
                )
        return out

    # -- loaders ------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """``data.batch_size``; ``auto``: from the training rows (``auto_batch_size``)."""
        if self._batch_size != "auto":
            return self._batch_size
        if not self.splits:
            raise RuntimeError("data.batch_size=auto is known once the data is set up")
        return auto_batch_size(len(self.splits["train"][-1]))

    @batch_size.setter
    def batch_size(self, value: int | str) -> None:
        self._batch_size = value

    @property
    def eval_batch_size(self) -> int:
        return self._eval_batch_size or max(self.batch_size, 256)

    @eval_batch_size.setter
    def eval_batch_size(self, value: int | None) -> None:
        self._eval_batch_size = value

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _loader(self, split: str, train: bool) -> TensorBatchLoader:
        rank, world = self._rank()
        return TensorBatchLoader(
            self.splits[split],
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=False,
            seed=self.split_seed,
            rank=rank,
            world_size=world,
            equal_shards=train,  # evaluation covers every row exactly once across ranks
            join_lone_row=train,
        )

    def train_dataloader(self) -> TensorBatchLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> TensorBatchLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> TensorBatchLoader:
        return self._loader("test", False)

    def predict_dataloader(self) -> TensorBatchLoader:
        return self._loader("test", False)


def auto_batch_size(rows: int) -> int:
    """About 16 steps an epoch for a small table (a 250-row table trained at 64 rows a batch
    takes 4 steps an epoch, too few for a network to fit in 30 epochs), 256 rows from ~4,000
    training rows up: the power of two nearest rows / 16, between 16 and 256."""
    return int(min(256, max(16, 2 ** round(math.log2(max(rows, 1) / 16)))))
