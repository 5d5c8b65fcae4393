"""One worker's loop: ask the study for a trial, train it in this process, tell the result.

A trial runs in-process (no interpreter start per trial) with a heartbeat thread beside it;
an exception or an out-of-memory error fails that trial only, with its error recorded, and
the loop goes on. A worker that dies leaves its trial RUNNING until another worker (or the
next run of the same command) fails it and queues its parameters again.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from omegaconf import DictConfig, open_dict
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from kiln.errors import KilnError
from kiln.sweep import pruning
from kiln.sweep.space import Param
from kiln.sweep.study import HOST, quota_used, reap_dead_local_trials
from kiln.sweep.tracking import join_trial

log = logging.getLogger("kiln")


@dataclass
class Job:
    """What every trial of this sweep shares."""

    study: optuna.Study
    storage: object
    space: list[Param]
    overrides: list[str]  # the user's overrides, minus the swept keys
    sweep_dir: Path
    metric: str
    n_trials: int
    prune_metric: str | None = None
    config_dir: str | None = None
    heartbeat_s: int = 10
    train: Callable[[DictConfig], dict] | None = None  # kiln.tasks.train.run, given by the task
    ran: list[int] = field(default_factory=list)


class Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds while the trial runs."""

    def __init__(self, storage, trial_id: int, interval: int) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            self.storage.record_heartbeat(self.trial_id)
            if self.stop.wait(self.interval):
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def suggest(trial: optuna.Trial, p: Param):
    d = p.distribution
    if isinstance(d, CategoricalDistribution):
        return trial.suggest_categorical(p.key, d.choices)
    if isinstance(d, IntDistribution):
        return trial.suggest_int(p.key, d.low, d.high, step=d.step, log=d.log)
    return trial.suggest_float(p.key, d.low, d.high, log=d.log, step=d.step)


def compose_trial(job: Job, param_overrides: list[str], run_dir: Path):
    """The trial's config: the sweep's config with the sampled values, as a train run."""
    from kiln.config.compose import compose

    cfg = compose(
        "sweep", [*job.overrides, *param_overrides, f"hydra.run.dir={run_dir}"], job.config_dir
    )
    with open_dict(cfg):
        sweep = job.study.study_name if job.study is not None else None  # None: checking keys
        join_trial(cfg, sweep, run_dir, param_overrides)  # logger=mlflow: the sweep's experiment
        del cfg["sweep"]
        cfg.task_name = "train"
        if job.prune_metric:
            cfg.callbacks = cfg.get("callbacks") or {}
            cfg.callbacks.sweep_pruning = {
                "_target_": "kiln.sweep.pruning.ReportToTrial",
                "metric": job.prune_metric,
            }
    return cfg


def work(job: Job) -> list[int]:
    """Run trials until the study's quota is used up; returns the numbers this worker ran."""
    while True:
        reap_dead_local_trials(job.study, job.storage)
        if quota_used(job.study.get_trials(deepcopy=False)) >= job.n_trials:
            return job.ran
        trial = job.study.ask()
        if quota_used(job.study.get_trials(deepcopy=False), before=trial.number) >= job.n_trials:
            # another worker asked at the same instant and holds the last slot: hand this back
            job.storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)
            return job.ran
        run_trial(job, trial)
        job.ran.append(trial.number)


def run_trial(job: Job, trial: optuna.Trial) -> None:
    values = {p.key: suggest(trial, p) for p in job.space}
    param_overrides = [p.override(values[p.key]) for p in job.space]
    run_dir = (job.sweep_dir / "trials" / f"{trial.number:04d}").resolve()
    for key, value in {
        "host": HOST,
        "pid": os.getpid(),
        "error": None,
        "run_dir": str(run_dir),
        "overrides": param_overrides,
    }.items():
        trial.set_user_attr(key, value)
    log.info("trial %d: %s", trial.number, " ".join(param_overrides))
    pruning.ACTIVE.update(trial=trial, pruned_at=None)
    started = time.perf_counter()
    summary, error = None, None
    with Heartbeat(job.storage, trial._trial_id, job.heartbeat_s):
        try:
            summary = job.train(compose_trial(job, param_overrides, run_dir))
        except KeyboardInterrupt:
            _fail(job, trial, "interrupted (KeyboardInterrupt)", retry=True)
            raise
        except Exception as err:  # a trial's failure (NaN, OOM, a bad value) ends that trial only
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        finally:
            pruned_at = pruning.ACTIVE["pruned_at"]
            pruning.ACTIVE.update(trial=None, pruned_at=None)
            _free_memory()
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
    if error is not None:
        log.warning("trial %d failed: %s", trial.number, error)
        _fail(job, trial, error)
        return
    trial.set_user_attr("fit_seconds", summary.get("fit_seconds"))
    value = summary.get(job.metric)
    if value is None:
        _fail(job, trial, f"metric {job.metric} missing")
        raise KilnError(
            f"sweep.objective.metric={job.metric} is not among the trial's final metrics; "
            f"use one of {', '.join(sorted(k for k in summary if '/' in k))}."
        )
    if pruned_at is not None:
        _tell(job, trial, state=TrialState.PRUNED)
    else:
        _tell(job, trial, float(value))
    log.info(
        "trial %d: %s = %.6f%s",
        trial.number,
        job.metric,
        value,
        " (pruned)" if pruned_at is not None else "",
    )


def _fail(job: Job, trial: optuna.Trial, error: str, retry: bool = False) -> None:
    trial.set_user_attr("error", error)
    _tell(job, trial, state=TrialState.FAIL)
    callback = job.storage.get_heartbeat_stale_trial_callback() if retry else None
    if callback is not None:
        callback(job.study, job.storage.get_trial(trial._trial_id))


def _tell(job: Job, trial: optuna.Trial, *args, **kwargs) -> None:
    """study.tell; the grid sampler's call to study.stop() once its grid is done only works
    inside study.optimize and is ignored here (the result is stored before it runs, and the
    quota already ends the loop)."""
    try:
        job.study.tell(trial, *args, **kwargs)
    except RuntimeError as err:
        if "Study.stop" not in str(err):
            raise


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - freeing memory must never fail a sweep
        pass
