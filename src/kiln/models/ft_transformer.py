"""FT-Transformer (Gorishniy et al., 2021): every feature becomes a token, a [CLS] token reads them."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from kiln.models.attention import Block


class FeatureTokenizer(nn.Module):
    """Feature j of value x_j -> the token x_j * w_j + b_j (one weight and bias vector per feature)."""

    def __init__(self, features: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(features, dim) / math.sqrt(dim))
        self.bias = nn.Parameter(torch.randn(features, dim) / math.sqrt(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-1) * self.weight + self.bias


class FTTransformer(nn.Module):
    """Takes the flat float features (F,) a table's preprocessor outputs."""

    input_kinds = ("tabular",)

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.tokenizer = FeatureTokenizer(math.prod(in_shape), d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.blocks = nn.ModuleList(
            Block(d_model, heads, mlp_ratio, dropout) for _ in range(layers)
        )
        self.head = nn.Sequential(
            nn.LayerNorm(d_model), nn.ReLU(), nn.Linear(d_model, out_features)
        )

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.tokenizer(x.flatten(1))
        h = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1)
        for block in self.blocks:
            h = block(h)
        return self.head(h[:, 0])
