"""The drift experiments' "deployed" data: digits under other light, penguins from another site.

``shift_pixels`` (kiln.data.pixels) changes brightness and contrast of raw pixels the way a camera under other
light would; ``write_deployed_sets`` writes a clean and a shifted copy of a data module's
test split to .npz files that ``kiln drift input=...`` reads. ``shift_table`` records a column
in other units and adds a category never seen; ``write_deployed_tables`` writes the penguins
rows the model never trained on, clean and shifted, and the whole table shifted for retraining.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kiln.data.pixels import shift_pixels
from kiln.errors import KilnError
from kiln.files import atomic as atomic_files


def write_pngs(x: np.ndarray, folder: str | Path, max_value: float = 16.0) -> Path:
    """(N, 1, H, W) or (N, H, W) pixels in 0..max_value as 8-bit grey PNGs: a camera's files."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    grey = np.rint(np.clip(x, 0, max_value) / max_value * 255).astype(np.uint8)
    for i, img in enumerate(grey.reshape(len(x), *x.shape[-2:])):
        Image.fromarray(img).save(folder / f"{i:05d}.png")
    return folder


def write_deployed_sets(out_dir: str | Path, brightness: float, contrast: float,
                        seed: int = 42, as_image: bool = True, png: bool = False) -> dict[str, Path]:  # fmt: skip
    """clean.npz and shifted.npz (arrays x, y) from the digits validation + test splits of
    ``seed``: rows the model never trained on, 540 of them (Wasserstein's noise at 0.1 std
    needs a few hundred rows); ``png``: the same images as PNG files in clean/ and shifted/."""
    from kiln.data.sklearn_sets import SklearnDataModule

    dm = SklearnDataModule("digits", as_image=as_image, split_seed=seed)
    dm.setup("fit")
    x = np.concatenate([dm.splits[s][0].numpy() for s in ("val", "test")])
    y = np.concatenate([dm.splits[s][1].numpy() for s in ("val", "test")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"clean": out / "clean.npz", "shifted": out / "shifted.npz"}
    with atomic_files.replacing(paths["clean"]) as f:
        np.savez(f, x=x, y=y)
    shifted = shift_pixels(x, brightness, contrast)
    with atomic_files.replacing(paths["shifted"]) as f:
        np.savez(f, x=shifted, y=y)
    if png:
        paths["clean_png"] = write_pngs(x, out / "clean")
        paths["shifted_png"] = write_pngs(shifted, out / "shifted")
    return paths


# Penguins from a new site: bill length written down in centimetres, a third of the birds on
# an island the model never saw.
PENGUINS_SCALE = {"bill_length_mm": 0.1}
PENGUINS_NEW_CATEGORY = {"island": "Atlantis"}


def shift_table(df: pd.DataFrame, scale: dict[str, float] | None = None,
                new_category: dict[str, str] | None = None, every: int = 3) -> pd.DataFrame:  # fmt: skip
    """A copy of ``df`` with each ``scale`` column multiplied by its factor (0.1: centimetres in
    a millimetre column) and every ``every``-th row's value of each ``new_category`` column
    replaced by a new category."""
    out = df.copy()
    for col in [*(scale or {}), *(new_category or {})]:
        if col not in out.columns:
            raise KilnError(
                f"Column {col!r} is not in the table; shift some of {', '.join(map(str, out.columns))}."
            )
    for col, factor in (scale or {}).items():
        if out[col].dtype.kind not in "iuf":
            raise KilnError(f"Column {col!r} is not numeric; scale a numeric column.")
        out[col] = out[col] * factor
    for col, value in (new_category or {}).items():
        out[col] = out[col].astype(object)
        out.loc[out.index[::every], col] = value
    return out


def write_deployed_tables(out_dir: str | Path, path: str = "data/penguins.csv",
                          target: str = "species", seed: int = 42,
                          scale: dict[str, float] | None = None,
                          new_category: dict[str, str] | None = None) -> dict[str, Path]:  # fmt: skip
    """clean.csv and shifted.csv: the validation + test rows of ``seed``'s split (the rows the
    model never trained on), as they are and shifted; shifted_all.csv: every row shifted, the
    labelled new data for ``kiln retrain data.path=...``, whose test split (same seed, same
    rows) is the shifted copy of the model's test split. Defaults: the penguins shift."""
    from kiln.data.table import TableDataModule
    from kiln.data.table_io import read_table

    scale = PENGUINS_SCALE if scale is None else scale
    new_category = PENGUINS_NEW_CATEGORY if new_category is None else new_category
    dm = TableDataModule(path=path, target=target, split_seed=seed)
    dm.setup("fit")
    df = read_table(path)
    shifted = shift_table(df, scale, new_category)
    unseen = np.sort(np.concatenate([dm.split_rows["val"], dm.split_rows["test"]]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {"clean": df.iloc[unseen], "shifted": shifted.iloc[unseen], "shifted_all": shifted}
    paths = {name: out / f"{name}.csv" for name in frames}
    for name, frame in frames.items():
        atomic_files.write_text(paths[name], frame.to_csv(index=False, float_format="%.10g"))
    return paths
