"""What a table's target asks for and where its rows go: the task and classes, and the splits.

Both are settled before anything is fitted, from the target column and the split settings
alone; they live apart from TableDataModule so the module reads as the pipeline it runs.
The hold-out and fold primitives are kiln.data.folds'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from kiln.data.base import infer_task
from kiln.data.folds import fold_test
from kiln.data.multilabel import multilabel_targets
from kiln.errors import KilnError


def task_and_classes(
    y: pd.Series, task: str, target: str, sep: str = "|"
) -> tuple[str, list | None]:
    """The task ``data.task`` resolves to for the target ``y``, and its sorted classes
    (multilabel: the sorted labels of its ``a|b`` cells, kiln.data.multilabel)."""
    if task == "multilabel":
        names, _ = multilabel_targets(y.to_numpy(), sep, f"data.target={target!r}")
        return task, names
    numeric = y.dtype.kind in "iuf"
    if task == "regression" and not numeric:
        example = next(iter(y.dropna().unique().tolist()), None)
        raise KilnError(
            f"data.task=regression but the target column {target!r} is not numeric (it holds "
            f"values such as {example!r}); use data.task=multiclass, or leave data.task unset."
        )
    if numeric and task in ("auto", "regression"):
        task = infer_task(y.to_numpy(dtype=np.float64)) if task == "auto" else "regression"
    else:
        task = "multiclass" if task == "auto" else task
    if task == "regression":
        return task, None
    classes = sorted(y.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise KilnError(
            f"The target {target!r} has a single class ({classes[0]!r}); a classifier needs at least two."
        )
    if task == "binary" and len(classes) != 2:
        raise KilnError(
            f"data.task=binary but the target {target!r} has {len(classes)} classes; use data.task=multiclass."
        )
    return ("binary" if len(classes) == 2 else "multiclass"), classes


def split_table(
    n: int,
    strat: np.ndarray | None,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    fold: tuple[int, int] | None = None,
    cv: tuple[int, int] | None = None,
    val_file: bool = False,
    test_file: bool = False,
) -> dict[str, np.ndarray]:
    """Sorted row indices per split of a table of ``n`` rows. ``fold`` = (K, k) makes the test
    split fold k of all rows; ``cv`` = (K, k) makes fold k of the non-test rows the validation
    split (``kiln train cv.folds``); a split read from its own file (``val_file``,
    ``test_file``) takes no rows here. Stratified by ``strat`` where every class has two rows."""
    idx = np.arange(n)
    if not (fold or cv):
        check_rows(n, strat, val_fraction, test_fraction, val_file, test_file)

    def stratify(ix: np.ndarray) -> np.ndarray | None:
        return None if strat is None or np.bincount(strat[ix]).min() < 2 else strat[ix]

    if test_file:
        rest, test = idx, idx[:0]
    elif fold:
        rest, test = fold_test(idx, stratify(idx), *fold, seed)
    else:
        rest, test = train_test_split(
            idx, test_size=test_fraction, random_state=seed, stratify=stratify(idx)
        )
    if cv:
        train, val = fold_test(rest, stratify(rest), *cv, seed, key="cv.folds")
    elif val_file:
        train, val = rest, idx[:0]
    else:
        share = val_fraction / (1 - (0 if test_file else test_fraction))
        train, val = train_test_split(
            rest, test_size=share, random_state=seed, stratify=stratify(rest)
        )
    rows = {"train": train, "val": val, "test": test}
    if strat is not None:  # hold-outs only: a fold is one part of a partition and stays so
        held = [
            k
            for k, drawn in (("val", not (cv or val_file)), ("test", not (fold or test_file)))
            if drawn
        ]
        keep_every_class(rows, strat, held, seed)
    return {k: np.sort(v) for k, v in rows.items()}


def _sizes(n: int, val_fraction: float, test_fraction: float, val_file: bool, test_file: bool):
    """Rows of (train, val, test) as scikit-learn's train_test_split cuts them (ceil)."""
    test = 0 if test_file else int(np.ceil(test_fraction * n))
    rest = n - test
    val = (
        0
        if val_file
        else int(np.ceil(val_fraction / (1 - (0 if test_file else test_fraction)) * rest))
    )
    return [rest - val] + [s for s, f in ((val, val_file), (test, test_file)) if not f]


def check_rows(n, strat, val_fraction, test_fraction, val_file, test_file) -> None:
    """KilnError when a split would get fewer than 2 rows (a training batch of one row breaks
    BatchNorm) or, stratified, fewer rows than classes (scikit-learn refuses the split)."""
    classes = 0 if strat is None else len(np.unique(strat))
    least = max(2, classes)
    args = (val_fraction, test_fraction, val_file, test_file)
    if min(_sizes(n, *args)) >= least:
        return
    need = next(m for m in range(n + 1, 100 * least + 1000) if min(_sizes(m, *args)) >= least)
    per_class = (
        f" and one per class ({classes} classes), and a class needs 3 rows to be in all of them"
        if classes
        else ""
    )
    raise KilnError(
        f"The table has {n} rows, too few to split into train, validation and test: each split needs at least {least} rows{per_class}; give it at least {need} rows (with val_fraction={val_fraction}, test_fraction={test_fraction})."
    )


def keep_every_class(rows: dict, strat: np.ndarray, held: list[str], seed: int) -> None:
    """Give the training split and each hold-out in ``held`` a row of every class another of
    them can spare one of, swapped for a row of the receiver's most common class (sizes stay).

    scikit-learn's stratified split rounds each class's share, so a class of a few rows can
    miss a split (and without stratification, which a one-row class forces, miss it by chance);
    a split that lacks a class cannot define AUROC on it.
    """
    rng = np.random.default_rng(seed)
    names = ["train", *held]
    for split in names:
        if len(rows[split]) == 0:
            continue
        for c in np.setdiff1d(np.unique(strat), strat[rows[split]]):
            have = {k: int((strat[rows[k]] == c).sum()) for k in names if k != split}
            donor = max(have, key=have.get)
            counts = np.bincount(strat[rows[split]])
            if have[donor] < 2 or counts.max() < 2:
                continue  # too few rows to share: table_report says so
            give = rng.choice(rows[donor][strat[rows[donor]] == c])
            take = rng.choice(rows[split][strat[rows[split]] == counts.argmax()])
            rows[donor] = np.append(rows[donor][rows[donor] != give], take)
            rows[split] = np.append(rows[split][rows[split] != take], give)
