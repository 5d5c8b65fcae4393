"""Train, val and test rows of an image set, and the order the cache holds them in.

Folders named ``train/``, ``val/`` and ``test/`` fix their rows; a split without a folder is
carved, seeded and stratified for classification, from the rows of ``train/`` (or from all the
rows when there are no split folders). The cache holds train, then val, then test, so each
split is a contiguous slice of it: a view, never a copy.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from kiln.data.folds import split_rows
from kiln.errors import KilnError

ORDER = ("train", "val", "test")


def assign_splits(given: np.ndarray, y: np.ndarray, stratify: bool, val_fraction: float,
                  test_fraction: float, seed: int,
                  names: list[str] | None = None) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:  # fmt: skip
    """(row order, {split: (start, stop)} in that order); ``names``: the class of each code."""
    fixed = {s: np.flatnonzero(given == s) for s in ORDER if (given == s).any()}
    pool = np.flatnonzero(given == "") if "train" not in fixed else fixed.pop("train")
    missing = [s for s in ("val", "test") if s not in fixed]
    try:
        carved = _carve(pool, y, stratify, missing, val_fraction, test_fraction, seed)
    except ValueError as err:  # a class too small to stratify, or too few rows to split
        raise KilnError(_why(y, pool, stratify, err, names)) from None
    rows = {**fixed, **carved}
    order = np.concatenate([rows[s] for s in ORDER])
    bounds, start = {}, 0
    for s in ORDER:
        bounds[s] = (start, start + len(rows[s]))
        start += len(rows[s])
    return order, bounds


def _carve(pool, y, stratify, missing, val_fraction, test_fraction, seed) -> dict:
    if missing == ["val", "test"]:
        sub = split_rows(y[pool], stratify, val_fraction, test_fraction, seed)
        return {k: pool[v] for k, v in sub.items()}
    if not missing:
        return {"train": pool}
    fraction = val_fraction if missing == ["val"] else test_fraction
    train, other = train_test_split(pool, test_size=fraction, random_state=seed,
                                    stratify=y[pool] if stratify else None)  # fmt: skip
    return {"train": train, missing[0]: other}


def _why(y: np.ndarray, pool: np.ndarray, stratify: bool, err: ValueError, names) -> str:
    if stratify:
        values, counts = np.unique(y[pool], return_counts=True)
        if counts.min() < 3:
            code = values[counts.argmin()]
            name = names[int(code)] if names else code
            return (
                f"class {name!r} has only {counts.min()} training image(s); a stratified train/val/test "
                "split needs at least 3 per class: add images, or give val/ and test/ folders."
            )
    return (
        f"{len(pool)} images are too few to split ({err}); add images or lower "
        "data.val_fraction and data.test_fraction."
    )
