"""A sweep's overhead per trial: `kiln sweep` end to end vs the same trials run alone.

(a) `python -m kiln sweep ...` as a user runs it, wall time from process start to exit:
    interpreter and imports, config composition per trial, the search-space check, study
    bookkeeping in SQLite (ask, tell, heartbeats), the report (CSV, best.yaml, plots);
(b) each of the sweep's trials again, alone, in one warm process: `kiln.api.run("train", ...)`
    with the `kiln train` overrides that reproduce it (kiln.sweep.replay).
Overhead per trial = (a - sum(b)) / n_trials; also as a share of the mean trial time.

    python scripts/bench_sweep.py [--trials 3] [--epochs 300] [--sweep wine_mlp]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=300)
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
    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "KILN_RUNS": root}
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kiln", "sweep", *base],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sweep_s = time.perf_counter() - started
        sweep_dir = Path(root) / "sweep" / args.sweep
        study = optuna.load_study(
            study_name=args.sweep, storage=f"sqlite:///{sweep_dir}/study.sqlite"
        )
        alone = []
        for t in study.trials:
            overrides = train_command([*base, *t.user_attrs["overrides"]])
            t0 = time.perf_counter()
            kiln.api.run("train", [f"paths.root={root}/alone", "print_config=false", *overrides])
            alone.append(time.perf_counter() - t0)
    n, total = len(alone), sum(alone)
    per_trial = (sweep_s - total) / n
    print(
        f"{'trials':>6} {'sweep s':>9} {'alone s (sum)':>14} {'mean trial s':>13} "
        f"{'overhead/trial s':>17} {'overhead %':>11}"
    )
    print(
        f"{n:>6} {sweep_s:>9.1f} {total:>14.1f} {total / n:>13.1f} {per_trial:>17.2f} "
        f"{100 * per_trial / (total / n):>10.1f}%"
    )


if __name__ == "__main__":
    main()
