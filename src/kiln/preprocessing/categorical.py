"""Categorical columns: integer codes from the schema -> one-hot blocks or learned embeddings.

Codes follow kiln.data.schema: 0 = unknown (unseen or rare), 1 = missing, 2.. = the
training vocabulary. A missing value is its own token unless the column imputes the most
frequent code. Embedding tables are parameters, trained with the network: every embedded
column's rows sit in ONE table, padded to the widest column, so a batch takes one lookup (39
per-column lookups cost ~3x more per step, forward and backward, on a 3,000 x 75 table).
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
    columns of each encoding, ``offsets`` place each one-hot block. ``embedding`` holds column
    k's rows at ``rows[k]`` onward, its first ``embed_dims[k]`` entries used and the rest zero.
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
        self.embedding = padded_embedding([cards[i] for i in em], dims)
        rows = [sum(cards[i] for i in em[:k]) for k in range(len(em))]
        width = max(dims, default=0)
        picks = [k * width + j for k, d in enumerate(dims) for j in range(d)]
        self.register_buffer("rows", torch.tensor(rows, dtype=long), persistent=False)
        self.register_buffer("picks", torch.tensor(picks, dtype=long), persistent=False)
        self.embed_width = sum(dims)
        self.layout = {"cards": cards, "onehot": onehot, "embed_dims": dims}

    @property
    def out_features(self) -> int:
        return self.onehot_width + self.embed_width

    def forward(self, x: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        x = torch.where(x == MISSING, self.fill, x)
        x = torch.where((x < 0) | (x >= self.cards), UNKNOWN, x)  # never an index error
        parts = []
        if self.onehot_width:
            hot = x[:, self.onehot_idx] + self.offsets
            out = torch.zeros(x.shape[0], self.onehot_width, dtype=dtype, device=x.device)
            parts.append(out.scatter_(1, hot, 1.0))
        if self.embedding is not None:  # one lookup [N, C, width], then each column's dims
            found = self.embedding(x[:, self.embed_idx] + self.rows).flatten(1)
            parts.append(found.index_select(1, self.picks).to(dtype))
        if not parts:
            return x.new_zeros(x.shape[0], 0, dtype=dtype)
        return torch.cat(parts, 1) if len(parts) > 1 else parts[0]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        stack_per_column(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def padded_embedding(cards: list[int], dims: list[int]) -> nn.Embedding | None:
    """One table for every column: column k's rows, N(0, 1) in its first dims[k] entries."""
    if not dims:
        return None
    table = nn.Embedding(sum(cards), max(dims))
    with torch.no_grad():
        start = 0
        for card, dim in zip(cards, dims, strict=True):
            table.weight[start : start + card, dim:] = 0.0
            start += card
    return table


def stack_per_column(state_dict: dict, prefix: str) -> None:
    """Checkpoints before the single table kept ``embeddings.<k>.weight``: stack them, padded."""
    old = f"{prefix}embeddings."
    keys = sorted((k for k in state_dict if k.startswith(old)), key=lambda k: int(k.split(".")[-2]))
    if not keys:
        return
    weights = [state_dict.pop(k) for k in keys]
    width = max(w.shape[1] for w in weights)
    padded = [torch.nn.functional.pad(w, (0, width - w.shape[1])) for w in weights]
    state_dict[f"{prefix}embedding.weight"] = torch.cat(padded, 0)
