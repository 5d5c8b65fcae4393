"""scikit-learn's bundled data sets (no download): digits, wine, breast_cancer, diabetes."""

from __future__ import annotations

import numpy as np
import torch
from sklearn import datasets
from torch import nn

from kiln.data.base import InMemoryDataModule, RawData
from kiln.data.pixels import shift_pixels
from kiln.errors import KilnError
from kiln.preprocessing.scale import Standardize

PIXEL_RANGE = {"digits": (0.0, 16.0)}  # scikit-learn's digits: 4x4 counts of 8x8 bitmaps, 0..16
_LOADERS = {
    "digits": datasets.load_digits,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


class SklearnDataModule(InMemoryDataModule):
    """One of scikit-learn's bundled sets, as a table or (digits only) as 1x8x8 images."""

    def __init__(self, name: str = "digits", as_image: bool = False, brightness: float = 0.0,
                 contrast: float = 1.0, **kwargs) -> None:  # fmt: skip
        if name not in _LOADERS:
            raise KilnError(
                f"data.name={name!r} is not a bundled data set; use one of {', '.join(_LOADERS)}."
            )
        if as_image and name != "digits":
            raise KilnError(
                f"data.as_image=true needs images, and {name} is a table; use as_image=false."
            )
        if (brightness, contrast) != (0.0, 1.0) and name != "digits":
            raise KilnError(
                f"data.brightness and data.contrast change pixels, and {name} is a table; leave them at 0 and 1."
            )
        super().__init__(**kwargs)
        self.name = name
        self.as_image = as_image
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.feature_names: list[str] | None = None
        # black and white of the raw pixels, whatever the lighting: image files map onto it
        self.pixel_range = PIXEL_RANGE.get(name) if as_image else None

    def load(self) -> RawData:
        bunch = _LOADERS[self.name]()
        x = np.asarray(bunch.data, dtype=np.float32)
        if self.name == "digits":  # a lighting change for the drift experiment (0 and 1: none)
            x = shift_pixels(x, self.brightness, self.contrast)
        self.feature_names = [str(n) for n in getattr(bunch, "feature_names", [])] or None
        y = np.asarray(bunch.target)
        names = [str(n) for n in bunch.target_names] if hasattr(bunch, "target_names") else None
        self.feature_names = [str(n) for n in bunch.feature_names]  # the fields a server asks for
        if self.as_image:
            return RawData(
                x=x.reshape(-1, 1, 8, 8), y=y, kind="image", name="digits_images", class_names=names
            )
        return RawData(x=x, y=y, kind="tabular", name=self.name, class_names=names)

    def fit_preprocessor(self, x_train: torch.Tensor) -> nn.Module:
        dims = (0, 2, 3) if x_train.ndim == 4 else (0,)
        return Standardize.fit(x_train, reduce_dims=dims)
