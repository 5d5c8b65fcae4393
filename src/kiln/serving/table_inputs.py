"""Inputs of a table model trained with kiln's schema: records or frames -> (x_num, x_cat).

The encoding itself is ``kiln.data.schema.Schema.encode``, the very function training used,
so serving cannot drift from training. This class adds what a request needs on top: a quick
check of each record's fields with messages that name the field, and per-feature counts of
missing values and unknown categories for the metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kiln.data.schema import Schema
from kiln.errors import KilnError
from kiln.serving.records import InputError, check_record_fields

# JSON types accepted per column type (None is always accepted: a missing value)
_ACCEPTS = {
    "numeric": ((int, float), "a number"),
    "boolean": ((bool, int, float, str), "a boolean"),
    "categorical": ((str, int, float, bool), "a string"),
    "datetime": ((str,), "a date string"),
}
_JSON_TYPES = {
    "numeric": ["number", "null"],
    "boolean": ["boolean", "number", "string", "null"],
    "categorical": ["string", "number", "boolean", "null"],
    "datetime": ["string", "null"],
}


class TableInputs:
    kind = "schema"

    def __init__(self, schema: dict) -> None:
        self.schema_dict = schema
        self.schema = Schema.from_dict(schema)
        self.columns = [(c.name, c.type) for c in self.schema.columns]
        self.names = [n for n, _ in self.columns]
        self.features = [
            {
                "name": c.name,
                "type": c.type,
                "nullable": True,
                **({"vocabulary": c.vocab} if c.type == "categorical" else {}),
            }
            for c in self.schema.columns
        ]
        self._index = {n: i for i, n in enumerate(self.names)}
        cat = self.schema.categorical_features
        self._cat_pos = [self._index[n] for n in cat]
        self._num_pos = [self._index[c] for _, c, _ in self.schema.numeric_features]
        # records of numeric and categorical columns skip pandas (a one-row DataFrame costs
        # more than the model); tests hold this path equal to Schema.encode
        self._fast = all(t in ("numeric", "categorical") for _, t in self.columns)
        self._num_names = [c for _, c, _ in self.schema.numeric_features]
        self._cat_codes = [
            (c.name, {v: k + 2 for k, v in enumerate(c.vocab)})
            for c in self.schema.columns
            if c.type == "categorical"
        ]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "schema": self.schema_dict, "features": self.features}

    def example(self) -> dict:
        return {
            n: (f.get("vocabulary") or ["a"])[0]
            if t == "categorical"
            else (True if t == "boolean" else ("2024-01-01" if t == "datetime" else 0.0))
            for (n, t), f in zip(self.columns, self.features, strict=True)
        }

    def json_schema(self) -> dict:
        return {
            "type": "object",
            "properties": {n: {"type": _JSON_TYPES[t]} for n, t in self.columns},
            "required": self.names,
            "additionalProperties": False,
        }

    def frame_columns(self) -> list[str]:
        return self.names

    def encode_records(self, records: list):
        n = len(records)
        for i, rec in enumerate(records):
            where = check_record_fields(
                rec, i, n, self.names, self._index, " (null for a missing value)"
            )
            for name, typ in self.columns:
                v = rec[name]
                ok, what = _ACCEPTS[typ]
                if v is not None and (
                    not isinstance(v, ok) or (typ == "numeric" and isinstance(v, bool))
                ):
                    raise InputError(
                        f"{where}: field {name!r} is a {type(v).__name__}; send {what} or null."
                    )
        if self._fast:
            return self._encode_fast(records)
        return self._encode(pd.DataFrame.from_records(records, columns=self.names), "the request")

    def _encode_fast(self, records: list):
        """Schema.encode's codes for checked records: float32 numbers (NaN = missing), and
        category codes 0 = unknown, 1 = missing, 2.. = the vocabulary."""
        n = len(records)
        x_num = np.empty((n, len(self._num_names)), dtype=np.float32)
        x_cat = np.empty((n, len(self._cat_codes)), dtype=np.int64)
        for i, rec in enumerate(records):
            try:
                x_num[i] = [np.nan if rec[c] is None else float(rec[c]) for c in self._num_names]
            except OverflowError:
                raise InputError(f"record {i}: a number is too large for a float32.") from None
            for j, (c, codes) in enumerate(self._cat_codes):
                v = rec[c]
                x_cat[i, j] = 1 if v is None else codes.get(v if isinstance(v, str) else str(v), 0)
        return self._quality(x_num, x_cat)

    def encode_frame(self, df: pd.DataFrame):
        missing = [c for c in self.names if c not in df.columns]
        if missing:
            raise InputError(
                f"column {missing[0]!r} is missing from the input; the model needs columns {', '.join(self.names)}."
            )
        return self._encode(df[self.names], "the input")

    def _encode(self, df: pd.DataFrame, where: str):
        try:
            x_num, x_cat = self.schema.encode(df, where)
        except KilnError as err:
            raise InputError(str(err)) from None
        except (OverflowError, ValueError, TypeError) as err:
            raise InputError(f"{where} holds a value that cannot be encoded ({err}).") from None
        return self._quality(x_num, x_cat)

    def _quality(self, x_num: np.ndarray, x_cat: np.ndarray):
        if np.isinf(x_num).any():
            j = int(np.argwhere(np.isinf(x_num))[0][1])
            raise InputError(
                f"field {self.schema.numeric_features[j][1]!r} is not a finite number; send a finite value or null."
            )
        missing = np.zeros(len(self.names), dtype=np.int64)
        unknown = np.zeros(len(self.names), dtype=np.int64)
        np.add.at(missing, self._num_pos, np.isnan(x_num).sum(0))
        if x_cat.shape[1]:
            missing[self._cat_pos] += (x_cat == 1).sum(0)
            unknown[self._cat_pos] += (x_cat == 0).sum(0)
        return [x_num, x_cat], missing, unknown
