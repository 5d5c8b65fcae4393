"""Train several models on identical splits and seed, and rank them in a leaderboard."""

from __future__ import annotations

import copy
import logging
import shutil
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict

from kiln.compare import baselines
from kiln.compare.leaderboard import summarise, write_leaderboard
from kiln.config import to_plain
from kiln.errors import Interrupted, KilnError
from kiln.files import atomic as atomic_files
from kiln.models import model_names
from kiln.models.catalog import model_config as catalog_config
from kiln.reporting.run import candidate_report
from kiln.reporting.run import check_settings as check_report_settings
from kiln.training.builders import build_datamodule, build_module, build_trainer
from kiln.training.defaults import compare_models, is_auto, resolve_monitor
from kiln.training.metrics import check_monitor, check_ranking_metric, to_python

log = logging.getLogger("kiln")


def model_config(name: str) -> DictConfig:
    """conf/model/<name>.yaml, with its defaults (another model config) merged under it."""
    if str(name) not in model_names():
        raise KilnError(
            f"models: {name!r} is not a model config; use baselines or any of {', '.join(model_names())}."
        )
    return OmegaConf.create(catalog_config(str(name)))


def _check_names(names: list, overrides) -> None:
    """Each model once (two runs of one name shared a directory and a leaderboard row), and
    model_overrides only for models in the list (others were silently ignored)."""
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        raise KilnError(
            f"models lists {', '.join(twice)} more than once; give each model once (to compare "
            f"settings of one model, run kiln compare per setting, or kiln train -m)."
        )
    stray = sorted(str(k) for k in overrides if k not in names)
    if stray:
        raise KilnError(
            f"model_overrides.{stray[0]} is for a model not in models ({', '.join(map(str, names))}); "
            "key model_overrides by one of those names, or add the model to models."
        )


TABLE_TEST_FOLDS = 5  # cv.test_folds=auto on a table file: a small table's one split is noise


def test_folds(cv: DictConfig, data: DictConfig | None = None) -> int:
    """``cv.test_folds``, checked; ``auto``: 5 for a table file (``data=table``), else 1.
    ``cv.folds`` (train's validation folds, composed from train.yaml) is refused here: it named
    compare's test folds before they were renamed, and an old command must not silently run one
    split."""
    if int(cv.get("folds") or 0) != 0:
        raise KilnError(
            f"cv.folds={cv.folds} is kiln train's validation folds; kiln compare's test folds "
            f"are cv.test_folds, so pass cv.test_folds={cv.folds}."
        )
    if str(cv.get("test_folds")).lower() == "auto":
        target = str((data or {}).get("_target_", ""))
        return TABLE_TEST_FOLDS if target.endswith("TableDataModule") else 1
    folds = int(cv.get("test_folds") or 1)  # type and range: the config schema
    return folds


def fold_config(cfg: DictConfig, fold: int, folds: int) -> DictConfig:
    """The config of one fold of ``cv.test_folds``. ``cv.mode=kfold``: the same seed, and the test split is fold
    ``fold`` of a K-fold partition (kiln.data.folds; an expanding window for time series).
    ``cv.mode=holdout``: seed + fold for the split and the initialisation (repeated hold-out)."""
    fold_cfg = copy.deepcopy(cfg)
    if folds == 1:
        return fold_cfg
    with open_dict(fold_cfg):
        if cfg.cv.get("mode", "kfold") == "holdout":
            fold_cfg.seed = int(cfg.seed) + fold
            fold_cfg.data.split_seed = int(cfg.seed) + fold
        else:
            fold_cfg.data.test_folds = folds
            fold_cfg.data.test_fold = fold
    return fold_cfg


def run(cfg: DictConfig) -> dict:
    """For each fold: build the data once, fit every baseline on its features and train every
    neural model on its batches, then rank all by ``metric`` on the test split."""
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_files.write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    folds = test_folds(cfg.cv, cfg.get("data"))
    mode = cfg.cv.get("mode", "kfold")
    if mode not in ("kfold", "holdout"):
        raise KilnError(f"cv.mode={mode} is unknown; use kfold or holdout.")
    auto = cfg.models is None or (isinstance(cfg.models, str) and is_auto(cfg.models))
    names = [] if auto else [cfg.models] if isinstance(cfg.models, str) else list(cfg.models)
    keep = cfg.get("keep_checkpoints", "best")
    if keep not in ("best", "all"):
        raise KilnError(f"keep_checkpoints={keep!r} is unknown; use best or all.")
    if not names and not auto:
        raise KilnError("models is empty; pass e.g. models=[mlp,resmlp,baselines].")
    results: list[dict] = []
    for fold in range(folds):
        fold_cfg = fold_config(cfg, fold, folds)
        seed = int(fold_cfg.seed)
        L.seed_everything(seed, verbose=False)
        dm = build_datamodule(fold_cfg.data)
        if fold == 0:  # before any training: the task is known once the data is
            names, model_cfgs, metric, rank = _plan(cfg, names, dm.spec)
            check_report_settings(cfg, dm.spec)
        resolve_monitor(fold_cfg, dm.spec.task)
        for name in names:
            if name == "baselines":
                for base_name, est in baselines.candidates(dm.spec.task, seed, dm.spec).items():
                    results.append({**baselines.fit_baseline(base_name, est, dm), "fold": fold})
                continue
            model_dir = out / (name if folds == 1 else f"{name}/fold{fold}")
            try:
                row = train_one(fold_cfg, name, model_cfgs[name], dm, model_dir)
            except SIGTERMException:  # a SystemExit of code None: a scheduler would read success
                raise Interrupted("interrupted by SIGTERM; run kiln compare again.") from None
            results.append({**row, "fold": fold})
    rows = summarise(results, metric, rank)  # metric=test/r2 ranks up with monitor val/rmse
    best = next((r for r in rows if r["family"] == "neural"), None)
    best_ckpt = keep_best_checkpoint(results, best, metric, rank, out, keep)
    write_leaderboard(
        rows, metric, out, best_ckpt, title=f"kiln compare: {dm.spec.dataset} ({metric})"
    )
    return {
        "leaderboard": rows,
        "metric": metric,
        "best_model": rows[0]["model"],
        "best_checkpoint": best_ckpt,
        "results": results,
        "output_dir": str(out),
    }


def _plan(cfg: DictConfig, names: list, spec) -> tuple[list, dict, str, str]:
    """models=auto and monitor.*=auto from the data (in ``cfg``, recorded in config.yaml), the
    model configs, the leaderboard's metric and its direction; checked before any training."""
    if not names:
        names = compare_models(spec)
        log.info("models=auto for %s data: %s", spec.kind, ", ".join(names))
    _check_names(names, cfg.get("model_overrides") or {})
    model_cfgs = {n: model_config(n) for n in names if n != "baselines"}
    resolve_monitor(cfg, spec.task)
    with open_dict(cfg):
        cfg.models = names
    metric = cfg.get("metric") or "test/" + cfg.monitor.metric.split("/", 1)[-1]
    check_monitor(cfg.monitor, spec.task)
    rank = check_ranking_metric(metric, spec.task, "baselines" in names)
    out = Path(cfg.paths.output_dir)
    atomic_files.write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return names, model_cfgs, metric, rank


def train_one(cfg: DictConfig, name: str, model_cfg: DictConfig, dm, model_dir: Path) -> dict:
    """Train one neural model into ``model_dir`` on the shared data module; test its best epoch."""
    sub = copy.deepcopy(cfg)
    overrides = (cfg.get("model_overrides") or {}).get(name) or {}
    with open_dict(sub):
        sub.model = OmegaConf.merge(model_cfg, overrides)
        sub.paths.output_dir = str(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(int(sub.seed), verbose=False)
    module = build_module(sub, dm, run_config=to_plain(sub))
    module.preprocessor = copy.deepcopy(module.preprocessor)  # no state shared between candidates
    trainer = build_trainer(sub, model_dir)
    started = time.perf_counter()
    trainer.fit(module, datamodule=dm, weights_only=True)
    fit_seconds = time.perf_counter() - started
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    tested = trainer.test(
        module, datamodule=dm, ckpt_path=best or None, weights_only=True, verbose=False
    )
    report = candidate_report(module, dm, sub, trainer, model_dir)  # ECE and report/ link
    return {
        "model": name,
        "family": "neural",
        **to_python(tested[0]),
        **report,
        "undefined_metrics": dict(module.undefined),  # missing on this split, not 0
        "params": sum(p.numel() for p in module.network.parameters()),
        "fit_seconds": fit_seconds,
        "latency_ms_per_1k": latency_ms_per_1k(module, dm),
        "checkpoint": best,
    }


@torch.no_grad()
def latency_ms_per_1k(module, dm, repeats: int = 3) -> float:
    """Milliseconds to predict 1,000 test rows (raw inputs to predictions), best of ``repeats``."""
    module.eval()
    tensors = dm.splits["test"][:-1]
    x = tensors[0] if len(tensors) == 1 else tuple(tensors)
    x = x.to(module.device) if torch.is_tensor(x) else tuple(t.to(module.device) for t in x)
    rows, best = len(dm.splits["test"][-1]), float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        module.to_prediction(module.raw_output(x))
        if module.device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return best * 1e6 / max(rows, 1)


def keep_best_checkpoint(results, best_row, metric, mode, out: Path, keep: str) -> str:
    """Copy the best neural model's best checkpoint to <run>/best_<model>.ckpt; with
    keep_checkpoints=best, drop the other candidates' checkpoint folders."""
    if best_row is None:
        return ""
    runs = [
        r
        for r in results
        if r["model"] == best_row["model"] and r.get("checkpoint") and metric in r
    ]
    pick = (max if mode == "max" else min)(runs, key=lambda r: r[metric])
    target = out / f"best_{best_row['model']}.ckpt"
    atomic_files.write_with(target, lambda tmp: shutil.copy2(pick["checkpoint"], tmp))
    if keep == "best":
        for r in results:
            if r.get("checkpoint"):
                shutil.rmtree(Path(r["checkpoint"]).parent, ignore_errors=True)
                r["checkpoint"] = ""
    return str(target)
