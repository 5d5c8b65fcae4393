"""A small convolutional network for images of any size and channel count."""

from __future__ import annotations

from torch import Tensor, nn

from kiln.errors import KilnError
from kiln.models.common import activation


class CNN(nn.Module):
    """Blocks of (conv -> batch norm -> activation) x2 -> pool, then global pooling and a head.

    The global average pool makes the head independent of the image size, so the same config
    fits 8x8 digits and larger images alike.
    """

    input_kinds = ("image",)

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        channels: list[int] = (32, 64),
        kernel_size: int = 3,
        pool: str = "max",
        activation_fn: str = "relu",
        dropout: float = 0.0,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise KilnError(f"model.pool={pool!r} is unknown; use max or avg.")
        if kernel_size % 2 == 0:
            raise KilnError(
                f"model.kernel_size={kernel_size} must be odd so the image keeps its size."
            )
        pool_cls = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
        blocks: list[nn.Module] = []
        c_in, size = in_shape[0], min(in_shape[1:])
        for c_out in channels:
            for _ in range(2):
                blocks += [
                    nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
                    nn.BatchNorm2d(c_out),
                    activation(activation_fn),
                ]
                c_in = c_out
            if size >= 4:  # pool while the map is big enough to keep spatial detail
                blocks.append(pool_cls(2))
                size //= 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c_in, hidden),
            activation(activation_fn),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
