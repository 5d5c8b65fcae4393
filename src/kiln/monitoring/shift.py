"""A lighting change for the digits images: the drift experiment's "deployed" data.

``shift_pixels`` changes brightness and contrast of raw pixels the way a camera under other
light would; ``write_deployed_sets`` writes a clean and a shifted copy of a data module's
test split to .npz files that ``kiln drift input=...`` reads.
"""

from __future__ import annotations

from pathlib import Path

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


def write_deployed_sets(out_dir: str | Path, brightness: float, contrast: float,
                        seed: int = 42, as_image: bool = True) -> dict[str, Path]:  # fmt: skip
    """clean.npz and shifted.npz (arrays x, y) from the digits validation + test splits of
    ``seed``: rows the model never trained on, 540 of them (Wasserstein's noise at 0.1 std
    needs a few hundred rows)."""
    from kiln.data.sklearn_sets import SklearnDataModule

    dm = SklearnDataModule("digits", as_image=as_image, split_seed=seed)
    dm.setup("fit")
    x = np.concatenate([dm.splits[s][0].numpy() for s in ("val", "test")])
    y = np.concatenate([dm.splits[s][1].numpy() for s in ("val", "test")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"clean": out / "clean.npz", "shifted": out / "shifted.npz"}
    np.savez(paths["clean"], x=x, y=y)
    np.savez(paths["shifted"], x=shift_pixels(x, brightness, contrast), y=y)
    return paths
