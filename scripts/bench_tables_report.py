"""The report of scripts/bench_tables.py: means, gaps to the best baseline and issue 16's bar."""

from __future__ import annotations

import numpy as np
from bench_tables_baselines import BASELINES

SMALL = 1000  # rows: the bar's per-table check for small tables
BAR = {
    "mean_gap": {"classes": 0.01, "regression": 0.02},
    "small_gap": {"classes": 0.03, "regression": 0.05},
}


def _kind(task: str) -> str:
    return "regression" if task == "regression" else "classes"


def summarise(result: dict) -> dict:
    """Means, the best baseline and kiln's gap to it (positive: kiln is behind)."""
    means = {m: float(np.mean(s)) for m, s in result["scores"].items()}
    best = max(BASELINES, key=lambda m: means[m])
    out = {"means": means, "best_baseline": best}
    if "kiln" in means:
        out["gap"] = means[best] - means["kiln"]
        out["kiln_ge_hgb"] = bool(means["kiln"] >= means["hgb"])
    return out


def bar_checks(results: list[dict]) -> list[tuple[str, bool]]:
    """The issue's bar, each check with whether it holds on these results."""
    rows = [r for r in results if "gap" in r]
    if not rows:
        return []
    wins = sum(r["kiln_ge_hgb"] for r in rows)
    checks = [
        (f"kiln >= HGB on at least half the tables ({wins}/{len(rows)})", 2 * wins >= len(rows))
    ]
    for kind in ("classes", "regression"):
        gaps = [r["gap"] for r in rows if _kind(r["task"]) == kind]
        if gaps:
            limit = BAR["mean_gap"][kind]
            checks.append(
                (
                    f"mean gap to best baseline, {kind}: {np.mean(gaps):+.4f} <= {limit}",
                    bool(np.mean(gaps) <= limit),
                )
            )
    for r in rows:
        if r["rows"] < SMALL:
            limit = BAR["small_gap"][_kind(r["task"])]
            checks.append(
                (
                    f"{r['name']} ({r['rows']} rows) gap {r['gap']:+.4f} <= {limit}",
                    bool(r["gap"] <= limit),
                )
            )
    return checks


def markdown(results: list[dict], folds: int, model: str) -> str:
    methods = [*BASELINES, *(["kiln"] if any("gap" in r for r in results) else [])]
    head = ["table", "rows", "task", *methods, "best", "gap", *[f"{m} s" for m in methods]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [
            r["name"],
            str(r["rows"]),
            r["task"],
            *[f"{r['means'][m]:.4f}" for m in methods],
            r["best_baseline"],
        ]
        cells.append(f"{r['gap']:+.4f}" if "gap" in r else "")
        cells += [f"{r['seconds'][m]:.1f}" for m in methods]
        lines.append("| " + " | ".join(cells) + " |")
    score = "accuracy (classes) / R2 (regression)"
    lines += [
        "",
        f"{folds}-fold CV means of {score}; kiln model={model}; gap = best baseline - kiln; s = wall seconds, all folds",
        "",
    ]
    lines += [f"- [{'x' if ok else ' '}] {text}" for text, ok in bar_checks(results)]
    return "\n".join(lines)
