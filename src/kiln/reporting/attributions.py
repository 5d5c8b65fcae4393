"""Per-prediction attributions for tables: integrated gradients (Captum) on the network's
input, summed per raw column.

The path runs from a baseline row, every value missing as the model fills it (the training
statistics, the missing token), to the row, through the preprocessor's output, where a
category is its one-hot block or embedding. So a column's attribution is its share of
``output(row) - output(baseline)`` (completeness: they sum to it, up to the integral's error).
The output explained is the predicted class's probability (binary: the positive class's;
multilabel: the most probable label's) or the predicted value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kiln.errors import KilnError
from kiln.models.pipeline import network_output
from kiln.preprocessing.categorical import MISSING
from kiln.reporting.collect import device_of

STEPS = 32


def column_sources(model) -> tuple[list[str], np.ndarray]:
    """(raw column names, the column index of each preprocessor output)."""
    schema = model.spec.extra.get("schema")
    sources = getattr(model.preprocessor, "output_sources", None)
    if schema is None or sources is None:
        raise KilnError(
            "attributions are computed for tables read with kiln's table data (data=table); this model's input is not one."
        )
    names = [c["name"] for c in schema["columns"]]
    num_col = [names.index(src) for _, src, _ in _numeric_features(schema)]
    cat_col = [names.index(c["name"]) for c in schema["columns"] if c["type"] == "categorical"]
    return names, np.array([num_col[i] if kind == "num" else cat_col[i] for kind, i in sources()])


def _numeric_features(schema: dict) -> list[tuple[str, str, str]]:
    return [
        (f"{c['name']}__{p}" if c["type"] == "datetime" else c["name"], c["name"], c["type"])
        for c in schema["columns"]
        if c["type"] != "categorical"
        for p in (c["parts"] if c["type"] == "datetime" else [None])
    ]


def explained(model, z: Tensor, target: Tensor | None) -> Tensor:
    out = model.to_prediction(z)
    return out if target is None else out.gather(1, target[:, None]).squeeze(1)


def integrated_gradients(model, x_num: Tensor, x_cat: Tensor, steps: int = STEPS) -> dict:
    """{"columns", "attributions" [N, columns], "output" [N], "baseline" [N], "target"
    (the class explained per row, or None)}."""
    from captum.attr import IntegratedGradients

    names, source = column_sources(model)
    dev = device_of(model)
    x_num, x_cat = x_num.to(dev), x_cat.to(dev)
    was = model.training
    model.eval()
    spec = model.spec

    def head(e: Tensor, target: Tensor | None = None) -> Tensor:
        z = network_output(spec, model.network(e), getattr(model, "temperature", None))
        return explained(model, z, target)

    with torch.no_grad():
        e = model.preprocessor((x_num, x_cat)).float()
        empty = (torch.full_like(x_num[:1], float("nan")), torch.full_like(x_cat[:1], MISSING))
        e0 = model.preprocessor(empty).float().expand_as(e).contiguous()
        picks = spec.task in ("multiclass", "multilabel")  # the (most) probable label's output
        target = head(e).argmax(1) if picks else None
    ig = IntegratedGradients(head)  # Captum repeats ``target`` along its interpolation steps
    with torch.enable_grad():
        attr = ig.attribute(e, baselines=e0, target=target, n_steps=steps)
    with torch.no_grad():
        out, base = head(e, target), head(e0, target)
    model.train(was)
    per_column = np.zeros((len(e), len(names)))
    np.add.at(per_column.T, source, attr.detach().double().cpu().numpy().T)
    return {
        "columns": names,
        "attributions": per_column,
        "output": out.double().cpu().numpy().reshape(len(e), -1)[:, 0],
        "baseline": base.double().cpu().numpy().reshape(len(e), -1)[:, 0],
        "target": None if target is None else target.cpu().numpy(),
    }


def attribution_frame(model, x_num: Tensor, x_cat: Tensor, steps: int = STEPS) -> pd.DataFrame:
    """One row per input row: what is explained, the output, the baseline's output, and one
    column per raw column holding its attribution."""
    found = integrated_gradients(model, x_num, x_cat, steps)
    spec = model.spec
    labels = spec.class_names or []
    if spec.task in ("multiclass", "multilabel"):
        what = [f"P({labels[int(k)]})" for k in found["target"]]
    elif spec.task == "binary":
        what = [f"P({labels[1] if len(labels) > 1 else 1})"] * len(x_num)
    else:
        what = ["prediction"] * len(x_num)
    frame = pd.DataFrame(found["attributions"], columns=found["columns"])
    frame.insert(0, "baseline", found["baseline"])
    frame.insert(0, "output", found["output"])
    frame.insert(0, "explained", what)
    return frame
