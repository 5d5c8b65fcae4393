"""A model's answers on a split, row by row: outputs, predicted labels and each row's loss,
and the inputs as a user reads them (a table's rows under its raw column names).

``model`` is anything with kiln's head: ``raw_output``, ``to_prediction``, ``spec`` (a
KilnModule, or a torch artifact's InferencePipeline)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

EPS = 1e-12


@dataclass
class Answers:
    out: np.ndarray  # probabilities ([N, C]; binary [N]) or values ([N]; forecast [N, H])
    y: np.ndarray
    label: np.ndarray | None  # the predicted class (classification)
    loss: np.ndarray  # each row's loss: -log p(true class), or the squared error


def device_of(model) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def model_inputs(x) -> Tensor | tuple[Tensor, ...]:
    return x[0] if len(x) == 1 else tuple(x)


@torch.inference_mode()
def outputs(model, inputs: list[Tensor], batch: int = 8192) -> np.ndarray:
    """The model's probabilities or values for every row (evaluation mode, in batches)."""
    was = model.training
    model.eval()
    dev = device_of(model)
    parts = []
    for i in range(0, len(inputs[0]), batch):
        x = [t[i : i + batch].to(dev) for t in inputs]
        parts.append(model.to_prediction(model.raw_output(model_inputs(x))).float().cpu())
    model.train(was)
    return torch.cat(parts).numpy() if parts else np.zeros(0, np.float32)


def row_loss(out: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Each row's loss: the negative log-likelihood of its class (multi-label: the mean binary
    cross-entropy over its labels, as training scores it), or its squared error."""
    if task == "multilabel":
        p = np.clip(out.astype(np.float64), EPS, 1.0 - EPS)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).reshape(len(y), -1).mean(1)
    if task == "binary":
        p = np.where(y == 1, out, 1 - out).astype(np.float64)
        return -np.log(np.clip(p, EPS, 1.0))
    if task == "multiclass":
        return -np.log(np.clip(out[np.arange(len(y)), y].astype(np.float64), EPS, 1.0))
    err = (out.astype(np.float64) - y) ** 2
    return err.reshape(len(y), -1).mean(1)


def labels_of(out: np.ndarray, task: str, threshold: float = 0.5) -> np.ndarray | None:
    if task == "binary":
        return (out > threshold).astype(np.int64)
    if task == "multiclass":
        return out.argmax(1)
    return None


def answers(model, inputs: list[Tensor], y: Tensor) -> Answers:
    task = model.spec.task
    out = outputs(model, inputs)
    y_np = y.cpu().numpy()
    decision = getattr(model, "decision", None)
    cut = float(decision.value) if decision is not None else 0.5
    return Answers(out, y_np, labels_of(out, task, cut), row_loss(out, y_np, task))


def table_frame(schema: dict, x_num: np.ndarray, x_cat: np.ndarray) -> pd.DataFrame:
    """Encoded table rows under their raw column names: numbers as they are (a date as its
    parts, ``<column>__<part>``), categories as their values ("(missing)", "(unknown)")."""
    cols: dict = {}
    j = k = 0
    for col in schema["columns"]:
        if col["type"] == "categorical":
            words = np.array(["(unknown)", "(missing)", *map(str, col["vocab"])], dtype=object)
            codes = np.clip(x_cat[:, k], 0, len(words) - 1)
            cols[col["name"]] = words[codes]
            k += 1
        elif col["type"] == "datetime":
            for part in col["parts"]:
                cols[f"{col['name']}__{part}"] = x_num[:, j]
                j += 1
        else:
            cols[col["name"]] = x_num[:, j]
            j += 1
    return pd.DataFrame(cols)


def readable_inputs(spec, inputs: list[Tensor]) -> pd.DataFrame | None:
    """A table's rows as a DataFrame, when the data has kiln's schema (else None)."""
    schema = spec.extra.get("schema")
    if schema is None or len(inputs) != 2:
        if spec.kind == "tabular" and len(inputs) == 1:
            x = inputs[0].cpu().numpy()
            names = spec.extra.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]
            return pd.DataFrame(x, columns=list(names))
        return None
    return table_frame(schema, inputs[0].cpu().numpy(), inputs[1].cpu().numpy())


def token_texts(spec, tokens: Tensor) -> list[str] | None:
    """Token ids back to text where the spec holds the vocabulary (id 0 pads, 1 is unseen,
    2.. the vocabulary: characters joined as they are, word pieces with spaces)."""
    if spec.kind == "tokens" and "tokenizer" in spec.extra:  # data=text: its stored tokenizer
        from kiln.preprocessing.text_tokenizer import TextTokenizer

        tok = TextTokenizer.from_dict(spec.extra["tokenizer"]).tokenizer
        rows = [[i for i in row if i != 0] for row in tokens.cpu().tolist()]
        return tok.decode_batch(rows, skip_special_tokens=False)
    vocab = spec.extra.get("vocab")
    if spec.kind != "tokens" or not vocab:
        return None
    words = ["", "\N{REPLACEMENT CHARACTER}", *vocab]
    glue = "" if isinstance(vocab, str) else " "
    out = []
    for row in tokens.cpu().tolist():
        out.append(glue.join(words[i] if 0 <= i < len(words) else "?" for i in row if i != 0))
    return out
