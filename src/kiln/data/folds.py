"""Which rows are train, val and test: a seeded hold-out, or one fold of K-fold cross-validation.

With ``test_folds=K, test_fold=k`` the rows are partitioned into K disjoint folds with the split
seed (stratified for classification, scikit-learn's StratifiedKFold; KFold otherwise) and fold k
is the test split, so over k = 0..K-1 every row is tested exactly once. Validation is carved
from the other rows with the share a hold-out run gives it, val_fraction / (1 - test_fraction),
so ``test_fraction`` itself is unused. Chronological data has its own rule (timeseries.py).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from kiln.errors import KilnError


def check_fold(test_folds: int | None, test_fold: int | None) -> tuple[int, int] | None:
    """(K, k) when a test fold is asked for, None when not; a bad pair is the user's error."""
    if not test_folds:
        if test_fold is not None:
            raise KilnError(
                f"data.test_fold={test_fold} needs data.test_folds (the number of folds); set both."
            )
        return None
    k = int(test_folds)
    if k < 2 or test_fold is None or not 0 <= int(test_fold) < k:
        raise KilnError(
            f"data.test_folds={test_folds} with data.test_fold={test_fold}: the folds must be at "
            f"least 2 and the fold must lie in 0..{max(k - 1, 0)}."
        )
    return k, int(test_fold)


def fold_test(
    idx: np.ndarray,
    strat: np.ndarray | None,
    folds: int,
    fold: int,
    seed: int,
    key: str = "cv.test_folds",
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, test): fold ``fold`` of a seeded (stratified when ``strat``) K-fold partition;
    ``key`` is the setting that asked for the folds (compare's test folds, train's cv.folds)."""
    if folds > len(idx):
        raise KilnError(
            f"{folds} folds need at least {folds} rows and the data has {len(idx)}; lower {key}."
        )
    splitter = (StratifiedKFold if strat is not None else KFold)(
        folds, shuffle=True, random_state=seed
    )
    rest, test = list(splitter.split(idx, strat))[fold]
    return idx[rest], idx[test]


def split_rows(
    y: np.ndarray,
    stratify: bool,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    fold: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Row indices per split, stratified by ``y`` when ``stratify``; the hold-out path is the one
    kiln always had, row order included, so seeded runs keep their numbers."""
    idx = np.arange(len(y))
    strat = y if stratify else None
    if fold is None:
        rest, test = train_test_split(
            idx, test_size=test_fraction, random_state=seed, stratify=strat
        )
    else:
        rest, test = fold_test(idx, strat, *fold, seed)
    train, val = train_test_split(
        rest,
        test_size=val_fraction / (1 - test_fraction),
        random_state=seed,
        stratify=None if strat is None else strat[rest],
    )
    return {"train": train, "val": val, "test": test}


def fold_report(fold: tuple[int, int] | None) -> dict:
    """The data report's note of which test fold this is (nothing for a hold-out split)."""
    return {} if fold is None else {"test_fold": {"folds": fold[0], "fold": fold[1]}}
