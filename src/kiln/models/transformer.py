"""Transformer encoder for sequences: learned positions, padding mask, pooled head.

Attention is PyTorch's scaled-dot-product attention (flash kernels under bf16 on a GPU when
nothing is padded), so ``trainer=gpu`` (bf16-mixed) and ``compile=true`` make it fast.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kiln.errors import KilnError
from kiln.models.attention import Block
from kiln.models.sequence_input import StepEmbedding, unpack, valid_mask


class SequenceTransformer(nn.Module):
    """Tokens or series steps -> embeddings + positions -> pre-norm blocks -> pool -> head.

    pool: ``mean`` or ``max`` over real steps, or ``last`` (the last real step; with ``causal=true`` it
    has read the whole sequence, GPT-style).
    """

    input_kinds = ("sequence", "tokens")

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        d_model: int = 64,
        layers: int = 2,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        dropout: float = 0.1,
        pool: str = "mean",
        causal: bool = False,
        conv_kernel: int = 0,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        if pool not in ("mean", "max", "last"):
            raise KilnError(f"model.pool={pool!r} is unknown; use mean, max or last.")
        if d_model % heads:
            raise KilnError(f"model.d_model={d_model} must be a multiple of model.heads={heads}.")
        self.pool, self.causal = pool, causal
        self.embed = StepEmbedding(in_shape, d_model, vocab_size)
        self.pos = nn.Parameter(torch.randn(1, in_shape[0], d_model) * 0.02)
        if self.embed.is_tokens:  # GPT-style: tokens and positions start on the same scale
            nn.init.normal_(self.embed.proj.weight, std=0.02)
        self.drop = nn.Dropout(dropout)
        # optional local stem: k-mer features for attention to compare (genomics-style)
        self.conv = (
            nn.Conv1d(d_model, d_model, conv_kernel, padding=conv_kernel // 2)
            if conv_kernel > 0
            else None
        )
        self.blocks = nn.ModuleList(
            Block(d_model, heads, mlp_ratio, dropout) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, out_features)

    def forward(self, x: Tensor | tuple[Tensor, ...]) -> Tensor:
        steps, lengths = unpack(x)
        t = steps.shape[1]
        h = self.embed(steps)
        valid = valid_mask(lengths, t)
        if self.conv is not None:
            h = self.conv(h.transpose(1, 2))[:, :, :t].transpose(1, 2)
        h = self.drop(h + self.pos[:, :t])
        mask = None
        if valid is not None:  # [N, 1, 1, T] keys a query may attend to
            mask = valid[:, None, None, :]
            if self.causal:
                mask = mask & torch.ones(t, t, dtype=torch.bool, device=h.device).tril()
        for block in self.blocks:
            h = block(h, mask=mask, causal=self.causal)
        h = self.norm(h)
        if self.pool == "last":
            idx = (lengths - 1).clamp(min=0) if lengths is not None else None
            pooled = h[:, -1] if idx is None else h[torch.arange(len(h), device=h.device), idx]
        elif self.pool == "max":
            pooled = (h if valid is None else h.masked_fill(~valid.unsqueeze(-1), -1e4)).amax(1)
        elif valid is None:
            pooled = h.mean(1)
        else:
            w = valid.unsqueeze(-1).to(h.dtype)
            pooled = (h * w).sum(1) / w.sum(1).clamp(min=1)
        return self.head(pooled)
