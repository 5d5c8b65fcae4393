"""Categorical columns: integer codes from the schema -> one-hot blocks or learned embeddings.

Codes follow kiln.data.schema: 0 = unknown (unseen or rare), 1 = missing, 2.. = the
training vocabulary. A missing value is its own token unless the column imputes the most
frequent code. Embedding tables are parameters, trained with the network.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kiln.preprocessing.base import Fitted

UNKNOWN, MISSING = 0, 1


def embedding_dim(cardinality: int, cap: int) -> int:
    """A size that grows sub-linearly with the number of categories (fastai's rule), capped."""
    return max(1, min(cap, round(1.6 * cardinality**0.56)))


class CategoricalPipeline(Fitted):
    """x_cat [N, C] int64 -> [N, one-hot widths + embedding dims].

    ``cards`` holds each column's code count (vocabulary + 2); ``fill`` the code a missing
    value becomes (1 keeps it as its own token); ``onehot_idx`` / ``embed_idx`` pick the
    columns of each encoding, ``offsets`` place each one-hot block.
    """

    def __init__(
        self,
        cards: list[int] | None = None,
        fill: list[int] | None = None,
        onehot: list[bool] | None = None,
        embed_dims: list[int] | None = None,
    ) -> None:
        super().__init__()
        cards = list(cards or [])
        onehot = list(onehot or [False] * len(cards))
        oh = [i for i, o in enumerate(onehot) if o]
        em = [i for i, o in enumerate(onehot) if not o]
        widths = [cards[i] for i in oh]
        offsets = [sum(widths[:k]) for k in range(len(widths))]
        long = torch.long
        self.register_buffer("cards", torch.tensor(cards, dtype=long))
        self.register_buffer("fill", torch.tensor(fill or [MISSING] * len(cards), dtype=long))
        self.register_buffer("onehot_idx", torch.tensor(oh, dtype=long))
        self.register_buffer("embed_idx", torch.tensor(em, dtype=long))
        self.register_buffer("offsets", torch.tensor(offsets, dtype=long))
        self.onehot_width = sum(widths)
        dims = list(embed_dims or [])
        self.embeddings = nn.ModuleList(
            nn.Embedding(cards[i], d) for i, d in zip(em, dims, strict=True)
        )
        self.layout = {"cards": cards, "onehot": onehot, "embed_dims": dims}

    @property
    def out_features(self) -> int:
        return self.onehot_width + sum(e.embedding_dim for e in self.embeddings)

    def forward(self, x: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        x = torch.where(x == MISSING, self.fill, x)
        x = torch.where((x < 0) | (x >= self.cards), UNKNOWN, x)  # never an index error
        parts = []
        if self.onehot_width:
            hot = x[:, self.onehot_idx] + self.offsets
            out = torch.zeros(x.shape[0], self.onehot_width, dtype=dtype, device=x.device)
            parts.append(out.scatter_(1, hot, 1.0))
        em = x[:, self.embed_idx]
        parts += [emb(em[:, k]).to(dtype) for k, emb in enumerate(self.embeddings)]
        if not parts:
            return x.new_zeros(x.shape[0], 0, dtype=dtype)
        return torch.cat(parts, 1)
