"""Builders shared by the tasks: data, module, trainer, run directory, checkpoints."""

from __future__ import annotations

import io
import logging
import shutil
import sys
from pathlib import Path

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from kiln.config.trust import check_stored
from kiln.data.spec import InputSpec
from kiln.data.table_io import MissingTableError
from kiln.errors import KilnError, not_a_file
from kiln.files import atomic as atomic_files
from kiln.models import build_network
from kiln.monitoring import profile as profile_io
from kiln.training import lightning_private as lean_hooks
from kiln.training.callbacks import PlainProgress
from kiln.training.checkpoint_io import AtomicCheckpointIO
from kiln.training.module import KilnModule
from kiln.training.optim import fills_total_steps, unwrap
from kiln.training.stepping import STEP_KEYS
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
    dm = build(data_cfg, "data")
    dm.setup("fit")
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
    network = build_network(build(cfg.model, "model"), spec)
    scheduler = None
    if cfg.get("scheduler") and cfg.scheduler.get("fn") is not None:
        scheduler = {
            "fn": build(cfg.scheduler.fn, "scheduler"),
            "interval": cfg.scheduler.get("interval", "epoch"),
        }
        check_schedule_length(scheduler["fn"], cfg.get("trainer") or {})
    return KilnModule(
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
        **{k: v for k in STEP_KEYS if (v := (cfg.get("trainer") or {}).get(k)) is not None},
    )


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
    trainer = build(
        OmegaConf.create(trainer_cfg),
        "trainer",
        **plugins,
        callbacks=callbacks,
        logger=loggers or False,
        default_root_dir=str(output_dir),
    )
    return lean_hooks.enable(trainer)


def load_checkpoint(path: str | None, trust=None) -> dict:
    """Read a kiln checkpoint without running pickled code (weights_only), its stored config
    checked against the allow-list (kiln.config.trust; ``trust``: what the user trusts beyond it)
    before anything is built from it."""
    ckpt = read_checkpoint(path)
    check_stored(ckpt["kiln"].get("config") or {}, f"Checkpoint {path}", trust)
    return ckpt


def read_checkpoint(path: str | None) -> dict:
    """A kiln checkpoint's tensors and metadata (weights_only), its config unchecked: for code
    that reads weights or the profile only and builds nothing from the config."""
    if not path:
        raise KilnError(
            "ckpt_path is not set; pass ckpt_path=runs/train/<run>/checkpoints/best.ckpt."
        )
    p = Path(path)
    if not p.is_file():
        raise KilnError(
            f"Checkpoint file {path} {not_a_file(p)}; pass the path of a .ckpt written by kiln train."
        )
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated file, or one that is no checkpoint at all
        raise KilnError(
            f"{path} could not be read as a checkpoint ({type(err).__name__}); pass a .ckpt written by kiln train."
        ) from None
    if not isinstance(ckpt, dict) or "kiln" not in ckpt or "state_dict" not in ckpt:
        raise KilnError(
            f"{path} is not a kiln checkpoint (no kiln metadata); pass a .ckpt written by kiln train."
        )
    if ckpt["kiln"].get("profile") is not None:  # stored compactly (kiln.monitoring.profile.pack)
        ckpt["kiln"]["profile"] = profile_io.unpack(ckpt["kiln"]["profile"])
    return ckpt


def check_compatible(ckpt: dict, path: str, cfg_model: dict, spec: InputSpec) -> None:
    """The checkpoint must come from the same model class and the same kind of data."""
    meta = ckpt["kiln"]
    old_spec = meta["spec"]
    old_model = (meta.get("config") or {}).get("model", {}).get("_target_")
    new_model = cfg_model.get("_target_")
    if old_model and new_model and old_model != new_model:
        raise KilnError(
            f"Checkpoint {path} holds a {old_model.rsplit('.', 1)[-1]} but this run builds a "
            f"{new_model.rsplit('.', 1)[-1]}; use the model the checkpoint was trained with, or drop ckpt_path."
        )
    mismatches = [
        k for k in ("dataset", "kind", "task", "num_outputs") if old_spec.get(k) != getattr(spec, k)
    ] + (["shape"] if tuple(old_spec.get("shape", ())) != tuple(spec.shape) else [])
    if mismatches:
        raise KilnError(
            f"Checkpoint {path} was trained on {old_spec['dataset']} ({old_spec['task']}, shape {tuple(old_spec['shape'])}) "
            f"but the data here is {spec.dataset} ({spec.task}, shape {tuple(spec.shape)}); use the checkpoint's data."
        )


def check_weights_fit(ckpt: dict, path: str, cfg_model: dict, module) -> None:
    """A resumed run's network must have the checkpoint's shapes: the same model class built
    with other model.* settings (hidden sizes, layers) fails in load_state_dict otherwise."""
    saved = ckpt["state_dict"]
    here = module.state_dict()
    wrong = [
        k
        for k in sorted(set(saved) | set(here))
        if k.startswith("network.")
        and (k not in saved or k not in here or tuple(saved[k].shape) != tuple(here[k].shape))
    ]
    if not wrong:
        return
    old = _leaves((ckpt["kiln"].get("config") or {}).get("model") or {}, "model")
    new = _leaves(cfg_model, "model")
    differ = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    fix = "resume with the checkpoint's model settings or start a new run without ckpt_path"
    if differ:
        raise KilnError(
            f"Checkpoint {path}'s model has "
            + ", ".join(f"{k}={old.get(k)}" for k in differ)
            + ", this run asks for "
            + ", ".join(f"{k}={new.get(k)}" for k in differ)
            + f", and its weights do not fit; {fix}."
        )
    k = wrong[0]
    shape = lambda sd: list(sd[k].shape) if k in sd else "absent"  # noqa: E731
    raise KilnError(
        f"Checkpoint {path}'s weights do not fit this run's network ({k} is {shape(saved)} "
        f"there, {shape(here)} here); {fix}."
    )


def _leaves(node, prefix: str) -> dict:
    """A nested config as {dotted key: value}; lists stay whole (model.hidden=[64, 64])."""
    if not isinstance(node, dict):
        return {prefix: node}
    out = {}
    for key, value in node.items():
        out.update(_leaves(value, f"{prefix}.{key}"))
    return out


RUN_LENGTH_KEYS = ("max_epochs", "max_steps", "accumulate_grad_batches")


def check_resume_length(ckpt: dict, path: str, cfg_trainer, scheduler_fn) -> None:
    """A schedule fitted to the run's total steps (one-cycle, warmup-cosine) cannot be resumed
    into a run of another length: one-cycle fails past its end, cosine jumps."""
    if scheduler_fn is None or not fills_total_steps(scheduler_fn):
        return  # no schedule, or one whose length the config fixes
    func = unwrap(scheduler_fn)
    old = ((ckpt["kiln"].get("config") or {}).get("trainer")) or {}
    changed = [k for k in RUN_LENGTH_KEYS if old.get(k) != cfg_trainer.get(k)]
    if changed:
        was = " ".join(f"trainer.{k}={old.get(k)}" for k in changed)
        raise KilnError(
            f"Checkpoint {path} was trained with {was} and its {func.__name__} schedule spans "
            f"that run; resume with {was}, or warm-start a longer run with "
            f"kiln retrain ckpt_path={path} trainer.max_epochs=<n>."
        )


def prepare_resume(ckpt: dict, ckpt_dir: Path) -> Path:
    """A copy of the checkpoint that resumes into this run's own checkpoint directory.

    Lightning forgets ModelCheckpoint's best score when the directory changes; kiln resumes
    into a new run directory (the old run stays untouched), so the checkpoint files the
    callbacks track are copied over and their state is pointed at the new directory.
    """
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for key, state in ckpt.get("callbacks", {}).items():
        if not key.startswith("ModelCheckpoint") or not state.get("dirpath"):
            continue
        moved = {}
        for old in {
            state.get(f) for f in ("best_model_path", "kth_best_model_path", "last_model_path")
        } | set(state.get("best_k_models", {})):
            if old and Path(old).is_file():
                new = ckpt_dir / Path(old).name
                if not new.exists():
                    atomic_files.write_with(new, lambda tmp, old=old: shutil.copy2(old, tmp))
                moved[old] = str(new)
        for field in ("best_model_path", "kth_best_model_path", "last_model_path"):
            if state.get(field) in moved:
                state[field] = moved[state[field]]
        state["best_k_models"] = {
            moved.get(k, k): v for k, v in state.get("best_k_models", {}).items()
        }
        state["dirpath"] = str(ckpt_dir)
    path = ckpt_dir / "resumed_from.ckpt"
    buffer = io.BytesIO()  # torch.save into a file turns a full disk into a RuntimeError
    torch.save(ckpt, buffer)
    atomic_files.write_bytes(path, buffer.getbuffer())
    return path


def write_json(path: Path, payload: dict) -> None:
    """Write JSON to a new file, renamed into place; kiln never overwrites a file it did not
    create in this run."""
    atomic_files.write_json(path, payload)


def print_metrics(title: str, metrics: dict[str, float], undefined: dict | None = None) -> None:
    """The final table; a metric the split cannot define (``undefined``) prints as missing."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = {
        **{k: f"{v:.6f}" for k, v in metrics.items()},
        **dict.fromkeys(undefined or {}, "missing"),
    }
    for k, v in sorted(rows.items()):
        table.add_row(k, v)
    console = Console(stderr=False)
    console.print(table)
    for k, why in sorted((undefined or {}).items()):
        console.print(f"{k} missing: {why}.", soft_wrap=True)
