"""The drift report: a table on the console, drift.json, and report.html with one PNG per
drifted feature (reference and new distributions overlaid)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from kiln.files import atomic as atomic_files

MAX_TABLE_ROWS = 40


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "DRIFT" if v else "ok"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def rows(report: dict) -> list[tuple[str, dict]]:
    items = list(report["features"].items())
    if report.get("predictions"):
        items.append(("<prediction>", report["predictions"]))
    return items


def print_table(report: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for col in ("feature", "type", "test", "statistic", "threshold", "p-value", "PSI", "result"):
        table.add_column(col, justify="left" if col in ("feature", "type", "test") else "right")
    items = rows(report)
    if len(items) > MAX_TABLE_ROWS:  # many features (pixels): the drifted ones first
        items = sorted(items, key=lambda kv: not kv[1]["drifted"])[:MAX_TABLE_ROWS]
    for name, r in items:
        table.add_row(name, r["type"], r.get("method", ""), _fmt(r.get("statistic")),
                      _fmt(r.get("threshold")), _fmt(r.get("p_value")), _fmt(r.get("psi")),
                      _fmt(r["drifted"]))  # fmt: skip
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough for the feature names
        console = Console(width=120)
    console.print(table)
    n = len(report["features"])
    console.print(
        f"{len(report['drifted_features'])} of {n} features drifted "
        f"(share {report['drifted_share']:.2f}); dataset drift: {report['dataset_drift']}; "
        f"prediction drift: {report['prediction_drift']}"
    )


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "feature"


def plot_feature(path: Path, name: str, ref: dict, new) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    if ref["type"] == "numeric":
        points = np.asarray(ref.get("values") or ref.get("grid"))
        x = np.asarray(new, dtype=np.float64)
        x = x[~np.isnan(x)]
        lo, hi = min(points.min(), x.min()), max(points.max(), x.max())
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
        ax.hist(points, bins=bins, density=True, alpha=0.5, label="reference")
        ax.hist(x, bins=bins, density=True, alpha=0.5, label="new")
    else:
        cats = list(ref["counts"]) + sorted(k for k in new if k not in ref["counts"])
        r = np.array([ref["counts"].get(c, 0) for c in cats], float)
        c = np.array([new.get(c, 0) for c in cats], float)
        pos = np.arange(len(cats))
        ax.bar(pos - 0.2, r / max(r.sum(), 1), 0.4, label="reference")
        ax.bar(pos + 0.2, c / max(c.sum(), 1), 0.4, label="new")
        ax.set_xticks(pos, cats, rotation=45, ha="right", fontsize=7)
    ax.set_title(name)
    ax.legend()
    fig.tight_layout()
    atomic_files.save_figure(fig, path, dpi=80)
    plt.close(fig)


def write_reports(
    out_dir: Path, report: dict, profile: dict, data: dict, max_plots: int = 100
) -> dict:
    """drift.json, report.html and plots/<feature>.png; ``data`` maps names to new values or
    category counts. Returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = out_dir / "plots"
    refs = {**profile["features"], "<prediction>": profile.get("predictions")}
    images = {}
    for name, r in rows(report):
        plottable = r.get("method") != "missing"  # nothing of the batch's to draw
        if (
            r["drifted"]
            and plottable
            and len(images) < max_plots
            and name in data
            and refs.get(name)
        ):
            plots.mkdir(exist_ok=True)
            images[name] = plots / f"{_slug(name)}.png"
            plot_feature(images[name], name, refs[name], data[name])
    atomic_files.write_json(out_dir / "drift.json", report, default=float)
    head = "".join(
        f"<th>{c}</th>"
        for c in ("feature", "type", "test", "statistic", "threshold", "p-value", "PSI", "result")
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(_fmt(v))}</td>"
            for v in (
                name,
                r["type"],
                r.get("method"),
                r.get("statistic"),
                r.get("threshold"),
                r.get("p_value"),
                r.get("psi"),
                r["drifted"],
            )
        )
        + "</tr>"  # fmt: skip
        for name, r in rows(report)
    )
    figs = "".join(
        f'<h3>{html.escape(n)}</h3><img src="plots/{p.name}" alt="{html.escape(n)}">'
        for n, p in images.items()
    )
    summary = (
        f"{len(report['drifted_features'])} of {len(report['features'])} features drifted; "
        f"dataset drift: {report['dataset_drift']}; prediction drift: {report['prediction_drift']}"
    )
    atomic_files.write_text(
        out_dir / "report.html",
        f"<!doctype html><html><head><meta charset='utf-8'><title>kiln drift</title></head><body>"
        f"<h1>kiln drift</h1><p>{html.escape(summary)}</p><table border='1'><tr>{head}</tr>{body}</table>"
        f"{figs}</body></html>\n",
    )
    return {
        "json": out_dir / "drift.json",
        "html": out_dir / "report.html",
        "plots": list(images.values()),
    }
