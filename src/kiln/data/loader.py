"""The in-memory batch loader: whole-tensor indexing instead of per-sample __getitem__ + collate.

On a GPU the per-sample DataLoader path was measured 8x slower (DESIGN.md); here one index
tensor gathers a whole batch, and the tensors may already sit on the accelerator.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


class TensorBatchLoader:
    """Iterates over aligned tensors in batches, optionally shuffled and sharded across ranks.

    The shuffle order is a pure function of (seed, epoch), so a run resumed at epoch k sees
    exactly the batches an uninterrupted run would. Lightning calls ``set_epoch`` through the
    ``sampler`` attribute before each training epoch, as it does for a DataLoader's sampler.
    With ``world_size > 1`` every rank draws the same permutation and keeps its own stride of
    it, so each sample is seen once per epoch across ranks. ``equal_shards`` (training) cuts
    every shard to n // world_size rows, since DDP steps all ranks in lockstep: up to
    world_size - 1 rows, different ones each epoch, sit out an epoch. Without it (evaluation)
    the shards differ by at most one row and together hold every row exactly once.
    ``join_lone_row`` (training) folds a last batch of a single row into the batch before it:
    BatchNorm cannot train on one row, and a fold of K-fold CV can leave exactly one.
    """

    def __init__(
        self,
        tensors: Sequence[Tensor],
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        equal_shards: bool = True,
        join_lone_row: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors of a loader must have the same length")
        self.tensors = tuple(tensors)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.equal_shards = equal_shards
        self.join_lone_row = join_lone_row
        self.epoch = 0
        self.sampler = self  # Lightning's _set_sampler_epoch looks here for set_epoch
        self.batch_sampler = None  # and here, to tell a DataLoader-like object apart

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (equal on every rank with ``equal_shards``)."""
        n = len(self.tensors[0])
        if self.world_size == 1:
            return n
        return (
            n // self.world_size if self.equal_shards else len(range(self.rank, n, self.world_size))
        )

    def __len__(self) -> int:
        n, bs = self.num_samples, self.batch_size
        if self.drop_last or self._joins(n):
            return n // bs
        return -(-n // bs)

    def _joins(self, n: int) -> bool:
        return self.join_lone_row and n > self.batch_size and n % self.batch_size == 1

    def _indices(self) -> Tensor | None:
        n = len(self.tensors[0])
        device = self.tensors[0].device
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        elif self.world_size > 1:
            order = torch.arange(n)
        else:
            return None  # contiguous slices: views, no gather at all
        if self.world_size > 1:
            order = order[self.rank :: self.world_size][: self.num_samples]
        return order.to(device)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self._indices()
        n = self.num_samples
        bs = self.batch_size
        joins = self._joins(n)
        stop = (n // bs) * bs if self.drop_last or joins else n
        for start in range(0, stop, bs):
            end = n if joins and start + bs == stop else min(start + bs, n)
            if order is None:
                yield tuple(t[start:end] for t in self.tensors)
            else:
                idx = order[start:end]
                yield tuple(t[idx] for t in self.tensors)
