"""Multi-layer perceptron: flattens whatever it is given, so it fits tables and small images."""

from __future__ import annotations

import math

from torch import Tensor, nn

from kiln.models.common import activation, norm_1d


class MLP(nn.Module):
    """Linear -> norm -> activation -> dropout, for each hidden width, then a linear head.

    in_shape and out_features come from the data's InputSpec; the rest is config.
    """

    input_kinds = ("tabular", "image", "sequence")

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        hidden: list[int] = (256, 256),
        activation_fn: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), norm_1d(norm, h), activation(activation_fn)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
