"""LSTM and GRU, uni- or bidirectional, over token sequences or time series."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from kiln.errors import KilnError
from kiln.models.sequence_input import StepEmbedding, unpack


class RNN(nn.Module):
    """Embedding (tokens) or projection (series) -> LSTM/GRU -> final state(s) -> head.

    Padded token batches are packed with their lengths, so the final state is the one at each
    sequence's own last token, not at the padding.
    """

    input_kinds = ("sequence", "tokens")

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        cell: str = "lstm",
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = False,
        embed_dim: int = 32,
        dropout: float = 0.0,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        cells = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in cells:
            raise KilnError(f"model.cell={cell!r} is unknown; use lstm or gru.")
        self.embed = StepEmbedding(in_shape, embed_dim, vocab_size)
        self.rnn = cells[cell](
            embed_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.directions = 2 if bidirectional else 1
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden * self.directions, out_features)
        )

    def forward(self, x: Tensor | tuple[Tensor, ...]) -> Tensor:
        steps, lengths = unpack(x)
        h = self.embed(steps)
        if lengths is not None:
            h = pack_padded_sequence(
                h, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
            )
        _, state = self.rnn(h)
        final = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        last = final[-self.directions :]  # the top layer, each direction
        return self.head(torch.cat(list(last), dim=-1))
