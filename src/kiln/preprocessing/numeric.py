"""Numeric columns: outlier handling, imputation and normalisation as one fitted module.

Every statistic is a per-column buffer and every step is a whole-tensor op (no per-column
Python branches), so the same module runs on a GPU and exports to ONNX. Columns that a step
does not touch get neutral values (bounds of +-inf, a centre of 0 and a scale of 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from kiln.preprocessing.base import Fitted

_BOUND = 1e-7  # the tail share QuantileTransformer maps to its extreme values
_CLIP_LO = float(stats.norm.ppf(_BOUND - np.spacing(1)))
_CLIP_HI = float(stats.norm.ppf(1 - (_BOUND - np.spacing(1))))


def _interp(v: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """np.interp row by row: v [F, N], xp and fp [F, Q] with xp sorted along dim 1."""
    q = xp.shape[1]
    if torch.compiler.is_exporting():
        # ONNX has no searchsorted: count the knots at or below each value instead (F x N x Q)
        j = (v.unsqueeze(-1) >= xp.unsqueeze(1)).sum(-1) - 1
    else:
        j = torch.searchsorted(xp, v, right=True) - 1
    j = j.clamp(0, max(q - 2, 0))
    x0, x1 = xp.gather(1, j), xp.gather(1, (j + 1).clamp(max=q - 1))
    y0, y1 = fp.gather(1, j), fp.gather(1, (j + 1).clamp(max=q - 1))
    dx = x1 - x0
    t = torch.where(dx > 0, (v - x0) / torch.where(dx > 0, dx, torch.ones_like(dx)), 0.0)
    y = y0 + t * (y1 - y0)
    y = torch.where(v >= xp[:, -1:], fp[:, -1:], y)
    return torch.where(v < xp[:, :1], fp[:, :1], y)


# Acklam's rational approximation of the normal quantile (relative error < 1.2e-9), made of
# ops ONNX has; used only while exporting, where prims.ndtri has no ONNX translation.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
    1.0,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00, 1.0)


def _poly(coeffs: tuple[float, ...], t: Tensor) -> Tensor:
    out = torch.full_like(t, coeffs[0])
    for c in coeffs[1:]:
        out = out * t + c
    return out


def _ndtri_exportable(p: Tensor) -> Tensor:
    p_low = 0.02425
    q = p - 0.5
    r = q * q
    central = _poly(_A, r) * q / _poly(_B, r)
    tail_p = torch.where(p < 0.5, p, 1 - p).clamp(min=1e-30)  # p = 0 or 1 -> +-11, clipped later
    t = torch.sqrt(-2 * torch.log(tail_p))
    tail = _poly(_C, t) / _poly(_D, t)
    tail = torch.where(p < 0.5, tail, -tail)
    return torch.where((p >= p_low) & (p <= 1 - p_low), central, tail)


class NumericPipeline(Fitted):
    """raw [N, F] (NaN = missing) -> outliers -> impute -> normalise -> [N, F + indicators + flags].

    Buffers: outlier bounds for clipping (clip_lo/hi), for treating as missing (miss_lo/hi)
    and for flag features (flag_lo/hi at flag_idx); fill values; the missing-indicator
    columns (ind_idx); log mask, centre and scale of the affine normalisations; and the
    quantiles of the quantile-to-normal columns (quant_idx), the rest being affine_idx.
    """

    BUFFERS = (
        "clip_lo", "clip_hi", "miss_lo", "miss_hi", "flag_idx", "flag_lo", "flag_hi",
        "fill", "ind_idx", "log_mask", "center", "scale", "affine_idx", "quant_idx",
        "quantiles", "references",
    )  # fmt: skip

    def __init__(self, **buffers: Tensor) -> None:
        super().__init__()
        for name in self.BUFFERS:
            default = torch.zeros(0, dtype=torch.long if name.endswith("idx") else torch.float32)
            self.register_buffer(name, buffers.get(name, default))
        self._plan()

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._plan()

    def _plan(self) -> None:
        """Which steps the fitted buffers make no-ops, decided once (never per batch or while
        exporting): no log columns, and every column affine in its own order."""
        self.any_log = bool(self.log_mask.any())
        affine = self.affine_idx.cpu()
        self.all_affine = self.quant_idx.numel() == 0 and torch.equal(
            affine, torch.arange(len(self.center), dtype=affine.dtype)
        )

    @property
    def out_features(self) -> int:
        return len(self.affine_idx) + len(self.quant_idx) + len(self.ind_idx) + len(self.flag_idx)

    def forward(self, x: Tensor) -> Tensor:
        # NaN, +-inf and values beyond the missing bounds fail both comparisons (the bounds
        # are made finite so that +-inf does too): one mask for every kind of missing
        big = torch.finfo(x.dtype).max
        lo, hi = self.miss_lo.to(x.dtype).clamp(min=-big), self.miss_hi.to(x.dtype).clamp(max=big)
        present = (x >= lo) & (x <= hi)
        extra = []
        if self.ind_idx.numel():
            extra.append((~present[:, self.ind_idx]).to(x.dtype))
        if self.flag_idx.numel():
            flag = x[:, self.flag_idx]
            out_of = (flag < self.flag_lo) | (flag > self.flag_hi)
            extra.append((out_of & torch.isfinite(flag)).to(x.dtype))
        x = torch.where(present, x.clamp(self.clip_lo, self.clip_hi), self.fill)
        if self.any_log:
            x = torch.where(self.log_mask, torch.sign(x) * torch.log1p(torch.abs(x)), x)
        x = (x - self.center) / self.scale
        if not self.all_affine:
            x = torch.cat([x[:, self.affine_idx], self._quantile(x[:, self.quant_idx])], 1)
        out = torch.nan_to_num(x, nan=0.0, posinf=1e6, neginf=-1e6)  # never NaN/inf downstream
        return torch.cat([out, *extra], 1) if extra else out

    def _quantile(self, v: Tensor) -> Tensor:
        """QuantileTransformer(output_distribution='normal').transform, column by column."""
        if self.quantiles.numel() == 0:
            return v
        v = v.T.contiguous()
        qs, refs = self.quantiles, self.references.expand_as(self.quantiles)
        u = 0.5 * (_interp(v, qs, refs) - _interp(-v, -qs.flip(1), -refs.flip(1)))
        u = torch.where(v + _BOUND > qs[:, -1:], 1.0, u)
        u = torch.where(v - _BOUND < qs[:, :1], 0.0, u)
        z = _ndtri_exportable(u) if torch.compiler.is_exporting() else torch.special.ndtri(u)
        return z.clamp(_CLIP_LO, _CLIP_HI).T


# -- fitting (numpy, float64, on the training split) ------------------------------------
def outlier_bounds(col: np.ndarray, method: str, k: float, threshold: float) -> tuple[float, float]:
    """IQR fences (q1 - k*IQR, q3 + k*IQR) or mean +- threshold*std; +-inf when off."""
    if method == "none":
        return -math.inf, math.inf
    finite = col[np.isfinite(col)]
    if finite.size == 0:
        return -math.inf, math.inf
    if method == "iqr":
        q1, q3 = np.percentile(finite, [25, 75])
        return float(q1 - k * (q3 - q1)), float(q3 + k * (q3 - q1))
    mean, std = float(finite.mean()), float(finite.std())
    return mean - threshold * std, mean + threshold * std


def fill_value(col: np.ndarray, strategy: str, constant: float) -> float:
    """SimpleImputer's statistic for one column (NaN = missing)."""
    finite = col[~np.isnan(col)]
    if strategy == "constant" or finite.size == 0:
        return float(constant) if strategy == "constant" else 0.0
    if strategy == "mean":
        return float(finite.mean())
    if strategy == "most_frequent":
        values, counts = np.unique(finite, return_counts=True)
        return float(values[np.argmax(counts)])  # ties: the smallest value, as scikit-learn
    return float(
        np.median(finite, overwrite_input=True)
    )  # median, and the fill for drop_row at inference


def center_scale(col: np.ndarray, method: str) -> tuple[float, float]:
    """(centre, scale) of standard, minmax, robust and log_standard; constant columns scale 1."""
    if method in ("none", "quantile"):
        return 0.0, 1.0
    if method in ("standard", "log_standard"):
        center, scale = col.mean(), col.std()
    elif method == "minmax":
        center, scale = col.min(), col.max() - col.min()
    else:  # robust
        q1, center, q3 = np.percentile(col, [25, 50, 75])
        scale = q3 - q1
    return float(center), float(scale) if scale > 10 * np.finfo(np.float64).eps else 1.0


def quantiles_of(x: np.ndarray, n_quantiles: int, seed: int = 0, subsample: int = 100_000):
    """Per-column quantiles [F, Q] and their reference levels [Q], as QuantileTransformer fits them."""
    n = min(n_quantiles, len(x))
    if len(x) > subsample:
        x = x[np.random.default_rng(seed).choice(len(x), subsample, replace=False)]
    refs = np.linspace(0, 1, n)
    return np.nanpercentile(x, refs * 100, axis=0).T, refs
