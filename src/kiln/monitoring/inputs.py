"""Reading a batch for ``kiln drift``: a table (.csv, .parquet), an array file (.npy, .npz) or
a folder of image files, turned into the raw model inputs the featurizer and the model take."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiln.errors import KilnError

TABLES = (".csv", ".parquet", ".pq")
ARRAYS = (".npy", ".npz")


def _read_array(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as err:
        raise KilnError(
            f"input {path} could not be read as {path.suffix} ({type(err).__name__}); pass a NumPy file."
        ) from None
    if isinstance(data, np.lib.npyio.NpzFile):
        keys = list(data.keys())
        if "x" not in keys and len(keys) != 1:
            raise KilnError(
                f"input {path} holds arrays {', '.join(keys)}; name the inputs x (np.savez(path, x=...))."
            )
        data = data["x" if "x" in keys else keys[0]]
    return np.asarray(data)


def _read_table(path: Path, columns: list[str] | None, needed: list[str], sep=None, dtype=None):
    """(the table, its header); a header split on the wrong delimiter or repeating a name is
    refused in one sentence (``needed``: the model's columns)."""
    import pandas as pd

    from kiln.data.table_io import check_repeated_names, check_separator, separator

    try:
        if path.suffix == ".csv":
            sep = separator(sep, path)
            header = pd.read_csv(path, nrows=0, sep=sep).columns
            check_separator(header, needed, f"input {path}", "sep")
            check_repeated_names(header, path, f"input {path}", sep)
            usecols = [c for c in (columns or header) if c in header]
            return pd.read_csv(path, usecols=usecols, dtype=dtype, sep=sep), list(header)
        df = pd.read_parquet(path)
        return df, list(df.columns)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        if "No columns to parse" in str(err):
            raise KilnError(
                f"input {path} is empty; pass a file with a header and at least one row."
            ) from None
        raise KilnError(
            f"input {path} could not be read as a table ({type(err).__name__}); check the file."
        ) from None


def _read_folder(p: Path, featurizer, spec: dict) -> np.ndarray:
    if featurizer.kind != "image":
        want = "a .csv or .parquet table"
        if featurizer.kind == "tabular":
            want += " or a .npy or .npz array"
        raise KilnError(
            f"input {p} is a folder, and image folders are for image models; pass {want}."
        )
    from kiln.monitoring.images import read_image_folder

    image = (spec.get("extra") or {}).get("image")  # a model of image files: uint8 NHWC
    return read_image_folder(p, tuple(spec["shape"]), featurizer.pixel_range, image)


def read_inputs(
    path: str, featurizer, spec: dict, schema: dict | None = None, sep: str | None = None
) -> list[np.ndarray]:
    """The model inputs in ``path``, checked against what the model was trained on;
    ``sep``: the delimiter of a CSV (default ,)."""
    if not path:
        raise KilnError(
            "input is not set; pass input=new.csv (or .parquet, .npy, .npz, a folder of images)."
        )
    p = Path(path)
    if p.is_dir():
        return [_read_folder(p, featurizer, spec)]
    if not p.is_file():
        raise KilnError(
            f"input file {path} does not exist; pass the batch to check, e.g. input=new.csv."
        )
    suffix = p.suffix.lower()
    if suffix not in TABLES + ARRAYS:
        raise KilnError(
            f"input {path} is neither a table nor an array file; use .csv, .parquet, .npy or .npz."
        )
    shape = tuple(spec["shape"])
    if getattr(featurizer, "layout", "NCHW") == "NHWC":  # uint8 pixels, as the model takes them
        shape = (*shape[1:], shape[0])
    if featurizer.kind in ("tabular", "image") and suffix in ARRAYS:
        x = _read_array(p)
        if featurizer.kind == "image" and x.ndim == len(shape) and shape[0] == 1:
            x = x[:, None]  # (N, H, W) grey images
        if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
            raise KilnError(
                f"input {path} holds samples of shape {tuple(x.shape[1:])} but the model takes {shape}; pass data of the model's shape."
            )
        nhwc = getattr(featurizer, "layout", "NCHW") == "NHWC"
        inputs = [_pixels(x, path) if nhwc else x.astype(np.float32, copy=False)]
    elif featurizer.kind == "image":
        raise KilnError(
            f"input {path} is a table but the model takes images of shape {shape}; pass a .npy or .npz array."
        )
    elif suffix in ARRAYS:
        raise KilnError(
            f"input {path} is an array but the model reads named columns; pass a .csv or .parquet table."
        )
    elif featurizer.kind == "tabular":
        names = featurizer.numeric
        df, header = _read_table(p, names, names, sep, dtype=np.float32)
        missing = [n for n in names if n not in header]
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise KilnError(
                f"input {path} lacks the column(s) {shown} the model was trained on; pass a table with the model's columns."
            )
        inputs = [df[names].to_numpy(np.float32)]
    else:
        from kiln.data.schema import Schema

        sch = Schema.from_dict(schema)
        df, _ = _read_table(p, None, [c.name for c in sch.columns], sep)
        sch.validate(df, where=f"input {path}")
        inputs = [np.asarray(a) for a in sch.encode(df)]
    if len(inputs[0]) == 0:
        raise KilnError(f"input {path} has no rows; pass a batch with at least one row.")
    check_finite(path, inputs[0], featurizer.kind)
    return inputs


def _pixels(x: np.ndarray, path) -> np.ndarray:
    """An array for a model of uint8 pixels: values 0..255, kept as uint8."""
    if x.dtype != np.uint8:
        if x.size and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 255):
            raise KilnError(
                f"input {path} holds values outside 0..255; pass uint8 pixels (N, H, W, C)."
            )
        x = np.rint(x).astype(np.uint8)
    return x


def check_finite(path, x: np.ndarray, kind: str) -> None:
    """Pixels are never missing: an image with a NaN or an infinity is refused. In a table NaN
    is a missing value (imputed by the model), but infinities are refused, and so is a batch
    whose numbers are all missing, which leaves nothing to compare."""
    if x.dtype.kind != "f":
        return
    n = len(x)
    flat = x.reshape(n, -1)
    if kind == "image":
        bad = int((~np.isfinite(flat)).any(axis=1).sum())
        if bad:
            raise KilnError(
                f"input {path} has non-finite values (NaN or inf) in {bad} of its {n} images; pass finite pixel values."
            )
        return
    inf = int(np.isinf(flat).any(axis=1).sum())
    if inf:
        raise KilnError(
            f"input {path} has infinite values in {inf} of its {n} rows; pass finite numbers (empty cells for missing ones)."
        )
    if kind in ("tabular", "schema") and flat.size and np.isnan(flat).all():
        raise KilnError(
            f"input {path} has no values: all {n} rows are missing in every column; pass a batch with values."
        )
