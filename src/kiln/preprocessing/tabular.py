"""The table preprocessor: numeric and categorical pipelines fitted on the training split.

Settings come per type (numeric, boolean, datetime, categorical) from conf/preprocess and
per column from ``preprocess.columns.<name>``; ``resolve`` merges them and rejects unknown
choices with a KilnError naming the key.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from kiln.errors import KilnError
from kiln.preprocessing.categorical import MISSING, CategoricalPipeline, embedding_dim
from kiln.preprocessing.numeric import (
    NumericPipeline,
    center_scale,
    fill_value,
    outlier_bounds,
    quantiles_of,
)

CHOICES = {
    "impute": ("mean", "median", "most_frequent", "constant", "drop_row"),
    "cat_impute": ("token", "most_frequent", "drop_row"),
    "method": ("iqr", "zscore", "none"),
    "strategy": ("clip", "missing", "drop_row", "flag"),
    "normalize": ("standard", "minmax", "robust", "log_standard", "quantile", "none"),
    "encode": ("embedding", "onehot"),
}


def _check(where: str, key: str, value, choices_key: str | None = None) -> None:
    choices = CHOICES[choices_key or key]
    if value not in choices:
        raise KilnError(
            f"{where}.{key}={value!r} is not an option; use one of {', '.join(choices)}."
        )


def resolve(preprocess: dict, name: str, kind: str, source: str | None = None) -> dict:
    """Settings of one feature: its type's defaults, then its column's, then its own overrides."""
    out = copy.deepcopy(dict(preprocess.get(kind) or {}))
    columns = preprocess.get("columns") or {}
    for key in dict.fromkeys([source, name]):
        for k, v in (columns.get(key) or {}).items():
            if isinstance(v, dict):
                out[k] = {**out.get(k, {}), **v}
            else:
                out[k] = v
    where = f"preprocess.columns.{name}" if name in columns else f"preprocess.{kind}"
    if kind == "categorical":
        _check(where, "impute", out.get("impute", "token"), "cat_impute")
        _check(where, "encode", out.get("encode", "embedding"))
    else:
        _check(where, "impute", out.get("impute", "median"))
        _check(where, "normalize", out.get("normalize", "standard"))
        ol = out.setdefault("outliers", {})
        _check(where + ".outliers", "method", ol.get("method", "none"))
        _check(where + ".outliers", "strategy", ol.get("strategy", "clip"))
    return out


class TabularPreprocessor(nn.Module):
    """(x_num [N, F] with NaN, x_cat [N, C] codes) -> the network's input [N, D]."""

    def __init__(self, numeric: NumericPipeline, categorical: CategoricalPipeline) -> None:
        super().__init__()
        self.numeric = numeric
        self.categorical = categorical

    @property
    def out_features(self) -> int:
        return self.numeric.out_features + self.categorical.out_features

    @classmethod
    def from_layout(cls, layout: dict) -> TabularPreprocessor:
        """An empty preprocessor of the right structure, for load_state_dict (no data needed)."""
        return cls(NumericPipeline(), CategoricalPipeline(**layout["categorical"]))

    def layout(self) -> dict:
        return {"categorical": self.categorical.layout}

    def output_sources(self) -> list[tuple[str, int]]:
        """The raw input each output column is made from: ("num", column of x_num) or ("cat",
        column of x_cat), in output order (explanations sum attributions per raw column)."""
        n = self.numeric
        num = torch.cat([n.affine_idx, n.quant_idx, n.ind_idx, n.flag_idx]).tolist()
        c = self.categorical
        cards = c.cards.tolist()
        cat = [i for i in c.onehot_idx.tolist() for _ in range(cards[i])]
        dims = c.layout["embed_dims"]
        cat += [i for i, d in zip(c.embed_idx.tolist(), dims, strict=True) for _ in range(d)]
        return [("num", j) for j in num] + [("cat", i) for i in cat]

    def forward(self, inputs: tuple[Tensor, Tensor]) -> Tensor:
        x_num, x_cat = inputs
        num = self.numeric(x_num)
        return torch.cat([num, self.categorical(x_cat, dtype=num.dtype)], 1)


def _columns(x: np.ndarray, rows: int = 16384) -> np.ndarray:
    """x [N, F] as contiguous columns [F, N] in its own dtype, transposed in cache-sized blocks
    (a column of a row-major table is a strided read; 40 of them cost more than this copy)."""
    if x.flags.f_contiguous:
        return x.T
    out = np.empty((x.shape[1], x.shape[0]), dtype=x.dtype)
    for i in range(0, len(x), rows):
        out[:, i : i + rows] = x[i : i + rows].T
    return out


def fit_numeric(x: np.ndarray, settings: list[dict], seed: int = 0, dtype=torch.float32):
    """Fit the numeric pipeline on training rows x [N, F] (NaN = missing), column by column
    in float64 (one column's copy at a time, so memory stays near the input's size).

    Returns (module, keep [N] bool: rows left after drop_row, report per column).
    """
    n, f = x.shape
    xt = _columns(x)
    column = lambda j: np.where(np.isfinite(c := xt[j].astype(np.float64)), c, np.nan)  # noqa: E731
    b = {
        k: np.full(f, v)
        for k, v in (
            ("clip_lo", -np.inf),
            ("clip_hi", np.inf),
            ("miss_lo", -np.inf),
            ("miss_hi", np.inf),
        )
    }
    flag_idx, flag_lo, flag_hi, keep = [], [], [], np.ones(n, dtype=bool)
    report = {}
    for j, s in enumerate(settings):  # pass 1: outlier bounds and the rows drop_row removes
        ol, col = s.get("outliers") or {}, column(j)
        lo, hi = outlier_bounds(
            col, ol.get("method", "none"), ol.get("k", 1.5), ol.get("threshold", 3.0)
        )
        outside = (col < lo) | (col > hi)
        report[j] = {"outliers": int(outside.sum()), "bounds": [lo, hi]}
        strategy = ol.get("strategy", "clip")
        if strategy in ("clip", "drop_row"):  # drop_row: training rows only; later splits clip
            b["clip_lo"][j], b["clip_hi"][j] = lo, hi
            if strategy == "drop_row":
                keep &= ~outside
        elif strategy == "missing":
            b["miss_lo"][j], b["miss_hi"][j] = lo, hi
        else:
            flag_idx.append(j), flag_lo.append(lo), flag_hi.append(hi)
        if s.get("impute") == "drop_row":
            keep &= ~np.isnan(col) & ~((col < b["miss_lo"][j]) | (col > b["miss_hi"][j]))
    method = [s.get("normalize", "standard") for s in settings]
    fill, cs, quant_idx, quant_cols = np.zeros(f), np.zeros((f, 2)), [], []
    for j, s in enumerate(settings):  # pass 2: fill values and normalisation on kept rows
        col = column(j)[keep] if not keep.all() else column(j)
        if np.isfinite([b["miss_lo"][j], b["miss_hi"][j]]).any():  # skip no-op passes
            col[(col < b["miss_lo"][j]) | (col > b["miss_hi"][j])] = np.nan
        if np.isfinite([b["clip_lo"][j], b["clip_hi"][j]]).any():
            col = np.clip(col, b["clip_lo"][j], b["clip_hi"][j])
        fill[j] = fill_value(col, s.get("impute", "median"), s.get("fill_value", 0.0))
        col[np.isnan(col)] = fill[j]
        if method[j] == "log_standard":
            col = np.sign(col) * np.log1p(np.abs(col))
        cs[j] = center_scale(col, method[j])
        if method[j] == "quantile":
            quant_idx.append(j), quant_cols.append(col)
    log_mask = np.array([m == "log_standard" for m in method], dtype=bool)
    ind_idx = [j for j, s in enumerate(settings) if s.get("indicator")]
    t = lambda v, dt=dtype: torch.as_tensor(np.asarray(v), dtype=dt)  # noqa: E731
    extra = {}
    if quant_idx:
        q = max(int(settings[quant_idx[0]].get("n_quantiles", 1000)), 2)
        qs, refs = quantiles_of(np.stack(quant_cols, 1), q, seed)
        extra = {"quantiles": t(qs), "references": t(refs)}
    module = NumericPipeline(
        **{k: t(v) for k, v in b.items()}, flag_idx=t(flag_idx, torch.long), flag_lo=t(flag_lo),
        flag_hi=t(flag_hi), fill=t(fill), ind_idx=t(ind_idx, torch.long), log_mask=t(log_mask, torch.bool),
        center=t(cs[:, 0]), scale=t(cs[:, 1]), quant_idx=t(quant_idx, torch.long),
        affine_idx=t([j for j in range(f) if j not in set(quant_idx)], torch.long), **extra,
    )  # fmt: skip
    return module, keep, report


def fit_categorical(x: np.ndarray, cards: list[int], settings: list[dict]):
    """Fit the categorical pipeline on training codes x [N, C]; returns (module, keep [N])."""
    keep = np.ones(len(x), dtype=bool)
    fill = []
    for j, s in enumerate(settings):
        strategy = s.get("impute", "token")
        code = MISSING
        if strategy == "most_frequent":
            present = x[:, j][x[:, j] != MISSING]
            code = (
                int(np.bincount(present, minlength=cards[j]).argmax()) if present.size else MISSING
            )
        elif strategy == "drop_row":
            keep &= x[:, j] != MISSING
        fill.append(code)
    onehot = [s.get("encode", "embedding") == "onehot" for s in settings]
    dims = [
        int(s.get("embedding_dim") or embedding_dim(c, int(s.get("max_embedding_dim", 16))))
        for c, s, o in zip(cards, settings, onehot, strict=True) if not o
    ]  # fmt: skip
    return CategoricalPipeline(cards, fill, onehot, dims), keep


def fit_tabular(x_num, x_cat, num_settings, cat_settings, cards, seed=0, dtype=torch.float32):
    """Fit both pipelines on the training split; returns (preprocessor, keep mask, report)."""
    num, keep_num, report = fit_numeric(np.asarray(x_num), num_settings, seed, dtype)
    cat, keep_cat = fit_categorical(np.asarray(x_cat), cards, cat_settings)
    return TabularPreprocessor(num, cat), keep_num & keep_cat, report
