"""What kiln needs from a data module, kiln's own or a user's LightningDataModule.

After ``setup("fit")``: ``spec`` (an InputSpec: kind, shape, task, num_outputs, dataset name),
and loaders of batches that are tuples ``(*inputs, target)``. Optional, with these defaults:
``preprocessor`` (an nn.Module in front of the network: none), ``target_stats`` ((mean, std) of
a regression target: (0, 1)), ``report()`` (rows per split: the spec alone), ``batch_size``, and
``splits`` ({"train": (*inputs, target), ...} tensors: else read from the loaders).
"""

from __future__ import annotations

import torch

from kiln.data.spec import InputSpec
from kiln.errors import KilnError


def adopt(dm) -> None:
    """Check a set-up data module keeps the contract, and give the optional parts their defaults."""
    name = f"{type(dm).__module__}.{type(dm).__qualname__}"
    spec = getattr(dm, "spec", None)
    if not isinstance(spec, InputSpec):
        raise KilnError(
            f"data module {name} has no spec after setup('fit') (it has "
            f"{type(spec).__name__}); set self.spec = kiln.data.InputSpec(kind=..., shape=..., "
            "task=..., num_outputs=..., dataset=...) in setup (docs/extending.md)."
        )
    for attr, default in (("preprocessor", None), ("target_stats", None), ("batch_size", None)):
        if not hasattr(dm, attr):
            setattr(dm, attr, default)
    if not callable(getattr(dm, "report", None)):
        dm.report = lambda: {"dataset": spec.dataset, "task": spec.task, "spec": spec.to_dict()}


def split_tensors(dm, name: str) -> tuple[torch.Tensor, ...]:
    """A split as tensors ``(*inputs, target)``: kiln's ``splits[name]``, else every batch of
    ``<name>_dataloader()`` joined (a user's data module: export's parity check and the drift
    reference read it)."""
    splits = getattr(dm, "splits", None)
    if isinstance(splits, dict) and name in splits:
        return tuple(splits[name])
    batches = [tuple(b) for b in getattr(dm, f"{name}_dataloader")()]
    if not batches:
        raise KilnError(
            f"the data module's {name}_dataloader() gave no batches; kiln needs rows in the "
            f"{name} split (export checks the artifact on the test split against PyTorch)."
        )
    return tuple(torch.cat([b[i] for b in batches]) for i in range(len(batches[0])))
