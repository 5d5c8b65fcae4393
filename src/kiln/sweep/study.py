"""The Optuna study: storage, sampler and pruner from config, and the trial quota.

Several processes (local workers, or machines on one database URL) share one study. Each
asks for a trial only while fewer than ``n_trials`` are finished, running or waiting for a
retry; when two ask at the same instant, the one with the higher trial number hands its
slot back, so the study ends with exactly ``n_trials`` and no trial runs twice.
"""

from __future__ import annotations

import os
import random
import socket
import time
import warnings
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from kiln.config.secret_overrides import redact
from kiln.errors import KilnError
from kiln.sweep.space import Param

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# kiln runs the heartbeat itself around each trial (worker.Heartbeat), with ask and tell
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
HOST = socket.gethostname()


def storage_url(cfg_sweep, sweep_dir: Path) -> str:
    return cfg_sweep.get("storage") or f"sqlite:///{Path(sweep_dir).resolve() / 'study.sqlite'}"


def open_storage(url: str, heartbeat_s: int, retries: int) -> RDBStorage:
    """An RDB storage with heartbeats: a trial whose process died is failed and re-queued.

    Workers on several machines may start together on an empty database; the one that loses
    the race to create Optuna's tables sees "already exists" and simply tries again.
    """
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(6):
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=int(heartbeat_s),
                grace_period=3 * int(heartbeat_s),
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=int(retries)
                ),
            )
        except Exception as err:  # bad URL, missing driver, unreachable server, the race above
            if "already exists" in str(err) and attempt < 5:
                time.sleep(0.5 + random.random())
                continue
            raise KilnError(
                redact(
                    f"Could not open the study storage {url} ({type(err).__name__}: "
                    f"{str(err).splitlines()[0]}); check sweep.storage (an SQLAlchemy URL) or "
                    "leave it null for SQLite in the sweep directory.",
                    url,
                )
            ) from None
    raise AssertionError("unreachable")


def process_seed(seed: int, storage: RDBStorage, study_name: str, worker: bool) -> int:
    """The sweep's seed for a fresh study in its first process (reproducible); mixed with the
    trial count and the process id otherwise, so a resumed sweep or a second worker does not
    draw the same parameters again."""
    try:
        n = len(storage.get_all_trials(storage.get_study_id_from_name(study_name), deepcopy=False))
    except KeyError:
        n = 0
    if n == 0 and not worker:
        return int(seed)
    return (int(seed) * 1_000_003 + n * 7919 + os.getpid()) % 2**31


def make_sampler(name: str, space: list[Param], seed: int, startup: int):
    name = str(name).lower()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler({p.key: p.grid() for p in space}, seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=startup, warn_independent_sampling=False
        )
    raise KilnError(f"sweep.sampler={name} is not known; use tpe, random, grid or cmaes.")


def make_pruner(name: str, startup: int, max_epochs: int):
    name = str(name).lower()
    if name in ("none", "null", "nop"):
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(int(max_epochs), 1))
    raise KilnError(f"sweep.pruner={name} is not known; use median, hyperband or none.")


def open_study(name: str, storage: RDBStorage, direction: str, sampler, pruner, identity: dict):
    """Create the study or continue it; a study started with other settings is refused."""
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise KilnError(
            f"Study {name!r} in {redact(storage.url, storage.url)} maximizes/minimizes the other way; "
            "keep sweep.objective.direction or start a new study with sweep.name=<new name>."
        )
    stored = study.user_attrs.get("identity")
    if stored is None:
        study.set_user_attr("identity", identity)
    elif stored != identity:
        changed = sorted(k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k))
        raise KilnError(
            f"Study {name!r} was started with other settings ({', '.join(changed)} differ); "
            "rerun it with the same overrides, or start a new study with sweep.name=<new name>."
        )
    return study


def retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    return {n for t in trials for n in t.system_attrs.get("retry_history", [])}


def counts_toward_quota(t: FrozenTrial, retried: set[int]) -> bool:
    """Finished, running, or a retry waiting to run; a failure that is being retried is not."""
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    if t.state == TrialState.WAITING:
        return "failed_trial" in t.system_attrs
    return t.number not in retried  # FAIL


def quota_used(trials: list[FrozenTrial], before: int | None = None) -> int:
    retried = retried_numbers(trials)
    return sum(
        1
        for t in trials
        if counts_toward_quota(t, retried) and (before is None or t.number < before)
    )


def reap_dead_local_trials(study: optuna.Study, storage: RDBStorage) -> list[int]:
    """Fail (and re-queue) RUNNING trials whose worker on this host is gone, without waiting
    for their heartbeat to go stale; heartbeats catch the ones on other machines."""
    optuna.storages.fail_stale_trials(study)
    reaped = []
    retry = storage.get_heartbeat_stale_trial_callback()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != HOST or not pid or pid == os.getpid() or _alive(pid):
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, "error", f"worker process {pid} died")
            if not storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker got there first
        if retry is not None:
            retry(study, storage.get_trial(t._trial_id))
        reaped.append(t.number)
    return reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
