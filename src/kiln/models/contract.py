"""The constructor and output contract every network kiln builds keeps, kiln's own or a user's.

kiln builds ``model`` as a Hydra ``_partial_`` and calls it with what the data tells it:

    network = Model(in_shape=spec.shape, out_features=spec.num_outputs, **facts, **model.*)

``facts`` are the data's extra facts a constructor asks for by name (``vocab_size`` of token
data, ``numeric_features`` of a table: its first columns) and ``task`` (multiclass, binary,
regression, forecast). ``forward`` takes one batch as the preprocessor hands it on and returns
``(batch, out_features)``; ``(batch,)`` also does when ``out_features`` is 1. An optional class
attribute ``input_kinds`` (e.g. ``("tabular",)``) names the kinds of data it takes. An ensemble
that trains each member on its own loss sets ``ensemble_members = k`` and returns
``(batch, k, out_features)`` in training mode (kiln.models.tabm).
"""

from __future__ import annotations

import inspect
from typing import ClassVar, Protocol

import torch
from torch import Tensor, nn

from kiln.data.spec import InputSpec
from kiln.errors import KilnError

SUPPLIED = ("in_shape", "out_features")  # what kiln passes every model


class KilnModel(Protocol):
    """What a model class offers kiln (docs/extending.md)."""

    input_kinds: ClassVar[tuple[str, ...]]

    def __init__(self, in_shape: tuple[int, ...], out_features: int, **config) -> None: ...

    def forward(self, x: Tensor | tuple[Tensor, ...]) -> Tensor: ...


def check_signature(cls, spec: InputSpec, given: dict) -> None:
    """Refuse, in one sentence, a constructor kiln cannot call: one that takes no ``in_shape``
    or ``out_features``, or that requires a value neither the data nor ``model.*`` gives."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return  # no signature to read (a builtin): calling it is the check
    name = f"{cls.__module__}.{cls.__qualname__}"
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    absent = [k for k in SUPPLIED if k not in params and not takes_any]
    if absent:
        raise KilnError(
            f"model {name} takes no {' or '.join(absent)}, which kiln passes every model; add "
            f"{', '.join(absent)} to its __init__ (docs/extending.md: the model contract)."
        )
    supplied = {*SUPPLIED, *spec.extra, "task", *given}
    required = [
        k
        for k, p in params.items()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and k not in supplied
    ]
    if required:
        raise KilnError(
            f"model {name} requires {', '.join(required)}, which neither the data nor the model "
            f"config gives; set model.{required[0]}=... (or give it a default in __init__)."
        )


def check_output(network: nn.Module, probe, spec: InputSpec, name: str) -> None:
    """Run ``network`` on a probe batch (preprocessed rows of the training split) and refuse an
    output that is not ``(batch, num_outputs)`` (or ``(batch,)`` for one output)."""
    rows = len(probe[0] if isinstance(probe, tuple) else probe)
    want = (rows, spec.num_outputs)
    was_training = network.training
    network.eval()  # no batch-norm statistics move
    try:
        with torch.no_grad():
            out = network(probe)
    except Exception as err:  # a user's forward failing on kiln's batch: say which and why
        raise KilnError(
            f"model {name} failed on a probe batch of {rows} rows shaped like the data "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); its forward "
            f"must take a batch of shape (batch, {', '.join(map(str, spec.shape))})."
        ) from None
    finally:
        network.train(was_training)
    shape = tuple(out.shape) if isinstance(out, Tensor) else None
    if shape == want or (spec.num_outputs == 1 and shape == (rows,)):
        return
    raise KilnError(
        f"model {name} returned {'shape ' + str(shape) if shape else type(out).__name__} on a probe "
        f"batch of {rows} rows, and a {spec.task} task with {spec.num_outputs} output(s) needs "
        f"{want}; make forward return (batch, out_features)."
    )
