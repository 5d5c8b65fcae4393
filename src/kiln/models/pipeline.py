"""The model as a deployment runs it: preprocessor -> network -> head, raw inputs in.

``KilnModule`` (training) and ``InferencePipeline`` (an artifact's torch backend) share these
steps, so the server never needs Lightning and both answer alike. The pipeline's attributes
carry a KilnModule's names (``preprocessor``, ``network``, ``target_scaler``), so the weights a
KilnModule saved load into it as they are.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kiln.data.spec import InputSpec
from kiln.preprocessing.scale import TargetScaler

SCALED_TARGETS = ("regression", "forecast")  # tasks trained on a standardised target


def network_output(spec: InputSpec, z: Tensor, temperature: nn.Module | None = None) -> Tensor:
    """The network's output as the head takes it: one column squeezed, except for class scores
    and forecast horizons; a classifier's logits divided by its temperature."""
    z = z.squeeze(-1) if spec.task not in ("multiclass", "forecast", "multilabel") else z
    return z if temperature is None else temperature(z)


def prediction(spec: InputSpec, target_scaler: nn.Module | None, z: Tensor) -> Tensor:
    """Probabilities for classification, original-scale values for regression."""
    if spec.task == "multiclass":
        return z.float().softmax(-1)
    if spec.task in ("binary", "multilabel"):  # multilabel: each label on its own
        return z.float().sigmoid()
    return target_scaler(z.float()) if target_scaler is not None else z.float()


def target_scaler_for(spec: InputSpec, stats: tuple[float, float] | None = None):
    """A TargetScaler for tasks trained on a standardised target, else None."""
    return TargetScaler(*(stats or (0.0, 1.0))) if spec.task in SCALED_TARGETS else None


class FittedScalar(nn.Module):
    """One number fitted after training, a buffer ``value`` so every checkpoint and torch
    artifact carries it; weights saved before it existed load with ``DEFAULT``, the value they
    were trained and scored with."""

    DEFAULT = 0.0

    def __init__(self, value: float | None = None) -> None:
        super().__init__()
        self.register_buffer("value", torch.tensor(float(self.DEFAULT if value is None else value)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        state_dict.setdefault(prefix + "value", torch.tensor(self.DEFAULT))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class DecisionThreshold(FittedScalar):
    """A binary model's cut: the label is the second class where P(second class) > ``value``
    (ONNX answers probabilities; the artifact's metadata carries the value)."""

    DEFAULT = 0.5


def decision_for(spec: InputSpec) -> DecisionThreshold | None:
    """The decision threshold of a binary model (the spec's fixed value, else 0.5), else None."""
    if spec.task != "binary":
        return None
    fixed = spec.extra.get("decision_threshold")
    return DecisionThreshold(fixed if isinstance(fixed, float) else 0.5)


class Temperature(FittedScalar):
    """Temperature scaling: a classifier's logits divided by ``value`` before softmax/sigmoid,
    fitted on the validation split after training (kiln.training.calibration); the ONNX graph
    carries it as a Div node."""

    DEFAULT = 1.0

    def forward(self, z: Tensor) -> Tensor:
        return z / self.value


def temperature_for(spec: InputSpec) -> Temperature | None:
    """A classifier's temperature (1 until calibration fits one), else None."""
    return Temperature() if spec.is_classification else None


class InferencePipeline(nn.Module):
    """Raw inputs to predictions without a LightningModule: what a format=torch artifact runs."""

    def __init__(self, network: nn.Module, spec: InputSpec, preprocessor: nn.Module | None = None):
        super().__init__()
        self.spec = spec
        self.preprocessor = preprocessor if preprocessor is not None else nn.Identity()
        self.network = network
        self.target_scaler = target_scaler_for(spec)
        self.decision = decision_for(spec)
        self.temperature = temperature_for(spec)

    def raw_output(self, x) -> Tensor:
        return network_output(self.spec, self.network(self.preprocessor(x)), self.temperature)

    def to_prediction(self, z: Tensor) -> Tensor:
        return prediction(self.spec, self.target_scaler, z)
