"""Small building blocks shared by the networks."""

from __future__ import annotations

from torch import nn

from kiln.errors import KilnError

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise KilnError(f"activation={name!r} is unknown; use one of {', '.join(_ACTIVATIONS)}.")
    return _ACTIVATIONS[name]()


def norm_1d(kind: str, width: int) -> nn.Module:
    """Normalisation for feature vectors: batch, layer or none."""
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    if kind in ("none", None):
        return nn.Identity()
    raise KilnError(f"norm={kind!r} is unknown; use batch, layer or none.")
