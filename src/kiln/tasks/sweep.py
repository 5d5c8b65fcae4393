"""Tune hyper-parameters: an Optuna study whose trials are ordinary kiln train runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from kiln.config.secret_overrides import redact
from kiln.errors import KilnError
from kiln.sweep import report, tracking
from kiln.sweep.space import parse_space
from kiln.sweep.study import (
    make_pruner,
    make_sampler,
    open_storage,
    open_study,
    process_seed,
    storage_url,
)
from kiln.sweep.worker import Job, compose_trial, work
from kiln.tasks import train
from kiln.training.defaults import is_auto, resolve_monitor
from kiln.training.metrics import RUN_FIGURES, final_metric_names, improves

log = logging.getLogger("kiln")
WORKER_ENV = "KILN_SWEEP_WORKER"  # set in the processes a sweep starts for n_workers > 1


def run(cfg: DictConfig) -> dict:
    """Open (or continue) the study, run trials with n_workers processes until n_trials are
    done, then write best.yaml, trials.csv and the plots into the sweep directory."""
    s = cfg.sweep
    sweep_dir = Path(cfg.paths.output_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    hc = HydraConfig.get()
    user_overrides = list(hc.overrides.task)
    config_dir = _config_dir(hc)
    space = parse_space(s.params)
    swept = {p.key for p in space}
    overrides = [o for o in user_overrides if _key(o) not in swept]
    _resolve_monitor(cfg)  # monitor.*=auto: the objective's default and direction need it
    metric = s.objective.metric or f"{cfg.monitor.metric}_best"
    _check_objective(metric, cfg)  # before the study keeps it and before any trial trains
    better = improves(metric, cfg.monitor.mode)  # test/r2 maximises with a val/rmse monitor
    direction = s.objective.direction or ("maximize" if better == "max" else "minimize")
    if direction not in ("maximize", "minimize"):
        raise KilnError(f"sweep.objective.direction={direction} must be maximize or minimize.")
    prune_metric = None
    if str(s.pruner).lower() not in ("none", "null", "nop"):
        if not metric.startswith("val/"):
            raise KilnError(
                f"sweep.pruner={s.pruner} needs a validation objective and {metric} is not one; "
                "set sweep.objective.metric=val/... or sweep.pruner=none."
            )
        prune_metric = metric
    n_trials = int(s.n_trials)
    if s.sampler == "grid":
        size = 1
        for p in space:
            size *= len(p.grid())
        n_trials = min(n_trials, size)
    if n_trials < 1 or int(s.n_workers) < 1:
        raise KilnError("sweep.n_trials and sweep.n_workers must be at least 1.")

    is_worker = os.environ.get(WORKER_ENV) == "1"
    url = storage_url(s, sweep_dir)
    storage = open_storage(url, int(s.heartbeat_s), int(s.retries))
    startup = int(s.startup_trials)
    identity = {
        "overrides": sorted(
            o for o in overrides if not _key(o).startswith(("sweep.", "hydra.", "paths."))
        ),
        "params": {p.key: p.expression for p in space},
        "metric": metric,
    }
    job = Job(
        None,  # the study opens once the space composes: a bad key must not leave one behind
        storage,
        space,
        overrides,
        sweep_dir,
        metric,
        n_trials,
        prune_metric,
        config_dir,
        int(s.heartbeat_s),
        train=train.run,
    )
    if not is_worker:
        _check_space(job)
        shown = redact(url, url)  # the password of a database URL never reaches the log file
        log.info(
            "sweep %s: %d trials, storage %s, directory %s", s.name, n_trials, shown, sweep_dir
        )
    job.study = study = open_study(
        str(s.name),
        storage,
        direction,
        make_sampler(
            s.sampler, space, process_seed(s.seed, storage, str(s.name), is_worker), startup
        ),
        make_pruner(s.pruner, startup, int(cfg.trainer.max_epochs)),
        identity,
    )
    if not is_worker:
        tracking.open_sweep(cfg, str(s.name))  # logger=mlflow: the parent run, before workers
    helpers = [] if is_worker else _start_workers(int(s.n_workers) - 1, user_overrides, config_dir)
    try:
        work(job)
    finally:
        failed = [h.wait() for h in helpers]
    if is_worker:
        return {"trials_run": job.ran}
    if any(failed):
        log.warning(
            "%d worker process(es) ended with an error; see the log above",
            sum(1 for f in failed if f),
        )
    return _finish(cfg, study, job, user_overrides, config_dir)


def _finish(cfg, study, job: Job, user_overrides: list[str], config_dir) -> dict:
    from kiln.sweep.replay import train_command

    sweep_dir = job.sweep_dir
    report.write_csv(study, sweep_dir / "trials.csv")
    states = {t.state.name.lower() for t in study.get_trials(deepcopy=False)}
    summary = {"sweep_dir": str(sweep_dir), "metric": job.metric, "trials_run_here": job.ran}
    if "complete" not in states:
        report.print_table(study, job.metric)
        raise KilnError(
            f"No trial of sweep {cfg.sweep.name} completed (see {sweep_dir / 'trials.csv'}); "
            "fix the errors listed there and run the same command again."
        )
    best = study.best_trial
    command = train_command([*job.overrides, *best.user_attrs.get("overrides", [])], config_dir)
    payload = report.write_best(study, job.metric, command, sweep_dir / "best.yaml")
    plots = report.write_plots(study, sweep_dir, job.metric) if cfg.sweep.plots else []
    report.print_table(study, job.metric)
    files = [sweep_dir / "best.yaml", sweep_dir / "trials.csv", *plots]
    tracking.finish_sweep(cfg, study.study_name, payload, files)  # logger=mlflow
    log.info("best trial %d: %s = %.6f", best.number, job.metric, best.value)
    log.info("reproduce it: %s", payload["command"])
    log.info("sweep directory: %s (best.yaml, trials.csv, %d plots)", sweep_dir, len(plots))
    return {**summary, **payload, "plots": [str(p) for p in plots]}


def _resolve_monitor(cfg: DictConfig) -> None:
    """monitor.*=auto takes the task from the data, which only a set-up data module knows; it is
    set up once here (each trial's kiln train resolves the same monitor from the same data)."""
    if not (is_auto(cfg.monitor.get("metric")) or is_auto(cfg.monitor.get("mode"))):
        return
    from kiln.training.builders import build_datamodule

    resolve_monitor(cfg, build_datamodule(cfg.data).spec.task)


def _check_objective(metric: str, cfg: DictConfig) -> None:
    """The objective must be one of the final metrics each trial's kiln train returns, or one
    of its run figures (fit_seconds, train_samples_per_s, ...) with a direction given."""
    if metric in RUN_FIGURES:
        if not cfg.sweep.objective.direction:
            raise KilnError(
                f"sweep.objective.metric={metric} is a figure of the run, not a metric with a "
                "direction of its own; add sweep.objective.direction=minimize (or maximize)."
            )
        return
    final = final_metric_names(str(cfg.monitor.metric), bool(cfg.get("test", True)))
    if metric not in final:
        test = "" if cfg.get("test", True) else " (test=false: no test metrics)"
        raise KilnError(
            f"sweep.objective.metric={metric} is not among the final metrics of a trial with "
            f"monitor.metric={cfg.monitor.metric}{test}; use one of {', '.join(final)}, or a "
            f"run figure ({', '.join(RUN_FIGURES)}) with sweep.objective.direction."
        )


def _check_space(job: Job) -> None:
    """Compose one trial config per parameter's first value, so a key or option that does not
    exist is reported before any training, naming the parameter."""
    for p in job.space:
        d = p.distribution
        value = d.choices[0] if hasattr(d, "choices") else d.low
        try:
            compose_trial(job, [p.override(value)], job.sweep_dir / "check")
        except Exception as err:  # Hydra's composition errors
            raise KilnError(
                f"sweep.params.{p.key}={p.expression}: {p.override(value)} does not compose "
                f"({str(err).splitlines()[0]}); fix the key or the values."
            ) from None


def _start_workers(n: int, overrides: list[str], config_dir) -> list[subprocess.Popen]:
    args = [
        sys.executable,
        "-m",
        "kiln",
        "sweep",
        *(["--config-dir", config_dir] if config_dir else []),
        *overrides,
    ]
    env = {**os.environ, WORKER_ENV: "1"}
    return [subprocess.Popen(args, env=env) for _ in range(n)]


def _config_dir(hc) -> str | None:
    for source in hc.runtime.config_sources:
        if source.schema == "file":  # --config-dir, or kiln.api's config_dir
            return source.path
    return None


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")
