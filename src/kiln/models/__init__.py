"""Plain nn.Modules (no Lightning), each built from the data's InputSpec plus its own config."""

from __future__ import annotations

import functools

from torch import nn

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models.cnn import CNN
from kiln.models.mlp import MLP

# config name (conf/model/<name>.yaml) -> class; used to name the models that fit a data kind
REGISTRY: dict[str, type[nn.Module]] = {"mlp": MLP, "cnn": CNN}


def models_for(kind: str) -> list[str]:
    return sorted(name for name, cls in REGISTRY.items() if kind in getattr(cls, "input_kinds", ()))


def build_network(factory: functools.partial, spec: InputSpec) -> nn.Module:
    """Call a model factory (a Hydra ``_partial_``) with the shape and output size from ``spec``."""
    cls = factory.func if isinstance(factory, functools.partial) else factory
    kinds = getattr(cls, "input_kinds", None)
    name = getattr(cls, "__name__", str(cls))
    if kinds is not None and spec.kind not in kinds:
        raise KilnError(
            f"model {name} does not take {spec.kind} data ({spec.dataset}); "
            f"models that fit {spec.kind} data: {', '.join(models_for(spec.kind))}."
        )
    return factory(in_shape=tuple(spec.shape), out_features=spec.num_outputs)
