"""Data modules: built-in sources, the input spec, and the in-memory batch loader."""

from kiln.data.base import InMemoryDataModule, RawData, infer_task
from kiln.data.loader import TensorBatchLoader
from kiln.data.sklearn_sets import SklearnDataModule
from kiln.data.spec import InputSpec

__all__ = [
    "InMemoryDataModule",
    "InputSpec",
    "RawData",
    "SklearnDataModule",
    "TensorBatchLoader",
    "infer_task",
]
