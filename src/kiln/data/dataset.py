"""A user's torch Dataset as kiln data: its (x, y) pairs read once into tensors, then split,
preprocessed and served by batch indexing like every in-memory set (docs/extending.md)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from kiln.data.base import InMemoryDataModule, RawData
from kiln.errors import KilnError
from kiln.preprocessing.scale import Standardize

KIND_BY_NDIM = {1: "tabular", 2: "sequence", 3: "image"}  # one sample: (F,), (T, C), (C, H, W)
REDUCE = {"tabular": (0,), "sequence": (0, 1), "image": (0, 2, 3)}


class DatasetDataModule(InMemoryDataModule):
    """``data=dataset data.dataset._target_=mypkg.MyDataset``: any map-style Dataset whose items
    are ``(x, y)``, x a float array of one fixed shape and y one number (a class or a value).

    The whole set is materialised in memory (kiln serves in-memory data by batch indexing, not
    per-sample ``__getitem__``), so it must fit there; ``standardize`` fits a per-feature (per
    channel for images) standardisation on the training split, stored with the weights.
    """

    def __init__(self, dataset, name: str | None = None, standardize: bool = True,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.dataset = dataset
        self.kind: str | None = None  # from one sample's shape: (F,), (T, C) or (C, H, W)
        self.name = name or type(dataset).__name__
        self.standardize = bool(standardize)

    def load(self) -> RawData:
        where = f"data.dataset ({type(self.dataset).__name__})"
        try:
            n = len(self.dataset)
        except TypeError:
            raise KilnError(
                f"{where} has no len(); kiln reads a map-style Dataset (__len__ and __getitem__) into memory."
            ) from None
        if n == 0:
            raise KilnError(f"{where} is empty; give it at least a few rows per split.")
        xs, ys = [], []
        for i in range(n):
            item = self.dataset[i]
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise KilnError(
                    f"{where}[{i}] is a {type(item).__name__}, not an (x, y) pair; make __getitem__ return (features, target)."
                )
            x, y = torch.as_tensor(item[0], dtype=torch.float32), torch.as_tensor(item[1])
            if y.numel() != 1:
                raise KilnError(
                    f"{where}[{i}] has a target of shape {tuple(y.shape)}; kiln takes one number per row (a class or a value)."
                )
            if xs and x.shape != xs[0].shape:
                raise KilnError(
                    f"{where}[{i}] has features of shape {tuple(x.shape)} and row 0 {tuple(xs[0].shape)}; every x must have one shape."
                )
            xs.append(x)
            ys.append(y.item())
        self.kind = KIND_BY_NDIM.get(xs[0].ndim)
        if self.kind is None:
            raise KilnError(
                f"{where} gives features of shape {tuple(xs[0].shape)}; kiln takes a table row "
                "(F,), a sequence (T, C) or an image (C, H, W)."
            )
        return RawData(x=torch.stack(xs).numpy(), y=np.asarray(ys), kind=self.kind, name=self.name)

    def fit_preprocessor(self, x_train: torch.Tensor) -> nn.Module:
        if not self.standardize:
            return nn.Identity()
        return Standardize.fit(x_train, reduce_dims=REDUCE[self.kind])
