"""The input schema of an artifact: which raw fields a request or a file row must carry.

It turns records (JSON objects) or DataFrame chunks into the arrays the exported graph takes,
and says exactly which field is wrong when it cannot. Records skip pandas entirely: one row
through a DataFrame costs more than the model itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kiln.errors import KilnError
from kiln.serving.records import InputError, check_record_fields  # noqa: F401 (re-exported)

_NUMBER = (int, float)


class InputSchema:
    """``kind="table"``: one float column per feature, tensor input ``x`` of shape [N, F].
    ``kind="tensor"``: one field holding an array of ``shape`` (e.g. an image), ``x`` [N, *shape].
    """

    def __init__(self, kind: str, features: list[dict]) -> None:
        if kind not in ("table", "tensor"):
            raise KilnError(
                f"Artifact input kind {kind!r} is unknown; export it again with this kiln."
            )
        self.kind = kind
        self.features = features
        self.names = [f["name"] for f in features]
        self.nullable = np.array([bool(f.get("nullable", False)) for f in features])
        self._index = {n: i for i, n in enumerate(self.names)}
        if kind == "tensor":
            self.shape = tuple(features[0]["shape"])
            self.size = math.prod(self.shape)

    # -- (de)serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": self.kind, "features": self.features}

    @classmethod
    def from_dict(cls, d: dict):
        """The inputs of an artifact: this class, or TableInputs for kiln's table schema."""
        if d["kind"] == "schema":
            from kiln.serving.table_inputs import TableInputs

            return TableInputs(d["schema"])
        if d["kind"] == "image":  # image files: uint8 (N, H, W, C)
            from kiln.serving.image_inputs import ImageInputs

            return ImageInputs(d["image"])
        return cls(d["kind"], d["features"])

    @classmethod
    def for_table(cls, names: list[str], nullable: bool = False) -> InputSchema:
        return cls("table", [{"name": n, "type": "number", "nullable": nullable} for n in names])

    @classmethod
    def for_tensor(cls, name: str, shape: tuple[int, ...]) -> InputSchema:
        return cls("tensor", [{"name": name, "type": "array", "shape": list(shape)}])

    def example(self) -> dict:
        if self.kind == "tensor":
            return {self.names[0]: np.zeros(self.shape).tolist()}
        return {n: 0.0 for n in self.names}

    def json_schema(self) -> dict:
        """The JSON Schema of one record, for the OpenAPI docs."""
        if self.kind == "tensor":
            props = {self.names[0]: {"type": "array", "description": f"shape {list(self.shape)}"}}
        else:
            props = {
                f["name"]: {"type": ["number", "null"] if f.get("nullable") else "number"}
                for f in self.features
            }
        return {
            "type": "object",
            "properties": props,
            "required": self.names,
            "additionalProperties": False,
        }

    # -- records (the server) -----------------------------------------------------------
    def encode_records(self, records: list):
        """Arrays for the graph, and missing values and unknown categories per field."""
        n = len(records)
        width = self.size if self.kind == "tensor" else len(self.names)
        x = np.empty((n, width), dtype=np.float32)
        for i, rec in enumerate(records):
            where = check_record_fields(rec, i, n, self.names, self._index)
            if self.kind == "tensor":
                x[i] = self._tensor_value(rec[self.names[0]], where)
                continue
            for j, name in enumerate(self.names):
                v = rec[name]
                if v is None:
                    if not self.nullable[j]:
                        raise InputError(
                            f"{where}: field {name!r} is null; this model needs a number there."
                        )
                    x[i, j] = np.nan
                elif type(v) in _NUMBER:
                    try:
                        x[i, j] = v
                    except OverflowError:
                        raise InputError(
                            f"{where}: field {name!r} is too large for a float32."
                        ) from None
                else:
                    raise InputError(
                        f"{where}: field {name!r} is a {_json_type(v)}; send a number."
                    )
        self._check_finite(x)
        return [x.reshape(n, *self.shape) if self.kind == "tensor" else x], *self._quality(x)

    def _tensor_value(self, v, where: str) -> np.ndarray:
        name = self.names[0]
        try:
            a = np.asarray(v, dtype=np.float32)
        except (ValueError, TypeError, OverflowError):
            raise InputError(
                f"{where}: field {name!r} must be a (nested) list of numbers of shape {list(self.shape)}."
            ) from None
        if a.size != self.size or a.shape not in (self.shape, (self.size,)):
            raise InputError(
                f"{where}: field {name!r} has shape {list(a.shape)}; send shape {list(self.shape)}."
            )
        return a.reshape(-1)

    def _check_finite(self, x: np.ndarray) -> None:
        bad = np.isinf(x) | (np.isnan(x) & ~self._nullable_cols(x.shape[1]))
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            name = self.names[0] if self.kind == "tensor" else self.names[j]
            raise InputError(
                f"record {i}: field {name!r} is not a finite number; send a finite value."
            )

    def _nullable_cols(self, width: int) -> np.ndarray:
        return self.nullable if self.kind == "table" else np.zeros(width, dtype=bool)

    # -- DataFrames (kiln predict, kiln.load(...).predict) ------------------------------
    def frame_columns(self) -> list[str]:
        if self.kind == "tensor":
            return [f"{self.names[0]}_{k}" for k in range(self.size)]
        return self.names

    def encode_frame(self, df: pd.DataFrame):
        cols = self.frame_columns()
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(
                f"column {missing[0]!r} is missing from the input; the model needs columns {', '.join(cols[:8])}{' ...' if len(cols) > 8 else ''}."
            )
        for c in cols:
            if not (pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])):
                sample = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
                shown = repr(sample.iloc[0]) if len(sample) else str(df[c].dtype)
                raise InputError(
                    f"column {c!r} holds non-numeric values such as {shown}; it must be numbers."
                )
        x = df[cols].to_numpy(dtype=np.float32, na_value=np.nan)
        self._check_finite(x)
        return [x.reshape(len(df), *self.shape) if self.kind == "tensor" else x], *self._quality(x)

    def _quality(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Missing values and unknown categories (none: no categories here) per field."""
        counts = np.isnan(x).sum(0)
        missing = counts.sum(keepdims=True) if self.kind == "tensor" else counts
        return missing, np.zeros_like(missing)


def _json_type(v) -> str:
    return {str: "string", bool: "boolean", list: "list", dict: "object"}.get(
        type(v), type(v).__name__
    )
