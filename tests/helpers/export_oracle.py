"""The oracle an exported artifact must match: the trained module as training code rebuilds it."""

from __future__ import annotations

from omegaconf import OmegaConf

from kiln.data.schema import Schema
from kiln.serving.export import ExportPipeline
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint


def torch_pipeline(ckpt_path) -> tuple[ExportPipeline, Schema]:
    """The trained module as training code rebuilds it: the oracle the artifact must match."""
    ckpt = load_checkpoint(str(ckpt_path))
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    cfg.data.schema = ckpt["kiln"]["schema"]
    module = build_module(cfg, build_datamodule(cfg.data), run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"])
    return ExportPipeline(module).eval(), Schema.from_dict(ckpt["kiln"]["schema"])
