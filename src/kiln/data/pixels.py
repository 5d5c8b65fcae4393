"""Raw pixels under other light: the digits data set's brightness and contrast knobs, which the
drift experiments use to make a "deployed" set the model never saw."""

from __future__ import annotations

import numpy as np

from kiln.errors import KilnError


def shift_pixels(x: np.ndarray, brightness: float = 0.0, contrast: float = 1.0,
                 max_value: float = 16.0) -> np.ndarray:  # fmt: skip
    """(x - mid) * contrast + mid + brightness * max_value, clipped to [0, max_value]."""
    if contrast <= 0:
        raise KilnError(f"data.contrast={contrast} must be positive; use e.g. 0.6 or 1.5.")
    if brightness == 0.0 and contrast == 1.0:
        return x
    mid = max_value / 2
    out = (x.astype(np.float32) - mid) * contrast + mid + brightness * max_value
    return np.clip(out, 0.0, max_value).astype(x.dtype, copy=False)
