"""Data modules: built-in sources, the input spec, and the in-memory batch loader."""

from kiln.data.base import InMemoryDataModule, RawData, infer_task
from kiln.data.dataset import DatasetDataModule
from kiln.data.loader import TensorBatchLoader
from kiln.data.sklearn_sets import SklearnDataModule
from kiln.data.spec import InputSpec
from kiln.data.text import TextDataModule
from kiln.data.timeseries import TimeSeriesDataModule
from kiln.data.tokens import TokenDataModule

__all__ = [
    "DatasetDataModule",
    "InMemoryDataModule",
    "InputSpec",
    "RawData",
    "SklearnDataModule",
    "TensorBatchLoader",
    "TextDataModule",
    "TimeSeriesDataModule",
    "TokenDataModule",
    "infer_task",
]
