"""Standardisation of inputs and of regression targets, with statistics from the training split."""

from __future__ import annotations

import torch
from torch import Tensor

from kiln.preprocessing.base import Fitted

_EPS = 1e-12


class Standardize(Fitted):
    """(x - mean) / std with mean and std as buffers.

    ``reduce_dims`` picks what one statistic covers: for tables every feature has its own
    (reduce over rows only); for images every channel has its own (reduce over rows, height
    and width). Constant features get std 1 so they pass through as zeros instead of NaN.
    """

    def __init__(self, mean: Tensor | None = None, std: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", mean if mean is not None else torch.zeros(0))
        self.register_buffer("std", std if std is not None else torch.ones(0))

    @classmethod
    def fit(cls, x: Tensor, reduce_dims: tuple[int, ...] = (0,)) -> Standardize:
        x = x.double()
        mean = x.mean(dim=reduce_dims, keepdim=True)
        std = x.std(dim=reduce_dims, keepdim=True, unbiased=False)
        std = torch.where(std < _EPS, torch.ones_like(std), std)
        # keep the leading batch dim out of the stored shape; broadcasting puts it back
        return cls(mean.squeeze(0).float(), std.squeeze(0).float())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class TargetScaler(Fitted):
    """Maps a regression target to zero mean, unit variance for the loss, and back for outputs."""

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    @classmethod
    def fit(cls, y: Tensor) -> TargetScaler:
        y = y.double()
        std = float(y.std(unbiased=False))
        return cls(float(y.mean()), std if std > _EPS else 1.0)

    def scale(self, y: Tensor) -> Tensor:
        return (y - self.mean) / self.std

    def forward(self, z: Tensor) -> Tensor:
        return z * self.std + self.mean
