"""Retrain a checkpoint's model on new data and compare old and new on the new test split."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from omegaconf import DictConfig, OmegaConf, open_dict

from kiln.config.retrain_keys import OWN_KEYS, refused_override
from kiln.config.trust import trust_from
from kiln.errors import KilnError
from kiln.files.atomic import write_json
from kiln.tasks import train
from kiln.training.builders import build_datamodule, build_module, build_trainer
from kiln.training.checkpoints import load_checkpoint
from kiln.training.metrics import improves, to_python

log = logging.getLogger("kiln")


def _changes(node) -> dict:
    """The non-null leaves of a config node: what the user asked to change."""
    out = {}
    for k, v in (OmegaConf.to_container(node, resolve=True) if node is not None else {}).items():
        if isinstance(v, dict):
            v = _changes(OmegaConf.create(v))
            if v:
                out[k] = v
        elif v is not None:
            out[k] = v
    return out


def _check_overrides(cfg: DictConfig) -> None:
    """Refuse what retrain would silently drop: model.*, scheduler.*, monitor.* and keys of
    the train config that retrain does not read (+compile=true)."""
    from hydra.core.hydra_config import HydraConfig

    given = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    given += [f"{k}=..." for k in cfg if k not in OWN_KEYS]  # a config composed without Hydra
    for override in given:
        message = refused_override(override)
        if message:
            raise KilnError(message)


def training_config(cfg: DictConfig, ckpt: dict) -> DictConfig:
    """The checkpoint's config, with the user's changes, this run's paths and callbacks.
    ``optimizer=<name>`` (a node with its own ``_target_``) replaces the checkpoint's optimizer;
    ``optimizer.lr=...`` and other keys change it."""
    _check_overrides(cfg)
    old = ckpt["kiln"]["config"]
    new = OmegaConf.create(
        {k: v for k, v in old.items() if k not in ("paths", "callbacks", "logger")}
    )
    with open_dict(new):
        chosen = cfg.get("optimizer")
        if chosen is not None and chosen.get("_target_") is not None:  # optimizer=<name>
            new.optimizer = OmegaConf.to_container(chosen, resolve=True)
        new.merge_with({k: _changes(cfg.get(k)) for k in ("data", "trainer", "optimizer")})
        _follow_lr(new, old)
        _schema(new.data, ckpt, refit=bool(cfg.refit_preprocessing))
        if cfg.get("seed") is not None:
            new.seed = cfg.seed
        new.paths = OmegaConf.to_container(cfg.paths, resolve=True)
        new.print_config = bool(cfg.get("print_config", False))
        new.test = bool(cfg.get("test", True))
        new.ckpt_path = None
        _monitor_direction(new.monitor)
        cfg.monitor = new.monitor  # the callbacks' config interpolates it
        callbacks = OmegaConf.to_container(cfg.callbacks, resolve=True)
        parts = [] if cfg.from_scratch else ["network"]
        if not cfg.refit_preprocessing:
            parts += ["preprocessor", "target_scaler"]
        callbacks["warm_start"] = {"_target_": "kiln.monitoring.warm_start.WarmStart",
                                   "ckpt_path": str(cfg.ckpt_path), "parts": parts}  # fmt: skip
        if not cfg.refit_profile and "reference_profile" in callbacks:
            callbacks["reference_profile"]["from_ckpt"] = str(cfg.ckpt_path)
        new.callbacks = callbacks
        new.logger = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None
        new.retrained_from = str(cfg.ckpt_path)
    return new


def _follow_lr(new: DictConfig, old: dict) -> None:
    """A one-cycle max_lr was ${optimizer.lr} in the train config and is stored resolved: it
    follows a new optimizer.lr as it would have in kiln train (else the change did nothing)."""
    fn = (new.get("scheduler") or {}).get("fn") or {}
    old_lr = (old.get("optimizer") or {}).get("lr")
    if fn.get("max_lr") is not None and fn.get("max_lr") == old_lr != new.optimizer.get("lr"):
        new.scheduler.fn.max_lr = new.optimizer.lr


def _monitor_direction(monitor: DictConfig) -> None:
    """A checkpoint from before kiln checked monitor.mode may carry val/rmse with mode=max; the
    retrained run keeps the checkpoint's monitor, so its direction is put right here."""
    better = improves(monitor.get("metric", ""))
    if better is not None and monitor.get("mode") != better:
        log.warning(
            "monitor.mode=%s in the checkpoint is the wrong way for %s; retraining with mode=%s.",
            monitor.get("mode"), monitor.metric, better,
        )  # fmt: skip
        monitor.mode = better


def _schema(data: DictConfig, ckpt: dict, refit: bool) -> None:
    """Tables: the vocabularies are fitted preprocessing too. Kept, new categories count as
    unknown and the fitted encoders still fit; refitted, the schema is inferred again."""
    if ckpt["kiln"].get("schema") is None:
        return
    if refit:
        data.pop("schema", None)
    else:
        data.schema = ckpt["kiln"]["schema"]


def test_old_model(ckpt: dict, new_cfg: DictConfig) -> dict[str, float]:
    """The old checkpoint (weights and fitted statistics) on the new data's test split."""
    old_cfg = OmegaConf.create(ckpt["kiln"]["config"])
    old_cfg.data = new_cfg.data
    if ckpt["kiln"].get("schema") is not None:  # its own vocabularies: new categories unknown
        old_cfg.data.schema = ckpt["kiln"]["schema"]
    old_cfg.trainer = new_cfg.trainer
    dm = build_datamodule(old_cfg.data)
    module = build_module(old_cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"], strict=True)
    old_cfg.callbacks = {}
    trainer = build_trainer(
        old_cfg, Path(new_cfg.paths.output_dir) / "old_model", with_loggers=False
    )
    return to_python(trainer.test(module, datamodule=dm, verbose=False)[0])


def run(cfg: DictConfig) -> dict:
    ckpt = load_checkpoint(cfg.ckpt_path, trust_from(cfg))
    new_cfg = training_config(cfg, ckpt)
    summary = train.run(new_cfg)
    L.seed_everything(int(new_cfg.seed), verbose=False)
    old = test_old_model(ckpt, new_cfg)
    new = {k: v for k, v in summary.items() if k.startswith("test/")}
    comparison = {k: {"old": old.get(k), "new": new.get(k)} for k in sorted(set(old) | set(new))}
    write_json(Path(new_cfg.paths.output_dir) / "comparison.json", comparison)
    _print(comparison, f"kiln retrain: old vs new on the new data's test split ({cfg.ckpt_path})")
    return {**summary, "old": old, "comparison": comparison}


def _print(comparison: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for col in ("metric", "old model", "new model"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for k, v in comparison.items():
        table.add_row(k, *(f"{x:.6f}" if x is not None else "" for x in (v["old"], v["new"])))
    Console(width=100).print(table)
