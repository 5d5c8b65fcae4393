"""Which image files a data set holds, their labels and (when the layout says so) their split.

Two layouts: a folder with one sub-folder per class (optionally under ``train/``, ``val/`` and
``test/``), or a CSV/Parquet file of ``path,label`` rows whose paths are relative to the file.
Every mistake in a layout is one sentence that names the file or folder and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kiln.data.images.decode import SUFFIXES
from kiln.errors import KilnError

SPLITS = ("train", "val", "test")
TABLES = (".csv", ".tsv", ".parquet", ".pq")


@dataclass
class Listing:
    """The files of a data set: ``labels`` are strings (class folders, text labels) or numbers
    (a CSV's numeric column); ``splits`` holds "train", "val", "test" or "" (to be split)."""

    paths: list[Path]
    labels: np.ndarray
    splits: np.ndarray
    name: str
    numeric: bool


def list_images(
    path: str | Path, path_column: str = "path", label_column: str = "label"
) -> Listing:
    """The listing of ``data.path``: a folder of class folders, or a table of paths and labels."""
    if path is None or str(path) in ("", "???"):
        raise KilnError(
            "data.path is not set; pass data.path=<a folder with one sub-folder per class, or a CSV of path,label>."
        )
    root = Path(path).expanduser()
    if not root.exists():
        raise KilnError(
            f"data.path={path} does not exist; pass a folder with one sub-folder per class, or a CSV of path,label."
        )
    if root.is_file():
        return _from_table(root, path_column, label_column)
    return _from_folders(root)


def _from_folders(root: Path) -> Listing:
    split_dirs = [s for s in SPLITS if (root / s).is_dir()]
    if split_dirs and "train" not in split_dirs:
        raise KilnError(
            f"data.path={root} has {'/, '.join(split_dirs)}/ but no train/ folder; add train/ with one sub-folder per class."
        )
    parts = [(root / s, s) for s in split_dirs] if split_dirs else [(root, "")]
    paths: list[Path] = []
    labels: list[str] = []
    splits: list[str] = []
    classes_of: dict[str, list[str]] = {}
    for folder, split in parts:
        found = _class_folders(folder)
        classes_of[split] = [c for c, _ in found]
        for name, files in found:
            paths += files
            labels += [name] * len(files)
            splits += [split or ""] * len(files)
    if split_dirs:
        train = set(classes_of["train"])
        for split in split_dirs[1:]:
            extra = [c for c in classes_of[split] if c not in train]
            if extra:
                raise KilnError(
                    f"{root / split / extra[0]} is a class that {root / 'train'} lacks; add its training images or remove it."
                )
    if len(set(labels)) < 2:
        raise KilnError(
            f"data.path={root} has one class folder ({labels[0] if labels else 'none'}); a classifier needs at least two: add a sub-folder per class."
        )
    return Listing(paths, np.asarray(labels, dtype=object), np.asarray(splits, dtype=object),
                   root.name, numeric=False)  # fmt: skip


def _class_folders(folder: Path) -> list[tuple[str, list[Path]]]:
    """(class name, its image files in name order) for each sub-folder of ``folder``."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise KilnError(
            f"{folder} holds no class sub-folders; put each class's images in a folder named after the class."
        )
    out = []
    for sub in subdirs:
        files = sorted(p for p in sub.rglob("*") if p.is_file() and not p.name.startswith("."))
        others = [p for p in files if p.suffix.lower() not in SUFFIXES]
        if others:
            raise KilnError(
                f"{others[0]} in class folder {sub.name} is not an image file ({', '.join(SUFFIXES)}); move it out of {folder}."
            )
        if not files:
            raise KilnError(
                f"class folder {sub} holds no images; add images of that class or remove the folder."
            )
        out.append((sub.name, files))
    return out


def _from_table(file: Path, path_column: str, label_column: str) -> Listing:
    if file.suffix.lower() not in TABLES:
        raise KilnError(
            f"data.path={file} is neither a folder nor a table; pass a folder of class folders or a .csv/.parquet of path,label."
        )
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(file)
        else:
            df = pd.read_csv(file, sep="\t" if file.suffix.lower() == ".tsv" else ",")
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise KilnError(
            f"data.path={file} could not be read as a table ({type(err).__name__}); check the file."
        ) from None
    for key, col in (("path_column", path_column), ("label_column", label_column)):
        if col not in df.columns:
            raise KilnError(
                f"data.path={file} has no column {col!r}; set data.{key} to one of {', '.join(map(str, df.columns))}."
            )
    if len(df) == 0:
        raise KilnError(f"data.path={file} has no rows; list at least two images per class.")
    _no_missing(df, file, path_column)
    _no_missing(df, file, label_column)
    paths = [(file.parent / str(p)).resolve() for p in df[path_column]]
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        raise KilnError(
            f"row {missing[0] + 2} of {file.name} names {df[path_column].iloc[missing[0]]}, which does not exist "
            f"(nor {len(missing) - 1} other path(s)); paths are relative to {file.parent}, so fix or remove those rows."
        )
    y = df[label_column]
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    labels = y.to_numpy(np.float64) if numeric else y.astype(str).to_numpy(dtype=object)
    splits = np.full(len(df), "", dtype=object)
    return Listing(paths, labels, splits, file.stem, numeric=numeric)


def _no_missing(df: pd.DataFrame, file: Path, column: str) -> None:
    empty = df[column].isna() | (df[column].astype(str).str.strip() == "")
    if empty.any():
        first = int(np.flatnonzero(empty.to_numpy())[0])
        raise KilnError(
            f"column {column!r} of {file.name} is empty in {int(empty.sum())} row(s), the first at line "
            f"{first + 2}; fill them in or remove those rows."
        )
