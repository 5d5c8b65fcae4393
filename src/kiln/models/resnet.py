"""A small ResNet for images: basic residual blocks in stages, global pooling, a linear head."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from kiln.errors import KilnError


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the input (a 1x1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))


def stem_stride_for(size: int) -> int:
    """The stem's stride for images whose shorter side is ``size``: none for small images
    (8x8 digits, 32x32), 2 from 64 px, 4 from 128 px (224x224: stages at 56, 28, 14)."""
    return 1 if size < 64 else 2 if size < 128 else 4


class ResNet(nn.Module):
    """Stage i has ``blocks_per_stage`` blocks of ``channels[i]``; stages after the first halve
    the map while it is at least 4 pixels wide, so 8x8 digits and larger images both fit.

    ``stem_stride`` (1, 2 or 4; null: from the image size, ``stem_stride_for``) shrinks large
    images before the first stage: a strided 3x3 convolution, then a 2x2 max pool for 4."""

    input_kinds = ("image",)

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        channels: list[int] = (32, 64, 128),
        blocks_per_stage: int = 2,
        dropout: float = 0.0,
        stem_stride: int | None = None,
    ) -> None:
        super().__init__()
        c_in, size = in_shape[0], min(in_shape[1:])
        stride = stem_stride_for(size) if stem_stride is None else stem_stride
        if stride not in (1, 2, 4):
            raise KilnError(
                f"model.stem_stride={stem_stride} must be 1, 2 or 4 (or null: by size)."
            )
        self.stem = nn.Sequential(
            nn.Conv2d(c_in, channels[0], 3, min(stride, 2), 1, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(),
            *([nn.MaxPool2d(2)] if stride == 4 else []),
        )
        size = max(size // stride, 1)
        stages, c = [], channels[0]
        for i, c_out in enumerate(channels):
            stride = 2 if i > 0 and size >= 4 else 1
            size //= stride
            for j in range(blocks_per_stage):
                stages.append(BasicBlock(c, c_out, stride if j == 0 else 1))
                c = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, out_features)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)))
