"""Token sequences as order-free features: the frequency of each token in a sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TokenCounts(nn.Module):
    """(tokens [N, T], lengths [N]) -> frequency of each non-padding id [N, V-1].

    What an order-blind model sees of a sequence: base composition for DNA, letter
    frequencies for text. Nothing is fitted; the vocabulary size is a constructor argument.
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = int(vocab_size)

    def forward(self, x: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        tokens, lengths = x if isinstance(x, (tuple, list)) else (x, None)
        if lengths is None:  # fixed-length batches carry no lengths
            lengths = torch.full_like(tokens[:, 0], tokens.shape[1])
        # zeros sized by tokens.shape[0], not len(tokens): torch.export (ONNX) would fix the
        # batch size of a tensor made from len()
        counts = tokens.new_zeros((tokens.shape[0], self.vocab_size), dtype=torch.float32)
        counts = counts.scatter_add(1, tokens, torch.ones_like(tokens, dtype=counts.dtype))
        return counts[:, 1:] / lengths.clamp(min=1).unsqueeze(1).to(counts.dtype)
