"""Export a checkpoint to a self-contained artifact: model.onnx, weights.safetensors, metadata.json
(and signature.json when KILN_SIGNING_KEY or KILN_SIGNING_KEY_FILE is set)."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig

from kiln.config.trust import trust_from
from kiln.data.contract import split_tensors
from kiln.errors import KilnError, why_not_writable
from kiln.files.atomic import REASONS, commit, partial_name, write_failed
from kiln.files.leftovers import clean_partials
from kiln.serving import export as ex
from kiln.serving.artifact import FORMAT_VERSION, ONNX, WEIGHTS, finalize
from kiln.serving.predictor import Predictor
from kiln.serving.signing import signing_key
from kiln.training.builders import build_checkpoint_datamodule, build_module, checkpoint_config
from kiln.training.checkpoints import load_checkpoint

log = logging.getLogger("kiln")


def run(cfg: DictConfig) -> dict:
    """Rebuild the module from the checkpoint, write the artifact, then load it back and check
    it against PyTorch on the test split; a gap above ``tolerance`` fails the export."""
    if cfg.format not in ("onnx", "torch"):
        raise KilnError(f"format={cfg.format!r} is unknown; use format=onnx or format=torch.")
    signing_key()  # a bad KILN_SIGNING_KEY is refused before any work (finalize signs with it)
    ckpt = load_checkpoint(cfg.ckpt_path, trust_from(cfg))
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
    if cfg.format == "torch":  # before any work: a preprocessor format=torch cannot rebuild
        from kiln.serving.torch_backend import check_rebuildable

        check_rebuildable(_qualname(module.preprocessor))
    pipeline = ex.ExportPipeline(module).eval()
    test_inputs = [t.cpu().numpy() for t in split_tensors(dm, "test")[:-1]]
    schema = ex.infer_schema(dm, dm.spec, pipeline, test_inputs)

    for line in clean_partials(out.parent):  # what a killed kiln export left beside its output
        print(f"kiln export: {line}", file=sys.stderr)
    tmp = partial_name(out)
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
            "labels": dm.spec.class_names if dm.spec.labelled else None,
            # binary: the cut the predictor applies to P(second label) (the model's buffer)
            "threshold": float(module.decision.value) if module.decision is not None else None,
            # classification: the graph divides the logits by it (kiln.training.calibration)
            "temperature": (
                float(module.temperature.value) if module.temperature is not None else None
            ),
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
        diff = self_check(tmp, test_inputs, expected, cfg)
        commit(tmp, out)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.errno in REASONS:  # a full disk: one sentence
            raise write_failed(err, out, False, "run kiln export again") from None
        raise
    log.info(
        "artifact: %s (self-check: max diff %.3g relative to max(1, |value|) on %d test rows)",
        out,
        diff,
        len(expected),
    )
    print(
        f"kiln export: {out}  (max diff vs PyTorch {diff:.3g}, relative to max(1, |value|), "
        f"on {len(expected)} test rows)"
    )
    registered = {}
    if cfg.get("register"):  # a new version of an MLflow registered model (kiln.serving.registry)
        from kiln.serving.registry import register_artifact

        registered = register_artifact(
            out, str(cfg.register), cfg.get("tracking_uri"), cfg.paths.root, meta
        )
    return {"artifact": str(out), "max_diff": diff, "rows": len(expected), **registered}


def gap(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference between the artifact's answers and PyTorch's, each relative to
    max(1, |PyTorch's value|): an absolute gap for probabilities and values up to 1, a relative
    one for values on a large scale (grams: float32 alone rounds 4000 to within 2.4e-4)."""
    if not len(got):
        return 0.0
    ref = np.asarray(expected, dtype=np.float64)
    err = np.abs(np.asarray(got, dtype=np.float64) - ref) / np.maximum(1.0, np.abs(ref))
    return float(np.max(err)) if np.isfinite(err).all() else float("inf")


def self_check(directory: Path, inputs: list[np.ndarray], expected: np.ndarray, cfg) -> float:
    """Load the artifact in ``directory`` as a user would and hold its answers on the test
    split to PyTorch's; a gap above ``tolerance`` (see ``gap``) is a KilnError."""
    got = Predictor(directory, int(cfg.get("threads", 1)), trust_targets=trust_from(cfg)).run(
        inputs
    )
    diff = gap(got, expected)
    if not diff <= float(cfg.tolerance):
        raise KilnError(
            f"The exported {cfg.format} model differs from PyTorch by {diff:.3g} (relative to "
            f"max(1, |value|)) on the test split (tolerance {cfg.tolerance}); the export was not "
            "written, so check the model's ops or raise tolerance."
        )
    return diff


def _qualname(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"
