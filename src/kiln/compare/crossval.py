"""k-fold cross-validation: one training per fold, each metric's mean and std over the folds.

``kiln train data=table cv.folds=5``: the test split stays held out; the other rows are cut
into k (stratified for classification) folds and fold i is the validation split of the i-th
training, which runs in <run>/fold_<i>/ like any other run.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict

from kiln.config import print_config
from kiln.errors import KilnError
from kiln.files import atomic as atomic_files

log = logging.getLogger("kiln")
_NOT_METRICS = ("best_checkpoint", "epochs", "global_step", "fit_seconds")


def aggregate(results: list[dict]) -> dict[str, dict[str, float]]:
    """{metric: {mean, std}} over the folds; std is the sample standard deviation (ddof=1)."""
    names = [k for k in results[0] if k not in _NOT_METRICS and all(k in r for r in results)]
    out = {}
    for name in names:
        values = np.array([float(r[name]) for r in results])
        std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        out[name] = {"mean": float(values.mean()), "std": std}
    return out


def run_folds(cfg: DictConfig, train: Callable[[DictConfig], dict]) -> dict:
    """Train once per fold with ``train`` (tasks.train.run) and write the summary."""
    from kiln.files.atomic import write_json

    folds = int(cfg.cv.folds)
    if not str(cfg.data.get("_target_", "")).endswith("TableDataModule"):
        raise KilnError(
            "cv.folds needs a table (data=table or a penguins experiment); drop cv.folds for this data."
        )
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.get("print_config", True):
        print_config(cfg)
    atomic_files.write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    results = []
    for fold in range(folds):
        fold_cfg = copy.deepcopy(cfg)
        with open_dict(fold_cfg):
            fold_cfg.cv.folds = 0
            fold_cfg.data.cv_folds = folds
            fold_cfg.data.cv_fold = fold
            fold_cfg.paths.output_dir = str(out / f"fold_{fold}")
            fold_cfg.print_config = False
        log.info("cross-validation: fold %d of %d", fold + 1, folds)
        results.append(train(fold_cfg))
    summary = {"folds": folds, "metrics": aggregate(results), "per_fold": results}
    write_json(out / "metrics.json", summary)
    _print(summary)
    return summary


def _print(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['folds']}-fold cross-validation", header_style="bold")
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    for name, v in sorted(summary["metrics"].items()):
        table.add_row(name, f"{v['mean']:.6f} ± {v['std']:.6f}")
    Console().print(table)
