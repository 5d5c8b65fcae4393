"""Several labels a row, written ``a|b`` in one column (``data.task=multilabel``).

Shared by data=text and data=table: the label names are the sorted labels the column holds,
and each row becomes a 0/1 vector over them; an empty cell is a row without labels.
"""

from __future__ import annotations

import numpy as np

from kiln.errors import KilnError


def label_lists(raw_y, sep: str) -> list[list[str]]:
    """Each cell's labels (an empty or missing cell: none)."""
    return [[t.strip() for t in str(v).split(sep) if t.strip()] if v == v else [] for v in raw_y]


def encode_label_sets(sets: list[list[str]], names: list[str]) -> np.ndarray:
    """float32 0/1 [N, len(names)]; every label must be one of ``names``."""
    index = {n: k for k, n in enumerate(names)}
    y = np.zeros((len(sets), len(names)), dtype=np.float32)
    for row, labels in enumerate(sets):
        y[row, [index[t] for t in labels]] = 1.0
    return y


def multilabel_targets(raw_y, sep: str, where: str) -> tuple[list[str], np.ndarray]:
    """``a|b`` label strings -> (sorted label names, float32 0/1 [N, labels]). ``where`` names
    the column in messages (``data.target_column='label'``). Each label needs at least 3 rows,
    as classes do, so that train, validation and test can each hold one."""
    sets = label_lists(raw_y, sep)
    names = sorted({t for s in sets for t in s})
    if len(names) < 2:
        raise KilnError(
            f"{where} holds {len(names)} label(s) for data.task=multilabel; "
            f"give several, separated by {sep!r} (data.label_separator)."
        )
    y = encode_label_sets(sets, names)
    counts = y.sum(0)
    if counts.min() < 3:
        rare = names[int(counts.argmin())]
        raise KilnError(
            f"Label {rare!r} has {int(counts.min())} example(s); the train/val/test split needs at "
            "least 3 of each label: add examples or drop it."
        )
    return names, y
