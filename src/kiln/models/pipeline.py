"""The model as a deployment runs it: preprocessor -> network -> head, raw inputs in.

``KilnModule`` (training) and ``InferencePipeline`` (an artifact's torch backend) share these
steps, so the server never needs Lightning and both answer alike. The pipeline's attributes
carry a KilnModule's names (``preprocessor``, ``network``, ``target_scaler``), so the weights a
KilnModule saved load into it as they are.
"""

from __future__ import annotations

from torch import Tensor, nn

from kiln.data.spec import InputSpec
from kiln.preprocessing.scale import TargetScaler

SCALED_TARGETS = ("regression", "forecast")  # tasks trained on a standardised target


def network_output(spec: InputSpec, z: Tensor) -> Tensor:
    """The network's output as the head takes it: one column squeezed, except for class scores
    and forecast horizons."""
    return z.squeeze(-1) if spec.task not in ("multiclass", "forecast") else z


def prediction(spec: InputSpec, target_scaler: nn.Module | None, z: Tensor) -> Tensor:
    """Probabilities for classification, original-scale values for regression."""
    if spec.task == "multiclass":
        return z.float().softmax(-1)
    if spec.task == "binary":
        return z.float().sigmoid()
    return target_scaler(z.float()) if target_scaler is not None else z.float()


def target_scaler_for(spec: InputSpec, stats: tuple[float, float] | None = None):
    """A TargetScaler for tasks trained on a standardised target, else None."""
    return TargetScaler(*(stats or (0.0, 1.0))) if spec.task in SCALED_TARGETS else None


class InferencePipeline(nn.Module):
    """Raw inputs to predictions without a LightningModule: what a format=torch artifact runs."""

    def __init__(self, network: nn.Module, spec: InputSpec, preprocessor: nn.Module | None = None):
        super().__init__()
        self.spec = spec
        self.preprocessor = preprocessor if preprocessor is not None else nn.Identity()
        self.network = network
        self.target_scaler = target_scaler_for(spec)

    def raw_output(self, x) -> Tensor:
        return network_output(self.spec, self.network(self.preprocessor(x)))

    def to_prediction(self, z: Tensor) -> Tensor:
        return prediction(self.spec, self.target_scaler, z)
