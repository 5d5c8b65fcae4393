"""Explanations of an artifact's answers: integrated gradients per raw column (tables), for
``kiln.load(dir).explain(rows)`` and the server's opt-in ``POST /explain``.

Both formats carry the weights (weights.safetensors, checked against its hash), so an ONNX
artifact is explained by the same pipeline rebuilt in PyTorch, built once on first use."""

from __future__ import annotations

import threading

import pandas as pd
import torch

from kiln.errors import KilnError
from kiln.reporting.attributions import STEPS, attribution_frame
from kiln.serving.artifact import WEIGHTS, model_bytes

_LOCK = threading.Lock()


def torch_model(predictor):
    """The predictor's pipeline in PyTorch (cached on it), for gradients ONNX cannot give."""
    with _LOCK:
        model = getattr(predictor, "_torch_model", None)
        if model is None:
            from kiln.serving.torch_backend import torch_pipeline

            if predictor.meta.get("spec", {}).get("extra", {}).get("schema") is None:
                raise KilnError(
                    "explain works for models of kiln's tables (data=table); this artifact's input is not one."
                )
            weights = model_bytes(predictor.directory, predictor.meta, WEIGHTS, predictor.verify)
            model = torch_pipeline(
                predictor.meta, weights, predictor.trust_targets, predictor.directory
            )
            predictor._torch_model = model
    return model


def explain_frame(predictor, data, steps: int = STEPS) -> pd.DataFrame:
    inputs, _, _ = predictor.encode(data)
    x_num, x_cat = (torch.from_numpy(a) for a in inputs)
    frame = attribution_frame(torch_model(predictor), x_num, x_cat, steps)
    if isinstance(data, pd.DataFrame):
        frame.index = data.index
    return frame


def explain_records(predictor, data, steps: int = STEPS) -> list[dict]:
    """JSON-ready: {"explained", "output", "baseline", "attributions": {column: value}}."""
    frame = explain_frame(predictor, data, steps)
    head = ["explained", "output", "baseline"]
    columns = [c for c in frame.columns if c not in head]
    return [
        {
            "explained": r["explained"],
            "output": float(r["output"]),
            "baseline": float(r["baseline"]),
            "attributions": {c: float(r[c]) for c in columns},
        }  # fmt: skip
        for r in frame.to_dict("records")
    ]
