"""Reading a column's type from its values, and converting values with errors that name them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kiln.errors import KilnError

DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f"}


def _sample(s: pd.Series, bad: np.ndarray) -> str:
    """Up to three distinct bad values, and how many there are when more than one."""
    values = s[bad]
    shown = ", ".join(repr(v) for v in values.drop_duplicates().iloc[:3])
    return shown if len(values) == 1 else f"{shown} ({len(values)} of {len(s)} values)"


def _declare(name: str, fixed: bool, kind: str) -> str:
    """The fix for a column whose values do not fit its type: declare another type where the
    schema is being inferred (kiln train); where a checkpoint fixes it, the values must change."""
    if fixed:
        return f"the model takes it as a {kind} column, so fix those values in the file"
    return f"or declare it with ++data.columns.{name}=categorical"


def to_number(s: pd.Series, name: str, where: str, fixed: bool = False) -> np.ndarray:
    """float64 values; text that is not a number is a KilnError showing a sample value.
    ``fixed``: the column's type comes from a checkpoint, and cannot be declared otherwise."""
    if s.dtype.kind in "iufb":
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(s, errors="coerce")
    bad = (values.isna() & s.notna()).to_numpy()
    if bad.any():
        raise KilnError(
            f"Column {name!r} in {where} should be numeric but holds text such as {_sample(s, bad)}; "
            + ("" if fixed else "fix those values ")
            + f"{_declare(name, fixed, 'numeric')}."
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _bool_value(v) -> float:
    text = str(v).strip().lower()
    return 1.0 if text in _TRUE else 0.0 if text in _FALSE else np.nan


def to_bool(s: pd.Series, name: str, where: str, fixed: bool = False) -> np.ndarray:
    """1.0 / 0.0 / NaN from bools, 0/1 numbers or true/false, yes/no text."""
    if s.dtype.kind in "biuf":
        values = s.astype("float64")
        bad = (values.notna() & ~values.isin([0.0, 1.0])).to_numpy()
    else:
        values = s.map(_bool_value, na_action="ignore").astype("float64")
        bad = (values.isna() & s.notna()).to_numpy()
    if bad.any():
        raise KilnError(
            f"Column {name!r} in {where} should be boolean but holds {_sample(s, bad)}; "
            + ("use true/false values " if not fixed else "")
            + f"{_declare(name, fixed, 'boolean')}."
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def column_type(s: pd.Series, name: str) -> tuple[str | None, str | None]:
    """(type, None) for a usable column, or (None, why it is dropped).

    An all-missing column is an error; id-like, constant and free-text columns are dropped
    with a note; text that is mostly numbers is an error naming a sample of the stray text
    (taken as categories, each number would be its own category).
    """
    present = s.dropna()
    if present.empty:
        raise KilnError(
            f"Column {name!r} has no values at all; drop it with data.drop=[{name}] or fill it in."
        )
    n_unique = present.nunique()
    if n_unique == 1:
        value = present.iloc[0]
        value = value.item() if isinstance(value, np.generic) else value  # 1, not np.int64(1)
        return None, f"constant (every value is {value!r})"
    kind = s.dtype.kind
    if kind == "b":
        return "boolean", None
    if kind == "M":
        return "datetime", None
    if kind in "iuf":
        if kind in "iu" and n_unique == len(s) > 20 and present.max() - present.min() + 1 == len(s):
            return None, "id-like (a unique consecutive integer per row)"
        return "numeric", None
    text = present.astype(str).str.strip()
    if text.str.lower().isin(_TRUE | _FALSE).all() and n_unique <= 2:
        return "boolean", None
    numbers = pd.to_numeric(text, errors="coerce")
    share = numbers.notna().mean()
    if share == 1:
        return "numeric", None
    if share >= 0.5:
        to_number(s, name, "the table")  # raises with a sample of the stray text
    if text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").mean() > 0.9:
        return "datetime", None
    if n_unique == len(s) > 20:
        words = text.str.split().str.len().mean()
        return None, "free text (not supported yet)" if words > 3 else "id-like (unique per row)"
    if n_unique > 0.5 * len(present) and text.str.split().str.len().mean() > 3:
        return None, "free text (not supported yet)"
    return "categorical", None
