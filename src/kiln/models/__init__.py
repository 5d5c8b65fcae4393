"""Plain nn.Modules (no Lightning), each built from the data's InputSpec plus its own config."""

from __future__ import annotations

import functools
import inspect

from torch import nn

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models.catalog import model_names, models_for
from kiln.models.cnn import CNN
from kiln.models.contract import KilnModel, check_output, check_signature
from kiln.models.ft_transformer import FTTransformer
from kiln.models.mlp import MLP
from kiln.models.resmlp import ResMLP
from kiln.models.resnet import ResNet
from kiln.models.rnn import RNN
from kiln.models.transformer import SequenceTransformer

__all__ = [
    "CNN",
    "MLP",
    "RNN",
    "FTTransformer",
    "KilnModel",
    "ResMLP",
    "ResNet",
    "SequenceTransformer",
    "build_network",
    "check_output",
    "is_users",
    "model_names",
    "models_for",
]


def is_users(factory) -> bool:
    """A model class from outside kiln (a user's): its output is probed once it is built."""
    cls = factory.func if isinstance(factory, functools.partial) else factory
    return not str(getattr(cls, "__module__", "")).startswith("kiln.")


def build_network(factory: functools.partial, spec: InputSpec) -> nn.Module:
    """Call a model factory (a Hydra ``_partial_``) as kiln.models.contract describes: with the
    shape and output size from ``spec`` and the data's facts its constructor asks for by name."""
    cls = factory.func if isinstance(factory, functools.partial) else factory
    kinds = getattr(cls, "input_kinds", None)
    name = getattr(cls, "__name__", str(cls))
    if kinds is not None and spec.kind not in kinds:
        raise KilnError(
            f"model {name} does not take {spec.kind} data ({spec.dataset}); "
            f"models that fit {spec.kind} data: {', '.join(models_for(spec.kind))}."
        )
    given = getattr(factory, "keywords", {})
    if inspect.isclass(cls):
        check_signature(cls, spec, given)
    # facts of the data a model may ask for by name (vocab_size of token data), unless configured
    params = inspect.signature(cls).parameters if inspect.isclass(cls) else {}
    facts = {**spec.extra, "task": spec.task}
    extra = {k: v for k, v in facts.items() if k in params and k not in given}
    try:
        network = factory(in_shape=tuple(spec.shape), out_features=spec.num_outputs, **extra)
    except (TypeError, ValueError) as err:  # e.g. model.hidden=abc, model.dropout out of range
        raise KilnError(
            f"Could not build model {name} from its config ({err}); check the model.* values."
        ) from None
    if not isinstance(network, nn.Module):
        raise KilnError(
            f"model {name} built a {type(network).__name__}, not a torch.nn.Module; model._target_ "
            "must name an nn.Module class (docs/extending.md)."
        )
    empty = [n for n, p in network.named_parameters() if p.numel() == 0]
    if empty:  # model.hidden=[0]: builds, then fails deep inside the first forward pass
        raise KilnError(
            f"model {name} has a layer of width 0 ({empty[0]}); every width and channel count "
            "in model.* must be at least 1."
        )
    return network
