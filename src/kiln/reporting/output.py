"""Write a report: ``<dir>/report/`` holding report.html, evaluation.json and the PNGs the
page shows beside it (so the folder is self-contained), and every figure and table in
TensorBoard (``add_figure`` / ``add_text`` on the run's writer) when one is given."""

from __future__ import annotations

import html
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from kiln.files import atomic
from kiln.reporting import REPORT_DIR, REPORT_HTML, REPORT_JSON
from kiln.reporting.figures import pyplot
from kiln.reporting.report import Report

log = logging.getLogger("kiln")
DPI = 90

TITLES = {
    "confusion_matrix": "Confusion matrix",
    "roc": "ROC curves",
    "precision_recall": "Precision-recall curves",
    "reliability": "Reliability diagram",
    "thresholds": "Metrics across decision thresholds",
    "predicted_vs_actual": "Predicted vs actual",
    "residuals_vs_predicted": "Residuals vs predicted",
    "residual_histogram": "Residual histogram",
    "error_by_decile": "Error by target decile",
    "permutation_importance": "Permutation importance",
    "worst_inputs": "Worst predictions",
}
STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}
figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:13px;color:#555}"""


def headline(ev: dict) -> dict:
    """The report's key numbers (the summary table, TensorBoard's text and kiln compare)."""
    out = {"rows": ev["rows"], "loss": ev["loss"]}
    if "classification" in ev:
        c = ev["classification"]
        cal = c["calibration"]
        out.update(accuracy=c["accuracy"], ece=cal["ece"], brier=cal["brier"], nll=cal["nll"])
        out["temperature"] = cal["temperature"]
        if "before" in cal:
            out.update(ece_before=cal["before"]["ece"], brier_before=cal["before"]["brier"])
    else:
        r = ev["regression"]["residuals"]
        out.update({k: r[k] for k in ("mae", "rmse", "r2", "bias")})
    return out


def markdown(frame: pd.DataFrame) -> str:
    """A markdown table (TensorBoard's text tab renders it)."""

    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v).replace("|", "/")

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)


def page(report: Report, pngs: list[str]) -> str:
    ev = report.evaluation
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(ev['title'])}</title>",
        f"<style>{STYLE}</style></head><body><h1>{html.escape(ev['title'])}</h1>",
        f"<p>{html.escape(ev['task'])} on {html.escape(str(ev['dataset']))}, {ev['rows']} rows; "
        "every number is in <a href='evaluation.json'>evaluation.json</a>.</p>",
        _table(pd.DataFrame([headline(ev)])),
    ]
    if "classification" in ev:
        parts += ["<h2>Per class</h2>", _table(pd.DataFrame(ev["classification"]["per_class"]))]
    parts.append("<h2>Figures</h2>")
    for name in pngs:
        title = html.escape(TITLES.get(name, name))
        parts.append(
            f"<figure><img src='{name}.png' alt='{title}'><figcaption>{title}</figcaption></figure>"
        )
    for name, frame in report.tables.items():
        parts += [f"<h2>{html.escape(name[0].upper() + name[1:])}</h2>", _table(frame)]
    if "classification" in ev and "thresholds" in ev["classification"]:
        parts += [
            "<h2>Across thresholds</h2>",
            _table(pd.DataFrame(ev["classification"]["thresholds"])),
        ]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(report: Report, run_dir: Path, writer=None, step: int = 0) -> Path:
    """Write ``<run_dir>/report/`` (PNGs first, the page last) and log to ``writer``."""
    folder = Path(run_dir) / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    names = []
    for name, fig in report.figures.items():
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI)  # drawn once: the file and TensorBoard's image
        plt.close(fig)
        atomic.write_bytes(folder / f"{name}.png", png.getvalue())
        names.append(name)
        if writer is not None:
            image = np.asarray(Image.open(png).convert("RGB"))
            writer.add_image(f"report/{name}", image, global_step=step, dataformats="HWC")
    atomic.write_json(folder / REPORT_JSON, report.evaluation, exclusive=False)
    atomic.write_text(folder / REPORT_HTML, page(report, names))
    if writer is not None:
        writer.add_text(
            "report/summary", markdown(pd.DataFrame([headline(report.evaluation)])), step
        )
        for name, frame in report.tables.items():
            tag = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
            writer.add_text(f"report/{tag}", markdown(frame.head(50)), step)
        writer.flush()
    log.info("evaluation report: %s", folder / REPORT_HTML)
    return folder
