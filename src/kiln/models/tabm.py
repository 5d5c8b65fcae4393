"""TabM (Gorishniy et al., ICLR 2025): k MLPs that share their weights, in one network.

Each layer is a BatchEnsemble linear layer: member i computes ((x * r_i) @ W) * s_i + b_i, so k
members cost one weight matrix plus k small vectors. Numeric features first pass through
periodic embeddings (Gorishniy et al., NeurIPS 2022, "PLR-lite"): cos/sin of learned
frequencies, a shared linear layer and a ReLU, which lets an MLP bend on one feature's value the
way a tree's split does. Each member is trained on its own loss (``ensemble_members``: the
training step reads it); at evaluation the network returns the members' mean prediction as the
task's head takes it (the log of the mean probability, or the mean value), so export, predict
and serve see an ordinary ``(batch, out_features)`` model.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from kiln.errors import KilnError
from kiln.models.common import activation


class PeriodicEmbeddings(nn.Module):
    """Numeric features [N, F] -> [N, F * dim]: x -> ReLU(Linear([cos(2 pi c x), sin(2 pi c x)]))."""

    def __init__(self, features: int, frequencies: int, scale: float, dim: int) -> None:
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(features, frequencies) * scale)
        self.linear = nn.Linear(2 * frequencies, dim)  # shared by the features ("lite")

    def forward(self, x: Tensor) -> Tensor:
        v = 2 * math.pi * self.frequencies * x.unsqueeze(-1)
        return torch.relu(self.linear(torch.cat([torch.cos(v), torch.sin(v)], -1))).flatten(1)


class EnsembleLinear(nn.Module):
    """A BatchEnsemble layer: [N, k, d_in] -> [N, k, d_out] with one shared weight matrix."""

    def __init__(self, k: int, d_in: int, d_out: int, random_signs: bool) -> None:
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(d_in, d_out).uniform_(-bound, bound))
        r = torch.ones(k, d_in)
        if random_signs:  # the first layer: members start apart (TabM's initialisation)
            r = torch.where(torch.rand(k, d_in) < 0.5, -1.0, 1.0)
        self.r = nn.Parameter(r)
        self.s = nn.Parameter(torch.ones(k, d_out))
        self.bias = nn.Parameter(torch.empty(k, d_out).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return (x * self.r) @ self.weight * self.s + self.bias


class TabM(nn.Module):
    """Takes the flat features a table's preprocessor outputs: the numeric ones first
    (``numeric_features`` of them, a fact of table data), then the categorical encodings."""

    input_kinds = ("tabular",)

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_features: int,
        task: str = "multiclass",
        numeric_features: int = 0,
        k: int = 16,
        hidden: list[int] = (128, 128),
        dropout: float = 0.1,
        activation_fn: str = "relu",
        embedding: str = "periodic",
        frequencies: int = 16,
        frequency_scale: float = 0.1,
        embedding_dim: int = 8,
    ) -> None:
        super().__init__()
        if embedding not in ("periodic", "none"):
            raise KilnError(f"model.embedding={embedding!r} is unknown; use periodic or none.")
        width = math.prod(in_shape)
        self.task, self.ensemble_members = task, int(k)
        self.numeric = int(numeric_features) if embedding == "periodic" else 0
        self.embed = None
        if self.numeric:
            self.embed = PeriodicEmbeddings(
                self.numeric, frequencies, frequency_scale, embedding_dim
            )
            width += self.numeric * (embedding_dim - 1)
        layers: list[nn.Module] = []
        for i, h in enumerate(hidden):
            layers += [EnsembleLinear(self.ensemble_members, width, h, i == 0)]
            layers += [activation(activation_fn), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        bound = 1 / math.sqrt(width)
        k = self.ensemble_members
        self.head_weight = nn.Parameter(torch.empty(k, width, out_features).uniform_(-bound, bound))
        self.head_bias = nn.Parameter(torch.empty(k, out_features).uniform_(-bound, bound))

    def members(self, x: Tensor) -> Tensor:
        """Every member's raw output, [N, k, out_features]."""
        x = x.flatten(1)
        if self.embed is not None:
            x = torch.cat([self.embed(x[:, : self.numeric]), x[:, self.numeric :]], 1)
        h = self.body(x.unsqueeze(1).expand(-1, self.ensemble_members, -1))
        return torch.einsum("nkd,kdo->nko", h, self.head_weight) + self.head_bias

    def forward(self, x: Tensor) -> Tensor:
        z = self.members(x)
        return z if self.training else mean_prediction(z, self.task)


def mean_prediction(z: Tensor, task: str) -> Tensor:
    """The members' [N, k, out] outputs as one output whose head gives their mean prediction:
    log mean softmax (multiclass), the logit of the mean sigmoid (binary), else the mean."""
    log_k = math.log(z.shape[1])
    if task == "multiclass":
        return torch.logsumexp(torch.log_softmax(z, -1), 1) - log_k
    if task == "binary":
        log_p = torch.logsumexp(nn.functional.logsigmoid(z), 1)
        return log_p - torch.logsumexp(nn.functional.logsigmoid(-z), 1)  # the log k cancel
    return z.mean(1)
