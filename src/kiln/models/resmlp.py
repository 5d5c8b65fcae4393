"""Residual MLP for flat features: deeper than a plain MLP without losing the gradient."""

from __future__ import annotations

import math

from torch import Tensor, nn

from kiln.models.common import activation


class ResBlock(nn.Module):
    """x + Linear(drop(act(Linear(norm(x))))) (the tabular ResNet block of Gorishniy et al.)."""

    def __init__(self, width: int, hidden: int, activation_fn: str, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm1d(width),
            nn.Linear(width, hidden),
            activation(activation_fn),
            nn.Dropout(dropout),
            nn.Linear(hidden, width),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResMLP(nn.Module):
    """Linear stem to ``width``, ``blocks`` residual blocks, then norm, activation and a head."""

    input_kinds = ("tabular", "image", "sequence")

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        width: int = 128,
        hidden: int = 256,
        blocks: int = 2,
        activation_fn: str = "relu",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), width))
        self.blocks = nn.Sequential(
            *(ResBlock(width, hidden, activation_fn, dropout) for _ in range(blocks))
        )
        self.head = nn.Sequential(
            nn.BatchNorm1d(width), activation(activation_fn), nn.Linear(width, out_features)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)))
