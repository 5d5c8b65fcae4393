"""Builders shared by the tasks: the data module, the KilnModule and the Trainer from config."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from kiln.data.contract import adopt
from kiln.data.spec import InputSpec
from kiln.data.table_io import MissingTableError
from kiln.errors import KilnError
from kiln.models import build_network, check_output, is_users
from kiln.models.finetune import architecture, freeze
from kiln.training.augment import build_augment, resolve_augment
from kiln.training.callbacks import PlainProgress
from kiln.training.checkpoint_io import AtomicCheckpointIO
from kiln.training.defaults import resolve_defaults
from kiln.training.extensions import build_loss, build_metrics, directions
from kiln.training.mlflow_logger import config_callbacks
from kiln.training.module import KilnModule
from kiln.training.optim import fills_total_steps, unwrap
from kiln.training.stepping import STEP_KEYS
from kiln.training.threads import ThreadsForSize
from kiln.training.throughput import Throughput

log = logging.getLogger("kiln")


def build(node: DictConfig, what: str, **kwargs):
    """hydra.utils.instantiate, with a KilnError naming the config node when it fails."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__ if err.__cause__ is not None else err
        if isinstance(cause, KilnError):
            raise cause from None
        raise KilnError(
            f"Could not build {what} from its config ({cause}); check the {what}.* values."
        ) from None


def build_datamodule(data_cfg: DictConfig):
    """The data module, set up for fitting and checked against kiln.data.contract."""
    dm = build(data_cfg, "data")
    if not isinstance(dm, L.LightningDataModule):
        raise KilnError(
            f"data._target_ built a {type(dm).__name__}, not a LightningDataModule; for a torch "
            "Dataset use data=dataset +data.dataset._target_=<your class> (docs/extending.md)."
        )
    dm.setup("fit")
    adopt(dm)
    return dm


def checkpoint_config(ckpt: dict, data: DictConfig | None = None) -> DictConfig:
    """The checkpoint's training config, its data either the checkpoint's own (with its fitted
    schema for tables; ``+data.path=...`` and other partial keys move it), or ``data=<name>``."""
    train_cfg = OmegaConf.create(ckpt["kiln"]["config"])
    if data is not None and "_target_" in data:
        train_cfg.data = data
        return train_cfg
    if data is not None:
        train_cfg.data = OmegaConf.merge(train_cfg.data, data)
        if "name" in train_cfg.data and train_cfg.data.name is None:  # not the new file's name
            train_cfg.data.name = ckpt["kiln"]["spec"]["dataset"]
    if ckpt["kiln"].get("schema") is not None:  # a table: reuse the fitted schema as is
        train_cfg.data.schema = ckpt["kiln"]["schema"]
    tokenizer = ckpt["kiln"]["spec"].get("extra", {}).get("tokenizer")
    if tokenizer is not None and "fitted" in train_cfg.data:  # text: the fitted tokenizer as is
        train_cfg.data.fitted = tokenizer
    return train_cfg


def build_checkpoint_datamodule(data_cfg: DictConfig, command: str, given=None):
    """build_datamodule for a checkpoint's data: a table file of the checkpoint's config not
    found from here (a relative path, another machine) names the +data.path=... that points
    the command at it. A path the user gave (``given``: the command's data node) is theirs."""
    try:
        return build_datamodule(data_cfg)
    except MissingTableError as err:
        if given is not None and OmegaConf.select(given, err.key.removeprefix("data.")) is not None:
            raise
        where = "is not a file" if err.path.exists() else f"is not found from {Path.cwd()}"
        raise KilnError(
            f"{err.key}={err.path} (from the checkpoint's config) {where}; "
            f"pass the file with kiln {command} ... +{err.key}=<path>."
        ) from None


def build_module(cfg: DictConfig, dm, run_config: dict | None = None) -> KilnModule:
    """Network from config + the data's spec, wrapped with the fitted preprocessing."""
    spec: InputSpec = dm.spec
    resolve_defaults(cfg, spec)  # a no-op once the task resolved them (it records the result)
    resolve_augment(cfg, dm.preprocessor)  # augment=auto: light for image files, else none
    factory = build(architecture(cfg.model), "model")  # without model.init_from & co.
    network = build_network(factory, spec)
    freeze(network, cfg.model.get("freeze"))  # model.freeze: out of the optimizer
    if is_users(factory):  # kiln's own models are tested; a user's output shape is probed
        check_output(network, probe_batch(dm), spec, f"{cfg.model._target_}")
    scheduler = None
    if cfg.get("scheduler") and cfg.scheduler.get("fn") is not None:
        scheduler = {
            "fn": build(cfg.scheduler.fn, "scheduler"),
            "interval": cfg.scheduler.get("interval", "epoch"),
        }
        check_schedule_length(scheduler["fn"], cfg.get("trainer") or {})
    extra_metrics = build_metrics(cfg, build, spec.task)
    module = KilnModule(
        network=network,
        spec=spec,
        preprocessor=dm.preprocessor,
        optimizer=build(cfg.optimizer, "optimizer") if cfg.get("optimizer") else None,
        scheduler=scheduler,
        monitor=OmegaConf.to_container(cfg.monitor) if cfg.get("monitor") else None,
        target_stats=dm.target_stats,
        compile=bool(cfg.get("compile", False)),
        seed=int(cfg.get("seed", 0)),
        run_config=run_config,
        loss_fn=build_loss(cfg, build),
        extra_metrics=extra_metrics,
        augment=build_augment(cfg.get("augment"), dm.preprocessor, spec),
        **{k: v for k in STEP_KEYS if (v := (cfg.get("trainer") or {}).get(k)) is not None},
    )
    module.metric_directions = directions(extra_metrics)  # the user's, for check_monitor
    return module


def probe_batch(dm, rows: int = 2):
    """A few training rows as the network sees them (through the fitted preprocessor)."""
    splits = getattr(dm, "splits", None)
    batch = (
        splits["train"]
        if isinstance(splits, dict) and "train" in splits
        else next(iter(dm.train_dataloader()))
    )
    *inputs, _ = (t[:rows].cpu() for t in batch)
    x = inputs[0] if len(inputs) == 1 else tuple(inputs)
    with torch.no_grad():
        return dm.preprocessor(x) if dm.preprocessor is not None else x


def check_schedule_length(scheduler_fn, cfg_trainer) -> None:
    """A schedule fitted to the run's total steps (one-cycle, warmup-cosine) needs a run with an
    end: trainer.max_epochs=-1 without trainer.max_steps has none (Lightning runs on forever)."""
    if not fills_total_steps(scheduler_fn):
        return
    max_steps = cfg_trainer.get("max_steps")
    if cfg_trainer.get("max_epochs") == -1 and (max_steps is None or max_steps == -1):
        name = getattr(unwrap(scheduler_fn), "__name__", "this scheduler")
        raise KilnError(
            f"trainer.max_epochs=-1 runs without end, and the {name} schedule needs the run's "
            "length; set ++trainer.max_steps=<n>, or use scheduler=none or scheduler=plateau."
        )


def build_trainer(cfg: DictConfig, output_dir: Path, with_loggers: bool = True) -> L.Trainer:
    callbacks = [
        build(c, "callbacks") for c in (cfg.get("callbacks") or {}).values() if c is not None
    ]
    loggers = []
    if with_loggers:
        loggers = [
            build(lg, "logger") for lg in (cfg.get("logger") or {}).values() if lg is not None
        ]
        callbacks.extend(config_callbacks(loggers))  # MLflow: the run's config as params
    trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
    for key in (
        STEP_KEYS
    ):  # the module steps the optimizer (kiln.training.stepping); Lightning refuses them
        trainer_cfg.pop(key, None)
    if trainer_cfg.get("enable_progress_bar") is None:
        trainer_cfg["enable_progress_bar"] = sys.stderr.isatty()
    if not trainer_cfg["enable_progress_bar"]:
        callbacks.append(PlainProgress())
    callbacks.append(Throughput())  # samples/s and peak GPU memory for metrics.json
    callbacks.append(ThreadsForSize(cfg.get("threads")))  # 1 thread for a small model (threads.py)
    if trainer_cfg.get("accelerator") in ("gpu", "cuda") and not torch.cuda.is_available():
        raise KilnError(
            f"trainer.accelerator={trainer_cfg['accelerator']} (trainer=gpu, trainer=ddp) asks for a "
            "CUDA GPU and none is visible; use trainer=default, or trainer=ddp_cpu for several "
            "processes, on this machine."
        )
    if torch.cuda.is_available():  # TF32 on Ampere+; on a CPU it could only switch oneDNN paths
        torch.set_float32_matmul_precision(str(cfg.get("matmul_precision", "high")))
    # checkpoints renamed into place (kiln.training.checkpoint_io) unless the config names its plugins
    plugins = {} if trainer_cfg.get("plugins") else {"plugins": [AtomicCheckpointIO()]}
    return build(
        OmegaConf.create(trainer_cfg),
        "trainer",
        **plugins,
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=str(output_dir),
    )
