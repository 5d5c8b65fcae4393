"""The schema: column roles and types, vocabularies and target classes, as plain JSON.

It is the one step that cannot live in a tensor graph: turning a table's values into
(x_num float32 [N, F] with NaN for missing, x_cat int64 [N, C] codes). Training, ``kiln
eval``, ``kiln predict`` and the server all call ``encode``; ``validate`` rejects a table
whose columns or types do not match, naming the columns. Category codes: 0 = unknown (unseen
or rare), 1 = missing, 2.. = the training vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kiln.data.infer import DATE_PARTS, column_type, to_bool, to_number
from kiln.data.multilabel import encode_label_sets, label_lists
from kiln.errors import KilnError

TYPES = ("numeric", "categorical", "boolean", "datetime")


@dataclass
class Column:
    name: str
    type: str
    vocab: list[str] = field(default_factory=list)  # categorical only
    parts: list[str] = field(default_factory=list)  # datetime only

    @property
    def features(self) -> list[str]:
        return [f"{self.name}__{p}" for p in self.parts] if self.type == "datetime" else [self.name]


@dataclass
class Schema:
    target: str
    task: str
    columns: list[Column]
    classes: list | None = None
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why
    label_separator: str | None = None  # multilabel: the separator of ``a|b`` targets
    fixed = False  # True for a checkpoint's schema: data.columns cannot change it (not a field)

    # -- building -----------------------------------------------------------------------
    @classmethod
    def infer(cls, df: pd.DataFrame, target: str, task: str, types: dict | None = None,
              drop: list | None = None) -> Schema:  # fmt: skip
        """Types from the data, overridden by ``types`` ({column: type or "drop"})."""
        types, drop = dict(types or {}), set(drop or [])
        unknown = sorted((set(types) | drop) - set(df.columns))
        if unknown:
            raise KilnError(
                f"data.columns / data.drop name columns the table lacks ({', '.join(unknown)}); check their spelling."
            )
        columns, dropped = [], {}
        for name in df.columns:
            if name == target:
                continue
            given = types.get(name)
            if name in drop or given == "drop":
                dropped[name] = "dropped by config"
                continue
            if given is not None and given not in TYPES:
                raise KilnError(
                    f"data.columns.{name}={given!r} is not a column type; use one of {', '.join(TYPES)} or drop."
                )
            kind, note = (given, None) if given else column_type(df[name], name)
            if kind is None:
                dropped[name] = note
                continue
            parts = [p for p in DATE_PARTS if p != "hour"] if kind == "datetime" else []
            if (
                kind == "datetime"
                and (pd.to_datetime(df[name], errors="coerce").dt.hour.fillna(0) != 0).any()
            ):
                parts.append("hour")
            columns.append(Column(name, kind, parts=parts))
        if not columns:
            raise KilnError(
                f"No usable feature columns are left beside the target {target!r}; check data.columns and data.drop."
            )
        return cls(target=target, task=task, columns=columns, dropped=dropped)

    def fit_vocab(self, df: pd.DataFrame, caps: dict[str, tuple[int, int | None]]) -> None:
        """Vocabularies from the training split: values seen at least min_frequency times, the
        max_categories most frequent (ties by value); the rest become unknown."""
        for col in self.columns:
            if col.type != "categorical":
                continue
            min_freq, max_cats = caps.get(col.name, (1, None))
            counts = _as_str(df[col.name]).value_counts(dropna=True)
            counts = counts[counts >= max(1, int(min_freq))]
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            col.vocab = sorted(v for v, _ in order[: max_cats or None])

    # -- using --------------------------------------------------------------------------
    @property
    def numeric_features(self) -> list[tuple[str, str, str]]:
        """(feature name, source column, type) of each x_num column, in order."""
        return [
            (f, c.name, c.type) for c in self.columns if c.type != "categorical" for f in c.features
        ]

    @property
    def categorical_features(self) -> list[str]:
        return [c.name for c in self.columns if c.type == "categorical"]

    @property
    def cardinalities(self) -> list[int]:
        return [len(c.vocab) + 2 for c in self.columns if c.type == "categorical"]

    def validate(self, df: pd.DataFrame, where: str = "the table") -> None:
        """KilnError naming missing columns, unexpected columns or values of the wrong type."""
        needed = [c.name for c in self.columns]
        missing = [n for n in needed if n not in df.columns]
        if missing:
            raise KilnError(
                f"{where} lacks the column(s) {', '.join(missing)} the model was trained on; add them."
            )
        known = set(needed) | set(self.dropped) | {self.target}
        extra = [str(n) for n in df.columns if n not in known]
        if extra:
            raise KilnError(
                f"{where} has column(s) {', '.join(extra)} the model does not know; remove them."
            )
        for col in self.columns:
            if col.type == "numeric":
                to_number(df[col.name], col.name, where, self.fixed)
            elif col.type == "boolean":
                to_bool(df[col.name], col.name, where, self.fixed)

    def encode(self, df: pd.DataFrame, where: str = "the table") -> tuple[np.ndarray, np.ndarray]:
        """(x_num float32 [N, F] with NaN for missing, x_cat int64 [N, C] codes)."""
        n = len(df)
        x_num = np.empty((n, len(self.numeric_features)), dtype=np.float32)  # filled in place
        j, cats = 0, []
        for col in self.columns:
            s = df[col.name]
            if col.type == "numeric":
                x_num[:, j] = to_number(s, col.name, where, self.fixed)
            elif col.type == "boolean":
                x_num[:, j] = to_bool(s, col.name, where, self.fixed)
            elif col.type == "datetime":
                dt = (
                    pd.to_datetime(s, errors="coerce", format="mixed") if s.dtype.kind != "M" else s
                )
                for k, part in enumerate(col.parts):
                    x_num[:, j + k] = getattr(dt.dt, part).to_numpy(
                        dtype=np.float64, na_value=np.nan
                    )
            else:
                cats.append(_codes(s, col.vocab))
            j += len(col.features) if col.type != "categorical" else 0
        x_cat = np.stack(cats, 1) if cats else np.zeros((n, 0), np.int64)
        return x_num, x_cat

    def encode_target(self, s: pd.Series) -> np.ndarray:
        if self.task == "regression":
            values = pd.to_numeric(s, errors="coerce")
            bad = values.isna() & s.notna()
            if bad.any():  # a class column read as a regression target
                fix = "" if self.fixed else " or use data.task=multiclass"
                raise KilnError(
                    f"The regression target {self.target!r} holds text such as "
                    f"{s[bad].iloc[0]!r}; fix those values{fix}."
                )
            return to_number(s, self.target, "the target").astype(np.float32)
        if self.task == "multilabel":
            return self._encode_label_sets(s)
        codes = pd.Categorical(s, categories=self.classes).codes.astype(np.int64)
        if (codes < 0).any():
            bad = s[codes < 0].iloc[0]
            raise KilnError(
                f"The target {self.target!r} holds the class {bad!r} the model was not trained on; remove those rows."
            )
        return codes

    def _encode_label_sets(self, s: pd.Series) -> np.ndarray:
        """int64 0/1 [N, labels] from ``a|b`` cells (an empty cell: no label)."""
        sets = label_lists(s.to_numpy(), self.label_separator or "|")
        unknown = sorted({t for labels in sets for t in labels} - set(self.classes or []))
        if unknown:
            raise KilnError(
                f"The target {self.target!r} holds the label {unknown[0]!r} the model was not "
                "trained on; remove it from those rows."
            )
        return encode_label_sets(sets, list(self.classes or [])).astype(np.int64)

    def to_dict(self) -> dict:
        return {"version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        d = {k: v for k, v in d.items() if k != "version"}
        schema = cls(**{**d, "columns": [Column(**c) for c in d["columns"]]})
        schema.fixed = True
        return schema


def _as_str(s: pd.Series) -> pd.Series:
    """Category values as strings (NaN kept): 3 and "3" are the same category."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.rename_categories(str)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        return s
    return s.astype(str).where(s.notna(), np.nan)


def _codes(s: pd.Series, vocab: list) -> np.ndarray:
    """int64 codes: 0 = not in the vocabulary, 1 = missing, 2 + the value's position in it."""
    s = _as_str(s)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s)  # Arrow strings: hash lookup in C++, no Python objects
        found = pc.index_in(arr, value_set=pa.array(vocab, type=arr.type))
        codes = pc.fill_null(found, -2).to_numpy().astype(np.int64) + 2
    else:
        codes = pd.Index(vocab, dtype=object).get_indexer(s.astype(object)).astype(np.int64) + 2
        codes[codes == 1] = 0
    codes[s.isna().to_numpy()] = 1
    return codes
