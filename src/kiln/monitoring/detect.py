"""Decision rules: which test each feature gets, and when it counts as drifted.

Numeric: KS (p below ks_pvalue, Bonferroni-corrected over the features tested with p-values)
when the reference kept its raw values and has at most ``small_reference_rows`` rows, else
the Wasserstein distance divided by the reference std (at least ``wasserstein``); PSI is
always reported and decides too when ``psi`` is set. Categorical: chi-square (p below
chi2_pvalue) for small references, else the Jensen-Shannon distance (at least
``jensenshannon``). Predictions get the same rules without the correction. The data set
drifts when at least ``dataset_share`` of the input features drift.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kiln.config.schema import THRESHOLD_DEFAULTS
from kiln.monitoring import stats
from kiln.monitoring.features import category_counts

DEFAULTS = THRESHOLD_DEFAULTS  # kiln.config.schema.nodes.Thresholds: the one source


def _uses_pvalue(ref: dict, th: dict) -> bool:
    if ref["type"] == "numeric":
        return "values" in ref and ref["n"] <= th["small_reference_rows"]
    return ref["n"] <= th["small_reference_rows"]


def numeric_result(ref: dict, new: np.ndarray, th: dict, alpha: float) -> dict:
    x = np.asarray(new)
    x = np.sort(x[~np.isnan(x)] if x.dtype.kind == "f" else x)
    out = {"type": "numeric", "rows": len(x), "drifted": False}
    if len(x) == 0 and len(new) and ref.get("n", 0):  # a feature whose source broke
        return {**out, "method": "missing", "drifted": True, "note": "every value is missing"}
    if len(x) == 0 or ref.get("n", 0) == 0:
        return {**out, "method": "none", "note": "no values to compare"}
    points = np.asarray(ref["values"] if "values" in ref else ref["grid"])
    scale = ref["std"] if ref["std"] > 0 else 1.0
    out["wasserstein"] = stats.wasserstein_sorted(points, x) / scale
    edges = np.asarray(ref["bin_edges"])
    out["psi"] = stats.psi(np.asarray(ref["bin_counts"]), stats.bin_counts(x, edges))
    out["mean"], out["reference_mean"] = float(x.mean()), ref["mean"]
    if _uses_pvalue(ref, th):
        out["statistic"], out["p_value"] = stats.ks_pvalue(points, x)
        out.update(method="ks", threshold=alpha, drifted=out["p_value"] < alpha)
    else:
        out.update(method="wasserstein", statistic=out["wasserstein"], threshold=th["wasserstein"])
        out["drifted"] = out["wasserstein"] >= th["wasserstein"]
    if th.get("psi") is not None and out["psi"] >= th["psi"]:
        out["drifted"] = True
    out["drifted"] = bool(out["drifted"])
    return out


def categorical_result(ref: dict, new_counts: dict[str, int], th: dict, alpha: float) -> dict:
    cats, r, c = stats.align_counts(ref["counts"], new_counts)
    out = {"type": "categorical", "rows": int(c.sum()), "drifted": False}
    if c.sum() == 0 or r.sum() == 0:
        return {**out, "method": "none", "note": "no values to compare"}
    out["jensenshannon"] = stats.js_distance(r, c)
    out["new_categories"] = [
        k for k, n in zip(cats, c, strict=True) if n and k not in ref["counts"]
    ]
    if _uses_pvalue(ref, th):
        out["statistic"], out["p_value"] = stats.chi_square(r, c)
        out.update(method="chi2", threshold=alpha, drifted=bool(out["p_value"] < alpha))
    else:
        out.update(
            method="jensenshannon", statistic=out["jensenshannon"], threshold=th["jensenshannon"]
        )
        if ref.get("bag"):  # a text's tokens: above what chance reaches, too
            out["threshold"] = max(th["jensenshannon"], sampling_floor(r, c))
        out["drifted"] = bool(out["jensenshannon"] >= out["threshold"])
    return out


def sampling_floor(ref: np.ndarray, new: np.ndarray, draws: int = 50) -> float:
    """The largest Jensen-Shannon distance between two samples of the reference's and the
    batch's sizes drawn (seeded) from their pooled frequencies: what chance alone reaches when
    nothing changed. Tokens over a large vocabulary are far from their own frequencies in a
    small window (60 tokens, 1,400 seen, 1,600 in the reference: about 0.12 apart), so a fixed
    threshold alone would cry drift on every small batch."""
    p = (ref + new) / (ref.sum() + new.sum())
    rng = np.random.default_rng(0)
    a = rng.multinomial(int(ref.sum()), p, size=draws)
    b = rng.multinomial(int(new.sum()), p, size=draws)
    return float(max(stats.js_distance(x, y) for x, y in zip(a, b, strict=True)))


def compare(profile: dict, num: dict, cat: dict, labels: dict, predictions=None,
            thresholds: dict | None = None, workers: int = 0) -> dict:  # fmt: skip
    """The drift report of one batch (features from ``Featurizer``) against ``profile``."""
    th = {**DEFAULTS, **{k: v for k, v in (thresholds or {}).items() if k in DEFAULTS}}
    refs = profile["features"]
    tested = sum(_uses_pvalue(refs[n], th) for n in [*num, *cat])
    corr = max(1, tested) if th["bonferroni"] else 1
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max(1, workers)) as pool:  # numpy's sort releases the GIL
        jobs = {
            n: pool.submit(numeric_result, refs[n], v, th, th["ks_pvalue"] / corr)
            for n, v in num.items()
        }
        results = {n: j.result() for n, j in jobs.items()}
    for name, codes in cat.items():
        counts = category_counts(codes, labels[name])
        results[name] = categorical_result(refs[name], counts, th, th["chi2_pvalue"] / corr)
    drifted = [n for n, r in results.items() if r["drifted"]]
    share = len(drifted) / max(1, len(results))
    pred = None
    if predictions is not None and profile.get("predictions"):
        values, plabels = predictions
        pref = profile["predictions"]
        if plabels is None:
            pred = numeric_result(pref, values, th, th["ks_pvalue"])
        else:
            pred = categorical_result(pref, category_counts(values, plabels), th, th["chi2_pvalue"])
    dataset = share >= th["dataset_share"]
    prediction_drift = bool(pred and pred["drifted"])
    return {
        # rows of the batch: a numeric feature's count (a text's token feature counts tokens)
        "rows": int(
            max(
                (r["rows"] for r in results.values() if r["type"] == "numeric"),
                default=max((r["rows"] for r in results.values()), default=0),
            )
        ),
        "reference_rows": profile.get("rows"),
        "thresholds": th,
        "features": results,
        "predictions": pred,
        "drifted_features": drifted,
        "drifted_share": share,
        "dataset_drift": dataset,
        "prediction_drift": prediction_drift,
        "drift": bool(drifted) or prediction_drift,
    }
