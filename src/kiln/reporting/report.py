"""Build a model's evaluation report on a split: ``build_report`` computes the sections (the
task's metrics and calibration, the worst predictions, slices, permutation importance and,
for tables, integrated-gradients attributions of the worst rows); ``kiln.reporting.output``
writes them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import Tensor

from kiln.errors import KilnError
from kiln.reporting import figures, sections
from kiln.reporting.collect import Answers, answers, outputs, readable_inputs, token_texts
from kiln.reporting.importance import (
    feature_groups,
    loss_score,
    permutation_importance,
    sample_rows,
)
from kiln.reporting.slices import slice_labels, slice_metrics


@dataclass
class Settings:
    """The ``eval`` config node (conf/train.yaml, conf/eval.yaml)."""

    slice_by: list[str] = field(default_factory=list)
    worst_k: int = 10
    importance_rows: int = 2000  # permutation importance runs on a sample of this many rows
    importance_repeats: int = 3
    attributions: int = 5  # integrated gradients for this many of the worst rows (tables)
    bins: int = 15  # reliability diagram bins
    seed: int = 0

    @classmethod
    def from_config(cls, node, seed: int = 0) -> Settings:
        node = dict(node or {})
        cols = node.get("slice_by") or []
        cols = [cols] if isinstance(cols, str) else [str(c) for c in cols]
        return cls(**{**node, "slice_by": cols, "seed": seed})


@dataclass
class Report:
    evaluation: dict
    figures: dict  # name -> matplotlib Figure
    tables: dict = field(default_factory=dict)  # name -> DataFrame shown in the HTML


def build_report(model, inputs: list[Tensor], y: Tensor, settings: Settings, title: str) -> Report:
    spec = model.spec
    ans = answers(model, inputs, y)
    ev: dict = {"title": title, "task": spec.task, "dataset": spec.dataset, "rows": len(ans.y),
                "loss": float(ans.loss.mean())}  # fmt: skip
    if spec.is_classification:
        temperature = getattr(model, "temperature", None)
        t = float(temperature.value) if temperature is not None else 1.0
        decision = getattr(model, "decision", None)
        cut = float(decision.value) if decision is not None else None
        ev["classification"], figs = sections.classification(ans, spec, t, cut, settings.bins)
    else:
        ev["regression"], figs = sections.regression(ans)
    report = Report(ev, figs)
    readable = readable_inputs(spec, inputs)
    worst(report, model, inputs, ans, readable, settings.worst_k)
    if settings.slice_by:
        report.evaluation["slices"] = slices(readable, ans, spec.task, settings.slice_by)
        for col, rows in report.evaluation["slices"].items():
            report.tables[f"slices by {col}"] = pd.DataFrame(rows)
    importance(report, model, inputs, ans, settings)
    if "schema" in spec.extra and settings.attributions > 0 and len(ans.y):
        attributions(report, model, inputs, ans, settings.attributions)
    return report


def _label(spec, k) -> str:
    names = spec.class_names
    return str(names[int(k)]) if names else str(int(k))


def _label_sets(spec, on: np.ndarray) -> list[str]:
    names = spec.class_names or [str(k) for k in range(on.shape[1])]
    return ["|".join(n for n, o in zip(names, row, strict=True) if o) for row in on]


def worst(report: Report, model, inputs, ans: Answers, readable, k: int) -> None:
    """The k rows of highest loss with their inputs: table rows under their raw column names,
    image thumbnails, or the first values of any other input."""
    spec = model.spec
    idx = np.argsort(-ans.loss, kind="stable")[:k]
    report.evaluation["worst_rows"] = idx.tolist()
    if spec.is_classification:
        head = {"target": [_label(spec, v) for v in ans.y[idx]],
                "predicted": [_label(spec, v) for v in ans.label[idx]]}  # fmt: skip
        head["p(target)"] = np.exp(-ans.loss[idx])
    elif spec.task == "multilabel":  # label sets, "a|b" as kiln predict writes them
        head = {"target": _label_sets(spec, ans.y[idx] > 0.5),
                "predicted": _label_sets(spec, ans.out[idx] > 0.5)}  # fmt: skip
    else:
        head = {"target": ans.y[idx].reshape(len(idx), -1)[:, 0],
                "predicted": ans.out[idx].reshape(len(idx), -1)[:, 0]}  # fmt: skip
    frame = pd.DataFrame({"row": idx, **head, "loss": ans.loss[idx]})
    if readable is not None:
        frame = pd.concat([frame, readable.iloc[idx].reset_index(drop=True)], axis=1)
    elif inputs[0].ndim == 4 and len(idx):
        captions = [f"{t} -> {p}" for t, p in zip(frame["target"], frame["predicted"], strict=True)]
        images = inputs[0][idx].float().cpu().numpy()
        if spec.extra.get("image", {}).get("layout") == "NHWC":  # uint8 files: [K, H, W, C]
            images = images.transpose(0, 3, 1, 2)
        report.figures["worst_inputs"] = figures.thumbnails(images, captions)
    elif (texts := token_texts(spec, inputs[0][idx])) is not None:
        frame["input"] = texts
    else:
        flat = inputs[0][idx].reshape(len(idx), -1).cpu().numpy()
        frame["input"] = [" ".join(f"{v:.4g}" for v in row[:40]) for row in flat]
    report.tables["worst predictions"] = frame
    report.evaluation["worst"] = jsonable(frame)


def jsonable(frame: pd.DataFrame) -> list[dict]:
    """Records with NaN as null and numpy scalars as Python numbers."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
            for r in clean.to_dict("records")]  # fmt: skip


def slices(readable, ans: Answers, task: str, columns: list[str]) -> dict:
    if readable is None:
        raise KilnError(
            "eval.slice_by needs a table (its column names); this data has none, so drop eval.slice_by."
        )
    out = {}
    for col in columns:
        if col not in readable.columns:
            known = ", ".join(list(readable.columns)[:20])
            raise KilnError(
                f"eval.slice_by names {col!r}, not a column of the data; use one of {known}."
            )
        labels = slice_labels(readable[col])
        if task == "multilabel":  # all labels of a row, not the first
            pred, y = ans.out.reshape(len(ans.y), -1), ans.y.reshape(len(ans.y), -1)
        else:
            pred = ans.label if ans.label is not None else ans.out.reshape(len(ans.y), -1)[:, 0]
            y = ans.y.reshape(len(ans.y), -1)[:, 0]
        out[col] = slice_metrics(labels, ans.loss, pred, y, task)
    return out


def importance(report: Report, model, inputs, ans: Answers, settings: Settings) -> None:
    """Permutation importance on a seeded sample of at most ``importance_rows`` rows."""
    if settings.importance_rows <= 0 or settings.importance_repeats <= 0 or len(ans.y) < 2:
        return
    rows = sample_rows(len(ans.y), settings.importance_rows, settings.seed)
    sub = [t[rows] for t in inputs]
    score = loss_score(lambda x: outputs(model, x), ans.y[rows], model.spec.task)
    found = permutation_importance(
        score, sub, feature_groups(model.spec, sub), settings.importance_repeats, settings.seed
    )
    found["rows"] = len(rows)
    report.evaluation["permutation_importance"] = found
    top = found["groups"][:30]
    report.figures["permutation_importance"] = figures.bars(
        [g["name"] for g in top], [g["mean"] for g in top],
        "increase in mean loss when shuffled", [g["std"] for g in top],
    )  # fmt: skip


def attributions(report: Report, model, inputs, ans: Answers, k: int) -> None:
    """Integrated gradients of the worst rows, one column per raw column."""
    from kiln.reporting.attributions import attribution_frame

    idx = np.array(report.evaluation["worst_rows"][:k], dtype=np.int64)
    frame = attribution_frame(model, inputs[0][idx].cpu(), inputs[1][idx].cpu())
    frame.insert(0, "row", idx)
    report.tables["attributions of the worst predictions (integrated gradients)"] = frame
    report.evaluation["attributions"] = jsonable(frame)
