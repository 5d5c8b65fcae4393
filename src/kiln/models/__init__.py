"""Plain nn.Modules (no Lightning), each built from the data's InputSpec plus its own config."""

from __future__ import annotations

import functools
import inspect

from torch import nn

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models.cnn import CNN
from kiln.models.ft_transformer import FTTransformer
from kiln.models.mlp import MLP
from kiln.models.resmlp import ResMLP
from kiln.models.resnet import ResNet
from kiln.models.rnn import RNN
from kiln.models.transformer import SequenceTransformer

# config name (conf/model/<name>.yaml) -> class; used to name the models that fit a data kind
REGISTRY: dict[str, type[nn.Module]] = {"mlp": MLP, "cnn": CNN}
REGISTRY.update(
    resmlp=ResMLP,
    ft_transformer=FTTransformer,
    resnet=ResNet,
    lstm=RNN,
    gru=RNN,
    transformer=SequenceTransformer,
)


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
    # facts of the data a model may ask for by name (vocab_size of token data), unless configured
    params = inspect.signature(cls).parameters if inspect.isclass(cls) else {}
    given = getattr(factory, "keywords", {})
    extra = {k: v for k, v in spec.extra.items() if k in params and k not in given}
    try:
        network = factory(in_shape=tuple(spec.shape), out_features=spec.num_outputs, **extra)
    except (TypeError, ValueError) as err:  # e.g. model.hidden=abc, model.dropout out of range
        raise KilnError(
            f"Could not build model {name} from its config ({err}); check the model.* values."
        ) from None
    empty = [n for n, p in network.named_parameters() if p.numel() == 0]
    if empty:  # model.hidden=[0]: builds, then fails deep inside the first forward pass
        raise KilnError(
            f"model {name} has a layer of width 0 ({empty[0]}); every width and channel count "
            "in model.* must be at least 1."
        )
    return network
