"""A sweep's overhead per trial: `kiln sweep` end to end vs the same trials run alone.

(a) `python -m kiln sweep ...` as a user runs it, wall time from process start to exit:
    interpreter and imports, config composition per trial, the search-space check, study
    bookkeeping in SQLite (ask, tell, heartbeats), the report (CSV, best.yaml, plots);
(b) each of the sweep's trials again, alone, in one warm process: `kiln.api.run("train", ...)`
    with the `kiln train` overrides that reproduce it (kiln.sweep.replay).
The sweep is seeded, so every repeat draws the same trials; (a) and (b) alternate
``--repeats`` times and the best of each is kept. Overhead per trial = (a - sum(b)) / n, also
as a share of the mean trial. As a cross-check immune to load drift, the sweep's own
bookkeeping: (a) minus the time its trials spent inside ``tasks.train.run``.

    python scripts/bench_sweep.py [--trials 3] [--epochs 150] [--repeats 2] [--sweep wine_mlp]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

import kiln.api
from kiln.sweep.replay import train_command


def sweep_once(base: list[str], name: str, root: str) -> tuple[float, list]:
    env = {**os.environ, "KILN_RUNS": root}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kiln", "sweep", *base],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    storage = f"sqlite:///{Path(root) / 'sweep' / name / 'study.sqlite'}"
    return wall, optuna.load_study(study_name=name, storage=storage).trials


def alone_once(base: list[str], trials, root: str) -> list[float]:
    times = []
    for t in trials:
        overrides = train_command([*base, *t.user_attrs["overrides"]])
        started = time.perf_counter()
        kiln.api.run("train", [f"paths.root={root}", "print_config=false", *overrides])
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sweep", default="wine_mlp")
    args = ap.parse_args()
    base = [
        f"sweep={args.sweep}",
        f"trainer.max_epochs={args.epochs}",
        "~callbacks.early_stopping",
        "sweep.pruner=none",
        "sweep.sampler=random",
        f"sweep.n_trials={args.trials}",
    ]
    sweeps, alones, inside = [], [], []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as root:
            wall, trials = sweep_once(base, args.sweep, root)
            sweeps.append(wall)
            inside.append(wall - sum(t.user_attrs["seconds"] for t in trials))
            alones.append(alone_once(base, trials, f"{root}/alone"))
        print(f"repeat {r}: sweep {wall:.1f} s, alone {sum(alones[-1]):.1f} s", flush=True)
    sweep_s, alone_s = min(sweeps), min(sum(a) for a in alones)
    n = args.trials
    per_trial = (sweep_s - alone_s) / n
    print(
        f"{'trials':>6} {'sweep s':>8} {'alone s':>8} {'mean trial s':>13} "
        f"{'overhead/trial s':>17} {'overhead':>9} {'bookkeeping/trial s':>20}"
    )
    print(
        f"{n:>6} {sweep_s:>8.1f} {alone_s:>8.1f} {alone_s / n:>13.1f} {per_trial:>17.2f} "
        f"{per_trial / (alone_s / n):>9.1%} {min(inside) / n:>20.2f}"
    )


if __name__ == "__main__":
    main()
