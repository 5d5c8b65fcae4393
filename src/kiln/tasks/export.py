"""Export a checkpoint to a self-contained artifact: model.onnx, weights.safetensors, metadata.json."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig

from kiln.errors import KilnError, why_not_writable
from kiln.serving import export as ex
from kiln.serving.artifact import FORMAT_VERSION, ONNX, WEIGHTS, finalize
from kiln.serving.predictor import Predictor
from kiln.tasks.common import (
    build_checkpoint_datamodule,
    build_module,
    checkpoint_config,
    load_checkpoint,
)

log = logging.getLogger("kiln")


def run(cfg: DictConfig) -> dict:
    """Rebuild the module from the checkpoint, write the artifact, then load it back and check
    it against PyTorch on the test split; a gap above ``tolerance`` fails the export."""
    if cfg.format not in ("onnx", "torch"):
        raise KilnError(f"format={cfg.format!r} is unknown; use format=onnx or format=torch.")
    ckpt = load_checkpoint(cfg.ckpt_path)
    out = Path(cfg.out) if cfg.get("out") else Path(cfg.paths.output_dir) / "artifact"
    if out.exists():
        raise KilnError(
            f"{out} already exists and kiln never overwrites it; pass out=<a new directory>."
        )
    train_cfg = checkpoint_config(ckpt, cfg.get("data"))
    L.seed_everything(int(train_cfg.get("seed", 0)), verbose=False)
    dm = build_checkpoint_datamodule(train_cfg.data, "export", cfg.get("data"))
    module = build_module(train_cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"], strict=True)
    pipeline = ex.ExportPipeline(module).eval()
    test_inputs = [t.cpu().numpy() for t in dm.splits["test"][:-1]]
    schema = ex.infer_schema(dm, dm.spec, pipeline, test_inputs)

    tmp = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
    except OSError as err:
        raise KilnError(
            f"out={out} cannot be created ({why_not_writable(err, out)}); pass out=<a new directory in a folder you can write to>."
        ) from None
    try:
        if cfg.format == "onnx":
            ex.write_onnx(pipeline, [torch.from_numpy(a[:2]) for a in test_inputs], tmp / ONNX)
        ex.write_weights(module, tmp / WEIGHTS)
        meta = {
            "format_version": FORMAT_VERSION,
            "format": cfg.format,
            "created": ex.now(),
            "task": dm.spec.task,
            "labels": dm.spec.class_names if dm.spec.is_classification else None,
            "inputs": schema.to_dict(),
            "graph": {
                "inputs": ex.input_names(len(test_inputs)),
                "dtypes": [str(a.dtype) for a in test_inputs],
                "output": "y",
                "opset": ex.OPSET,
            },
            "spec": dm.spec.to_dict(),
            "torch": {"preprocessor": _qualname(module.preprocessor)},
            "metrics": ex.training_metrics(cfg.ckpt_path, ckpt),
            "versions": ex.versions(),
            "config": ckpt["kiln"]["config"],
            "profile": ckpt["kiln"].get("profile"),  # the drift reference (kiln drift, /drift)
            "source_checkpoint": str(Path(cfg.ckpt_path).resolve()),
        }
        expected = ex.torch_predict(pipeline, test_inputs)
        meta["self_check"] = {"rows": len(expected), "tolerance": float(cfg.tolerance)}
        finalize(tmp, meta)
        got = Predictor(tmp, threads=int(cfg.get("threads", 1))).run(test_inputs)
        diff = float(np.max(np.abs(got.astype(np.float64) - expected))) if len(got) else 0.0
        if not diff <= float(cfg.tolerance):
            raise KilnError(
                f"The exported {cfg.format} model differs from PyTorch by {diff:.3g} on the test split "
                f"(tolerance {cfg.tolerance}); the export was not written, so check the model's ops or raise tolerance."
            )
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "artifact: %s (self-check: max abs diff %.3g on %d test rows)", out, diff, len(expected)
    )
    print(f"kiln export: {out}  (max abs diff vs PyTorch {diff:.3g} on {len(expected)} test rows)")
    return {"artifact": str(out), "max_abs_diff": diff, "rows": len(expected)}


def _qualname(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"
