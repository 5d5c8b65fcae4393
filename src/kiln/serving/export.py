"""Export a kiln checkpoint: preprocessing + network + head as one ONNX graph, checked against PyTorch.

The graph answers probabilities (classification) or values on the target's scale
(regression), exactly what ``KilnModule.predict_step`` returns, for any batch size.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from kiln.serving.schema import InputSchema

OPSET = 18


class ExportPipeline(nn.Module):
    """Raw input tensors in, predictions out: the part of a KilnModule a deployment needs."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor, x_cat: Tensor | None = None) -> Tensor:
        inputs = x if x_cat is None else (x, x_cat)
        return self.module.to_prediction(self.module.raw_output(inputs))


def input_names(n_inputs: int) -> list[str]:
    return ["x"] if n_inputs == 1 else ["x_num", "x_cat"][:n_inputs]


def torch_predict(pipeline: nn.Module, inputs: list[np.ndarray], batch: int = 1024) -> np.ndarray:
    outs = []
    with torch.inference_mode():
        for i in range(0, len(inputs[0]), batch):
            outs.append(pipeline(*(torch.from_numpy(a[i : i + batch]) for a in inputs)).numpy())
    return np.concatenate(outs)


# the exporter's own progress lines (onnxscript's passes at INFO, torch's notes that
# torchvision's ops are not registered): a user of kiln export needs none of them
EXPORTER_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx")


@contextlib.contextmanager
def quiet_exporter():
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def write_onnx(pipeline: nn.Module, example: list[Tensor], path: Path) -> None:
    """torch.export-based ONNX export (onnxscript) with a dynamic batch axis, weights inside."""
    names = input_names(len(example))
    batch = torch.export.Dim("batch", min=1)
    shapes = dict(zip(["x", "x_cat"], ({0: batch} for _ in example), strict=False))
    with warnings.catch_warnings(), quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            pipeline,
            tuple(example),
            dynamo=True,
            input_names=names,
            output_names=["y"],
            dynamic_shapes=shapes,
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    program.save(str(path), external_data=False)


def write_weights(module: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={"format": "kiln"})
    # safetensors writes its file with mode 0600; the artifact's other files follow the umask
    os.chmod(path, 0o666 & ~current_umask())


def current_umask() -> int:
    """The process umask (os.umask can only be read by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def nullable_features(pipeline: nn.Module, x: np.ndarray) -> list[bool]:
    """For a numeric table: does the model answer finitely when a feature is missing (NaN)?"""
    rows = np.repeat(x[:1], x.shape[1], axis=0)
    np.fill_diagonal(rows, np.nan)
    out = torch_predict(pipeline, [rows.astype(np.float32)])
    return [bool(np.isfinite(o).all()) for o in out.reshape(len(rows), -1)]


def infer_schema(dm, spec, pipeline: nn.Module, test_inputs: list[np.ndarray]):
    """The raw fields of a request: kiln's table schema, else feature names or a tensor shape."""
    if "schema" in spec.extra:
        return InputSchema.from_dict({"kind": "schema", "schema": spec.extra["schema"]})
    if "image" in spec.extra:  # image files (data=images): the graph takes uint8 NHWC
        return InputSchema.from_dict({"kind": "image", "image": spec.extra["image"]})
    if spec.kind == "tabular":
        names = getattr(dm, "feature_names", None) or [f"x{i}" for i in range(spec.shape[0])]
        schema = InputSchema.for_table(list(names))
        for f, ok in zip(schema.features, nullable_features(pipeline, test_inputs[0]), strict=True):
            f["nullable"] = ok
        return InputSchema.from_dict(schema.to_dict())
    return InputSchema.for_tensor("image" if spec.kind == "image" else "x", tuple(spec.shape))


def versions() -> dict:
    import onnx
    import onnxruntime

    from kiln.version import __version__

    return {
        "kiln": __version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def training_metrics(ckpt_path: str, ckpt: dict) -> dict:
    """The run's metrics.json when the checkpoint sits in its run directory, else the best value."""
    f = Path(ckpt_path).resolve().parents[1] / "metrics.json"
    if f.is_file():
        try:
            data = json.loads(f.read_text())
            return {k: v for k, v in data.items() if isinstance(v, (int, float))}
        except (json.JSONDecodeError, OSError):
            pass
    best = ckpt["kiln"].get("best")
    return {} if best is None else {"best": best}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
