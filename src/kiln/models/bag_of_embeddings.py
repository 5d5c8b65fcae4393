"""A fast text baseline: the mean of a text's token embeddings, then a linear layer (fastText-like).

Order is thrown away, as in a bag of words, but subword embeddings are learned end to end; on
a CPU it trains in a fraction of a Transformer's time and is the model to beat first.
"""

from __future__ import annotations

from torch import Tensor, nn

from kiln.models.sequence_input import unpack, valid_mask


class BagOfEmbeddings(nn.Module):
    """Token ids [N, T] (+ lengths [N]) -> mean embedding over real tokens -> dropout -> linear."""

    input_kinds = ("tokens",)

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        vocab_size: int,
        embed_dim: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, out_features)

    def forward(self, x: Tensor | tuple[Tensor, ...]) -> Tensor:
        tokens, lengths = unpack(x)
        h = self.embed(tokens)
        valid = valid_mask(lengths, tokens.shape[1])
        if valid is None:
            pooled = h.mean(1)
        else:
            w = valid.unsqueeze(-1).to(h.dtype)
            pooled = (h * w).sum(1) / w.sum(1).clamp(min=1)
        return self.head(self.drop(pooled))
