"""LSTM and GRU, uni- or bidirectional, over token sequences or time series."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from kiln.errors import KilnError
from kiln.models.sequence_input import StepEmbedding, unpack, valid_mask


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
        if torch.compiler.is_exporting():  # torch.export (ONNX) cannot trace packed sequences
            return self.head(torch.cat(self.masked_final_states(h, lengths), dim=-1))
        if lengths is not None:
            h = pack_padded_sequence(
                h, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
            )
        _, state = self.rnn(h)
        final = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        last = final[-self.directions :]  # the top layer, each direction
        return self.head(torch.cat(list(last), dim=-1))

    def masked_final_states(self, x: Tensor, lengths: Tensor | None) -> list[Tensor]:
        """The packed path's final states of the top layer (one per direction), computed step by
        step over the padded batch with the RNN's own weights: a step past a sequence's length
        keeps the state, so the forward direction stops at the last real token and the backward
        one starts there. Plain tensor ops over a fixed number of steps, which torch.export
        traces for any batch size (the sequence length is the artifact's fixed input width)."""
        rnn, lstm = self.rnn, isinstance(self.rnn, nn.LSTM)
        steps = x.shape[1]
        mask = valid_mask(None if lengths is None else lengths.clamp(min=1), steps)
        finals: list[Tensor] = []
        for layer in range(rnn.num_layers):
            outputs, finals = [], []
            for direction in range(self.directions):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                w_hh = getattr(rnn, f"weight_hh{sfx}")
                b_hh = getattr(rnn, f"bias_hh{sfx}", None)
                gi_all = F.linear(
                    x, getattr(rnn, f"weight_ih{sfx}"), getattr(rnn, f"bias_ih{sfx}", None)
                )
                h = x.new_zeros(()).expand(x.shape[0], rnn.hidden_size)
                c = h
                out: list[Tensor | None] = [None] * steps
                for t in range(steps - 1, -1, -1) if direction else range(steps):
                    gi, gh = gi_all[:, t], F.linear(h, w_hh, b_hh)
                    if lstm:
                        i, f, g, o = (gi + gh).chunk(4, 1)
                        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                        h_new = torch.sigmoid(o) * torch.tanh(c_new)
                    else:  # GRU
                        ir, iz, in_ = gi.chunk(3, 1)
                        hr, hz, hn = gh.chunk(3, 1)
                        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                        h_new = (1 - z) * torch.tanh(in_ + r * hn) + z * h
                        c_new = c
                    if mask is not None:
                        keep = mask[:, t : t + 1]
                        h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
                    h, c = h_new, c_new
                    out[t] = h
                outputs.append(torch.stack(out, 1))
                finals.append(h)
            x = torch.cat(outputs, -1)
        return finals
