"""How sequence networks read their input: token ids (with lengths) or float series."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def unpack(x: Tensor | tuple[Tensor, ...]) -> tuple[Tensor, Tensor | None]:
    """(tokens, lengths) from a batch's inputs; a lone tensor means every step is real."""
    if isinstance(x, (tuple, list)):
        return x[0], (x[1] if len(x) > 1 else None)
    return x, None


def valid_mask(lengths: Tensor | None, steps: int) -> Tensor | None:
    """[N, T] True on real steps, False on padding; None when nothing is padded."""
    if lengths is None:
        return None
    return torch.arange(steps, device=lengths.device) < lengths.unsqueeze(1)


class StepEmbedding(nn.Module):
    """Token ids -> embeddings (id 0 is padding), or float steps (T, C) -> a linear projection."""

    def __init__(self, in_shape: tuple[int, ...], dim: int, vocab_size: int | None) -> None:
        super().__init__()
        self.is_tokens = vocab_size is not None
        if self.is_tokens:
            self.proj = nn.Embedding(vocab_size, dim, padding_idx=0)
        else:
            self.proj = nn.Linear(in_shape[-1] if len(in_shape) > 1 else 1, dim)

    def forward(self, x: Tensor) -> Tensor:
        if self.is_tokens:
            return self.proj(x)
        return self.proj(x if x.ndim == 3 else x.unsqueeze(-1))
