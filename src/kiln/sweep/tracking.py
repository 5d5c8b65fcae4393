"""A sweep in MLflow (``kiln sweep ... logger=mlflow``): one experiment, ``sweep/<name>``
unless ``logger.mlflow.experiment_name`` names one; a parent run for the sweep, and each trial
a run nested under it with its sampled values as ``trial/<key>`` params and its final metrics
(the objective among them). The parent gets the best value, best.yaml, trials.csv and the
plots when the sweep ends."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from kiln.training.mlflow_logger import KEY, KilnMLflowLogger
from kiln.training.mlflow_store import client, experiment_id, resolve_uri, sweep_run

log = logging.getLogger("kiln")


def _node(cfg: DictConfig):
    """The config's kiln MLflow logger node, or None (no MLflow logger, or another class)."""
    node = (cfg.get("logger") or {}).get("mlflow")
    target = f"{KilnMLflowLogger.__module__}.{KilnMLflowLogger.__qualname__}"
    return node if node is not None and node.get("_target_") == target else None


def experiment_name(node, sweep: str) -> str:
    return node.get("experiment_name") or f"sweep/{sweep}"


def join_trial(cfg: DictConfig, sweep: str | None, run_dir: Path, overrides: list[str]) -> None:
    """A trial's config (opened for writing): its MLflow run goes to the sweep's experiment,
    named after the trial, nested under the sweep's run."""
    node = _node(cfg)
    if node is None or not sweep:
        return
    node.experiment_name = experiment_name(node, sweep)
    node.run_name = node.get("run_name") or f"trial {run_dir.name}"
    node.sweep = sweep
    node.trial_params = dict(o.split("=", 1) for o in overrides)


def open_sweep(cfg: DictConfig, sweep: str):
    """The sweep's parent run, made before the workers start so that they all find it:
    (client, run id), or None without an MLflow logger."""
    node = _node(cfg)
    if node is None:
        return None
    uri = resolve_uri(node.get("tracking_uri"), node.get("runs_root") or "runs")
    c = client(uri, KEY)
    return c, sweep_run(c, experiment_id(c, experiment_name(node, sweep), uri), sweep)


def finish_sweep(cfg: DictConfig, sweep: str, payload: dict, files: list[Path]) -> None:
    """The best trial's value (``best/<metric>``) and number on the parent run, and the
    sweep's files (best.yaml, trials.csv, the plots) as its artifacts."""
    opened = open_sweep(cfg, sweep)
    if opened is None:
        return
    c, run_id = opened
    c.log_metric(run_id, f"best/{payload['metric']}", float(payload["value"]))
    c.set_tag(run_id, "kiln.best_trial", str(payload["trial"]))
    for path in files:
        if Path(path).is_file():
            c.log_artifact(run_id, str(path))
    c.set_terminated(run_id, "FINISHED")
    log.info("MLflow: sweep run %s (best trial %s)", run_id, payload["trial"])
