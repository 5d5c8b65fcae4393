"""Test a checkpoint on its data's test split, with nothing but the checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from omegaconf import DictConfig, OmegaConf

from kiln.config.trust import trust_from
from kiln.files.atomic import write_json
from kiln.reporting.run import check_settings as check_report_settings
from kiln.reporting.run import wanted as report_wanted
from kiln.reporting.run import write_eval_report
from kiln.training.builders import (
    build_checkpoint_datamodule,
    build_module,
    build_trainer,
    checkpoint_config,
)
from kiln.training.checkpoints import check_compatible, load_checkpoint
from kiln.training.metrics import to_python
from kiln.training.metrics_table import print_metrics

log = logging.getLogger("kiln")


def run(cfg: DictConfig) -> dict[str, float]:
    """Rebuild data, preprocessing and network from the checkpoint's own config, load its
    weights and fitted statistics, and run the test split. ``data=...`` evaluates on other
    data of the same shape and task; ``+data.path=...`` the checkpoint's data file, moved."""
    ckpt = load_checkpoint(cfg.ckpt_path, trust_from(cfg))
    train_cfg = checkpoint_config(ckpt, cfg.get("data"))
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(int(train_cfg.get("seed", 0)), verbose=False)

    dm = build_checkpoint_datamodule(train_cfg.data, "eval", cfg.get("data"))
    check_compatible(ckpt, cfg.ckpt_path, OmegaConf.to_container(train_cfg.model), dm.spec)
    check_report_settings(cfg, dm.spec)
    train_cfg.trainer = cfg.trainer
    train_cfg.callbacks = cfg.get("callbacks") or {}
    module = build_module(train_cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"], strict=True)
    trainer = build_trainer(train_cfg, output_dir, with_loggers=False)
    results = trainer.test(module, datamodule=dm, verbose=False)
    metrics = to_python(results[0])
    if trainer.is_global_zero:
        undefined = dict(module.undefined)
        extra = {"undefined_metrics": undefined} if undefined else {}
        write_json(
            output_dir / "metrics.json", {**metrics, **extra, "ckpt_path": str(cfg.ckpt_path)}
        )
        title = f"kiln eval: {Path(cfg.ckpt_path).name} on {dm.spec.dataset}"
        print_metrics(title, metrics, undefined)
        if report_wanted(cfg.get("report", "auto"), True):
            write_eval_report(module, dm, output_dir, cfg, int(train_cfg.get("seed", 0)))
    return metrics
