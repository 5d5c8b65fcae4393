"""uint8 images in, normalized float images out: the first module of an image model, so the
checkpoint, the ONNX graph and the server all take raw pixels."""

from __future__ import annotations

import torch
from torch import Tensor

from kiln.preprocessing.base import Fitted


class ImageInput(Fitted):
    """uint8 (N, H, W, C) -> float (N, C, H, W), (x / 255 - mean) / std per channel.

    mean and std are fitted on the training split's pixels (on the 0..1 scale). An input that is
    already (N, C, H, W) float (a batch augmented on the device) skips the layout change.
    """

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    @torch.no_grad()
    def fit(self, images: Tensor, chunk: int = 4096) -> ImageInput:
        """Per-channel mean and std of uint8 (N, H, W, C) images, in chunks (no float copy)."""
        channels = images.shape[-1]
        total = torch.zeros(channels, dtype=torch.float64)
        squares = torch.zeros(channels, dtype=torch.float64)
        for start in range(0, len(images), chunk):
            block = images[start : start + chunk].reshape(-1, channels).to(torch.float64) / 255.0
            total += block.sum(0)
            squares += (block * block).sum(0)
        count = max(images[..., 0].numel(), 1)
        mean = total / count
        std = (squares / count - mean * mean).clamp(min=0).sqrt().clamp(min=1e-3)
        self.mean = mean.to(torch.float32)
        self.std = std.to(torch.float32)
        return self

    def to_float(self, x: Tensor) -> Tensor:
        """uint8 (N, H, W, C) -> float (N, C, H, W) on the 0..1 scale (augmentation works here)."""
        return x.permute(0, 3, 1, 2).to(self.mean.dtype) / 255.0

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype == torch.uint8:
            x = self.to_float(x)
        mean = self.mean.view(1, -1, 1, 1)
        std = self.std.view(1, -1, 1, 1)
        return (x - mean) / std
