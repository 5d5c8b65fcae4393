"""Permutation feature importance for any model: how much the loss grows when one feature
group's values are shuffled across rows, on a seeded sub-sample of the test split.

Groups follow the data: a table's raw columns (a date's parts together), an image's blocks
of a 4 x 4 grid, a sequence's quarters of positions. With one column per group, the same
rows and the same seed, the numbers equal scikit-learn's ``permutation_importance`` on
``SklearnModel`` with the negative mean loss as its score (tests/reporting)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import Tensor

from kiln.reporting.collect import row_loss

GRID = 4
Group = list[tuple[int, tuple]]  # (input index, index into the dims after the row)


def feature_groups(spec, inputs: list[Tensor]) -> dict[str, Group]:
    """Name -> the parts of the inputs one permutation shuffles together."""
    schema = spec.extra.get("schema")
    if schema is not None and len(inputs) == 2:
        groups: dict[str, Group] = {}
        j = k = 0
        for col in schema["columns"]:
            if col["type"] == "categorical":
                groups[col["name"]] = [(1, ([k],))]
                k += 1
            else:
                width = len(col["parts"]) if col["type"] == "datetime" else 1
                groups[col["name"]] = [(0, (list(range(j, j + width)),))]
                j += width
        return groups
    x = inputs[0]
    if spec.kind == "tabular" and x.ndim == 2 and len(inputs) == 1:
        names = spec.extra.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]
        return {str(n): [(0, ([i],))] for i, n in enumerate(names)}
    if x.ndim == 4:  # images: blocks of a grid, every channel together
        nhwc = spec.extra.get("image", {}).get("layout") == "NHWC"  # uint8 files: [N, H, W, C]
        h, w = (x.shape[1], x.shape[2]) if nhwc else (x.shape[2], x.shape[3])
        hs, ws = np.linspace(0, h, GRID + 1).astype(int), np.linspace(0, w, GRID + 1).astype(int)

        def block(r: int, c: int) -> tuple:
            rows, cols = slice(hs[r], hs[r + 1]), slice(ws[c], ws[c + 1])
            return (rows, cols) if nhwc else (slice(None), rows, cols)

        return {f"block r{r} c{c}": [(0, block(r, c))] for r in range(GRID) for c in range(GRID)}
    if x.ndim >= 2:  # sequences and tokens: quarters of the positions
        t = x.shape[1]
        cuts = np.linspace(0, t, GRID + 1).astype(int)
        return {
            f"positions {cuts[q]}-{cuts[q + 1] - 1}": [(0, (slice(cuts[q], cuts[q + 1]),))]
            for q in range(GRID)
            if cuts[q + 1] > cuts[q]
        }
    return {"input": [(0, ())]}


def sample_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` of ``n`` rows, drawn without replacement by ``seed``, in order."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def permutation_importance(
    score: Callable[[list[Tensor]], float],
    inputs: list[Tensor],
    groups: dict[str, Group],
    repeats: int = 3,
    seed: int = 0,
) -> dict:
    """{"baseline": score, "groups": [{name, mean, std, values}]} where a group's value is the
    score's drop when that group is shuffled (higher: the model leans on it more). Every group
    sees the same sequence of shuffles (one RandomState per group from one drawn seed, its
    index array shuffled in place each repeat), as scikit-learn draws them."""
    baseline = score(inputs)
    group_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    rows = []
    for name, parts in groups.items():
        rng = np.random.RandomState(group_seed)
        permuted = [t.clone() for t in inputs]
        order = np.arange(len(inputs[0]))
        drops = []
        for _ in range(repeats):
            rng.shuffle(order)
            index = torch.as_tensor(order)
            for i, where in parts:
                at = (slice(None), *where)
                permuted[i][at] = permuted[i][index][at]
            drops.append(baseline - score(permuted))
        rows.append(
            {
                "name": name,
                "mean": float(np.mean(drops)),
                "std": float(np.std(drops)),
                "values": [float(d) for d in drops],
            }  # fmt: skip
        )
    rows.sort(key=lambda r: -r["mean"])
    return {"baseline": float(baseline), "groups": rows}


def loss_score(predict: Callable[[list[Tensor]], np.ndarray], y: np.ndarray, task: str):
    """The score permutation importance uses: the negative mean loss of the model's answers."""

    def score(inputs: list[Tensor]) -> float:
        return -float(row_loss(predict(inputs), y, task).mean())

    return score


class SklearnModel(BaseEstimator):
    """A kiln model as a scikit-learn estimator over one 2-D array, a table's numeric columns
    then its category codes (``numeric`` wide): for scikit-learn's own inspection tools."""

    def __init__(self, predict_fn=None, numeric: int = 0) -> None:
        self.predict_fn = predict_fn
        self.numeric = numeric
        self.fitted_ = True

    def fit(self, X, y=None):
        return self

    def split(self, X: np.ndarray) -> list[Tensor]:
        x = np.asarray(X)
        num = torch.as_tensor(x[:, : self.numeric], dtype=torch.float32)
        cat = torch.as_tensor(x[:, self.numeric :].astype(np.int64))
        return [num, cat] if x.shape[1] > self.numeric else [num]

    def predict(self, X) -> np.ndarray:
        return self.predict_fn(self.split(X))
