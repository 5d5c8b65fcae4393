"""Transforms fitted on the training split, kept as buffers of torch modules in front of the network."""

from kiln.preprocessing.base import Fitted
from kiln.preprocessing.scale import Standardize, TargetScaler

__all__ = ["Fitted", "Standardize", "TargetScaler"]
