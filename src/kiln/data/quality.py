"""The data-quality report: what a user should know about a table before trusting a model on it.

Computed once at setup from the raw splits; written to <run>/data_report.json, summarised
on the console and in TensorBoard's text tab.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from kiln.errors import KilnError

LEAK_SCORE = 0.99  # balanced accuracy or R2 of one feature alone on the validation split
_SAMPLE = 20_000


def leakage(names, x_train, y_train, x_val, y_val, task: str, seed: int = 0) -> dict[str, float]:
    """Features that alone predict the target almost perfectly on the validation split."""
    if len(y_val) == 0 or len(y_train) == 0:
        return {}
    if task != "regression" and len(np.unique(y_val)) < 2:
        return {}  # one class: any feature scores a perfect balanced accuracy
    rng = np.random.default_rng(seed)
    if len(y_train) > _SAMPLE:
        pick = rng.choice(len(y_train), _SAMPLE, replace=False)
        x_train, y_train = x_train[pick], y_train[pick]
    model = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    score = r2_score if task == "regression" else balanced_accuracy_score
    if task == "multilabel":  # one tree predicts every label; scored per label
        score = _mean_balanced_accuracy
    out = {}
    for j, name in enumerate(names):
        tree = model(max_depth=4, random_state=seed).fit(x_train[:, j : j + 1], y_train)
        s = float(score(y_val, tree.predict(x_val[:, j : j + 1])))
        if s >= LEAK_SCORE:
            out[name] = round(s, 4)
    return out


def _mean_balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Balanced accuracy averaged over the labels of 0/1 [N, labels] targets."""
    cols = range(y_true.shape[1])
    return float(np.mean([balanced_accuracy_score(y_true[:, k], y_pred[:, k]) for k in cols]))


def check_finite(enc: dict[str, tuple], names: list[str], target: str) -> None:
    """KilnError for an infinite feature value or target (a float32 overflow such as 1e308
    included): the scaler and the leakage check cannot use them, and no fill value means inf."""
    for split, (x_num, _, y) in enc.items():
        bad = np.isinf(x_num).any(axis=0)
        if bad.any():
            col = names[int(np.flatnonzero(bad)[0])]
            raise KilnError(
                f"The column {col!r} holds an infinite value (or one beyond float32, about 3.4e38) in the {split} rows; replace it with a finite number or leave the cell empty (missing)."
            )
        if y.dtype.kind == "f" and np.isinf(y).any():
            raise KilnError(
                f"The regression target {target!r} holds an infinite value (or one beyond float32, about 3.4e38) in the {split} rows; remove those rows or rescale the target."
            )


def table_facts(df: pd.DataFrame, features: list[str], split_of_row: np.ndarray) -> dict:
    """Missing share per column, duplicate rows and columns, rows shared between train and test."""
    feats = df[features]
    row_hash = pd.util.hash_pandas_object(feats, index=False).to_numpy()
    col_hash = {c: int(pd.util.hash_pandas_object(feats[c], index=False).sum()) for c in features}
    seen: dict[int, str] = {}
    duplicate_columns = []
    for c, h in col_hash.items():
        if h in seen and feats[c].equals(feats[seen[h]]):
            duplicate_columns.append([seen[h], c])
        seen.setdefault(h, c)
    train = set(row_hash[split_of_row == "train"].tolist())
    shared = int(np.isin(row_hash[split_of_row == "test"], list(train)).sum()) if train else 0
    return {
        "missing_share": {c: round(float(v), 6) for c, v in df.isna().mean().items()},
        "duplicate_rows": int(pd.Series(row_hash).duplicated().sum()),
        "duplicate_columns": duplicate_columns,
        "test_rows_also_in_train": shared,
    }


def target_balance(y: np.ndarray, task: str, classes: list | None) -> dict:
    if task == "regression":
        return {k: float(getattr(np, k)(y)) for k in ("mean", "std", "min", "max")}
    counts = label_counts(y, len(classes))
    return {str(c): int(n) for c, n in zip(classes, counts, strict=True)}


def label_counts(y: np.ndarray, n: int) -> np.ndarray:
    """Rows of each class (codes [N]) or of each label (multilabel 0/1 [N, labels])."""
    return y.sum(0) if y.ndim == 2 else np.bincount(y, minlength=n)


def class_gaps(ys: dict[str, np.ndarray], classes: list) -> str | None:
    """One sentence when a class is absent from a split (its AUROC there is undefined), naming
    the rows a class needs (one per split); None when every split holds every class."""
    splits = {k: y for k, y in ys.items() if len(y)}
    gaps = {}
    for k, y in splits.items():
        absent = [str(classes[i]) for i in np.flatnonzero(label_counts(y, len(classes)) == 0)]
        if absent:
            gaps[k] = absent
    if not gaps:
        return None
    total = label_counts(np.concatenate(list(splits.values())), len(classes))
    rare = sorted({c for v in gaps.values() for c in v})
    counts = ", ".join(f"{c!r} {int(total[[str(x) for x in classes].index(c)])}" for c in rare)
    where = "; ".join(f"{k} lacks {', '.join(map(repr, v))}" for k, v in gaps.items())
    return (
        f"Not every split holds every class ({where}; rows per class: {counts}), so metrics "
        f"that need every class are reported as missing there; give each class at least "
        f"{len(splits)} rows (one per split) or merge the rare classes."
    )


def summary_lines(report: dict) -> list[str]:
    """A few lines for the console and TensorBoard: the facts that need a look."""
    lines = [
        f"rows: {report['rows']} (dropped: {report.get('rows_dropped', {})})",
        f"features: {report['features']['numeric']} numeric, {report['features']['categorical']} categorical",
    ]
    missing = {k: v for k, v in report["missing_share"].items() if v > 0}
    if missing:
        lines.append("missing share: " + ", ".join(f"{k} {v:.1%}" for k, v in missing.items()))
    outliers = {k: v for k, v in report.get("outliers", {}).items() if v}
    if outliers:
        lines.append("outliers (train): " + ", ".join(f"{k} {v}" for k, v in outliers.items()))
    for key, label in (
        ("dropped_columns", "dropped columns"),
        ("duplicate_columns", "duplicate columns"),
    ):
        if report.get(key):
            lines.append(f"{label}: {report[key]}")
    if report["duplicate_rows"] or report["test_rows_also_in_train"]:
        lines.append(
            f"duplicate rows: {report['duplicate_rows']}, test rows also in train: {report['test_rows_also_in_train']}"
        )
    lines.append(f"target ({report['task']}, train): {report['target']['train']}")
    if report.get("class_gaps"):
        lines.append(f"WARNING {report['class_gaps']}")
    for name, score in report.get("leakage", {}).items():
        lines.append(
            f"WARNING leakage: {name} alone predicts the target (validation score {score})"
        )
    return lines
