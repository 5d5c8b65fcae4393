"""Train a model from config, test its best checkpoint, and write the run directory."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from kiln.config import flatten, print_config, to_plain
from kiln.config.trust import trust_from
from kiln.errors import Interrupted, KilnError
from kiln.files import atomic as atomic_files
from kiln.files.atomic import write_json
from kiln.files.leftovers import clean_partials
from kiln.models.finetune import load_initial_weights
from kiln.reporting.run import check_settings as check_report_settings
from kiln.reporting.run import report_split, tensorboard_writer
from kiln.reporting.run import wanted as report_wanted
from kiln.training import distributed
from kiln.training.augment import resolve_augment
from kiln.training.builders import build_datamodule, build_module, build_trainer
from kiln.training.calibration import calibrate_best, check_calibration
from kiln.training.checkpoints import (
    check_compatible,
    check_resume_length,
    check_weights_fit,
    load_checkpoint,
    prepare_resume,
)
from kiln.training.defaults import resolve_defaults
from kiln.training.hparams import log_hparams
from kiln.training.metrics import check_monitor, to_python
from kiln.training.metrics_table import print_metrics
from kiln.training.mlflow_logger import finish_runs
from kiln.training.resume_hint import resume_command
from kiln.training.throughput import Throughput

log = logging.getLogger("kiln")


def run(cfg: DictConfig) -> dict[str, float]:
    """seed -> data (split, fit preprocessing on train) -> model -> fit -> test(best) -> run dir.

    Returns the final metrics, which also go to ``<run>/metrics.json``.
    """
    if int((cfg.get("cv") or {}).get("folds") or 0) > 1:
        from kiln.compare.crossval import run_folds

        return run_folds(cfg, run)
    output_dir = Path(cfg.paths.output_dir)
    rank_zero = distributed.is_rank_zero()  # set by the launcher; the Trainer does not exist yet
    starts_ranks = not distributed.launched_externally()  # Lightning may start children here
    distributed.quiet_other_ranks()
    distributed.check_launcher(cfg.trainer)
    output_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)

    dm = build_datamodule(cfg.data)
    resolve_defaults(cfg, dm.spec)  # model=auto, monitor.*=auto: from the data, before any record
    check_report_settings(cfg, dm.spec)  # eval.slice_by names columns of the data
    check_calibration(cfg.get("calibrate", "auto"), dm.spec)  # multilabel: no temperature
    resolve_augment(cfg, dm.preprocessor)  # augment=auto: light for image files, else none
    if rank_zero and cfg.get("print_config", True):
        print_config(cfg)
    if rank_zero:
        text = OmegaConf.to_yaml(cfg, resolve=True).encode()
        atomic_files.write_bytes(output_dir / "config.yaml", text)
    plain = to_plain(cfg)
    module = build_module(cfg, dm, run_config=plain)  # an incompatible model is named first
    check_monitor(cfg.monitor, dm.spec.task, module.metric_directions)
    if cfg.model.get("init_from") and not cfg.get("ckpt_path"):  # a resume has its own weights
        log.info(
            load_initial_weights(
                module.network, cfg.model.init_from, cfg.model.get("init_strict", True)
            )
        )
    resume_from = None
    if cfg.get("ckpt_path"):
        for line in clean_partials(Path(cfg.ckpt_path).parent):  # a killed run's temp files
            log.warning(line)
        ckpt = load_checkpoint(cfg.ckpt_path, trust_from(cfg))
        check_compatible(ckpt, cfg.ckpt_path, plain["model"], dm.spec)
        check_weights_fit(ckpt, cfg.ckpt_path, plain["model"], module)
        check_resume_length(
            ckpt, cfg.ckpt_path, cfg.trainer, (module.scheduler_cfg or {}).get("fn")
        )
    trainer = build_trainer(cfg, output_dir)
    if cfg.get("ckpt_path"):
        # rank 0 writes checkpoints, so it alone needs the callbacks' state moved to this run
        resume_from = (
            str(prepare_resume(ckpt, output_dir / "checkpoints"))
            if trainer.is_global_zero
            else cfg.ckpt_path
        )
    if trainer.is_global_zero:
        write_json(output_dir / "data_report.json", dm.report())
        log.info("run directory: %s", output_dir)
    if trainer.world_size > 1 or distributed.processes_per_run(cfg.trainer) > 1:
        lr = cfg.optimizer.get("lr") if cfg.get("optimizer") else None
        log.info(
            distributed.batch_rule(
                dm.batch_size, trainer.world_size, module.accumulate_grad_batches, lr
            )
        )
        distributed.prepare_relaunch(str(cfg.get("task_name", "train")))

    started = time.perf_counter()
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=resume_from, weights_only=True)
    except SIGTERMException:  # a SystemExit of code None: exit 0, which a scheduler reads as done
        raise stopped_by_sigterm(trainer, output_dir) from None
    fit_seconds = time.perf_counter() - started
    if trainer.interrupted:
        raise KilnError(
            "Training was interrupted; resume it with ckpt_path="
            + str(output_dir / "checkpoints/last.ckpt")
            + "."
        )

    metrics: dict[str, float] = {}
    monitor = cfg.monitor.metric
    if module.best is not None:
        metrics[f"{monitor}_best"] = module.best
    best_path = (
        getattr(trainer.checkpoint_callback, "best_model_path", "")
        if trainer.checkpoint_callback
        else ""
    )
    # classification: temperature scaling on the validation split, into the best checkpoint
    calibration = calibrate_best(trainer, module, dm, best_path, cfg.get("calibrate", "auto"))
    if cfg.get("test", True):
        ckpt = best_path or None
        try:
            results = trainer.test(
                module, datamodule=dm, ckpt_path=ckpt, weights_only=True, verbose=False
            )
        except SIGTERMException:  # trained; the resume only tests (and writes metrics.json)
            raise stopped_by_sigterm(trainer, output_dir) from None
        metrics.update(to_python(results[0]))
    undefined = dict(module.undefined)  # metrics a split could not define: missing, not 0
    summary = {
        **metrics,
        **({"undefined_metrics": undefined} if undefined else {}),
        "best_checkpoint": best_path,
        # binary: the model's cut (data.threshold), as predict and serve apply it
        **(
            {"decision_threshold": float(module.decision.value)}
            if module.decision is not None
            else {}
        ),
        **calibration,  # calibration/temperature and the validation NLL, ECE before and after
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "fit_seconds": round(fit_seconds, 3),
        **next((c.summary() for c in trainer.callbacks if isinstance(c, Throughput)), {}),
    }
    if trainer.is_global_zero:
        log_hparams(
            trainer,
            flatten({k: v for k, v in plain.items() if k not in ("paths", "callbacks", "logger")}),
            metrics,
        )
        write_json(output_dir / "metrics.json", summary)
        print_metrics(f"{dm.spec.dataset}: final metrics", metrics, undefined)
        if report_wanted(cfg.get("report", "auto"), cfg.get("test", True)):  # <run>/report/
            writer = tensorboard_writer(trainer.loggers)
            report_split(module, dm, "test", output_dir, cfg, writer, trainer.global_step)
        finish_runs(trainer, summary)  # MLflow: final figures, checkpoint, files, report/
        log.info("run directory: %s", output_dir)
    distributed.clean_scratch(output_dir)
    if trainer.world_size > 1:
        distributed.release(started_children=starts_ranks)
    return summary


def stopped_by_sigterm(trainer: L.Trainer, output_dir: Path) -> Interrupted:
    """Exit 143 with the resume command; last.ckpt holds the last whole epoch (a mid-epoch
    checkpoint would not resume bit-identically), written whole by kiln.training.checkpoint_io."""
    dirs = [c.dirpath for c in trainer.checkpoint_callbacks if getattr(c, "filename", "") == "last"]
    last = Path(dirs[0] if dirs and dirs[0] else output_dir / "checkpoints") / "last.ckpt"
    if not last.is_file():
        return Interrupted(
            "interrupted by SIGTERM before a last.ckpt was written (callbacks.last_checkpoint "
            "writes one each epoch); nothing to resume, so run kiln train again."
        )
    return Interrupted(f"interrupted by SIGTERM; resume with: {resume_command(last)}")
