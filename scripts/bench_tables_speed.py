"""kiln's tabular model vs pytorch_tabular's CategoryEmbeddingModel, side by side (issue 16).

One synthetic table like a real one (3,000 rows x 75 columns: 36 numeric with 5% missing, 39
categorical with 2..50 levels and 3% missing, a binary target). For each batch size and repeat,
both sides run as whole commands in fresh processes, interleaved and alternating who goes first:
kiln via ``python -m kiln train``, pytorch_tabular via its own venv's python (it is no kiln
dependency). Both load scripts/bench_speed/epoch_timer.py, so epochs are timed by the same clock.

    python scripts/bench_tables_speed.py --pt-python /work/bench-venv-pt/bin/python
    python scripts/bench_tables_speed.py --only kiln --kiln-threads 1 2 --spin   # thread rule

OMP_NUM_THREADS is removed from both sides' environment unless --keep-omp.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def make_table(path: Path, rows: int = 3000, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    nums = rng.normal(size=(rows, 36)) * rng.uniform(0.5, 50, 36) + rng.uniform(-10, 10, 36)
    cards = rng.integers(2, 51, 39)
    codes = np.stack([rng.integers(0, c, rows) for c in cards], 1)
    effect = [rng.normal(size=c) for c in cards]
    logit = nums[:, :6] @ rng.normal(size=6) / 40 + sum(effect[k][codes[:, k]] for k in range(8))
    df = pd.DataFrame(nums, columns=[f"n{i}" for i in range(36)])
    df = df.mask(rng.random(df.shape) < 0.05)
    for k in range(39):
        col = pd.Series([f"v{v}" for v in codes[:, k]], dtype=object)
        df[f"c{k}"] = col.mask(rng.random(rows) < 0.03)
    df["y"] = (logit + rng.logistic(size=rows) > np.median(logit)).astype(int)
    df.to_csv(path, index=False)


def run_side(cmd: list[str], env: dict, log: Path) -> dict:
    """One whole command in ``log``'s folder (pytorch_tabular writes .pt_tmp/ where it runs)."""
    log.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd,
        env={**env, "BENCH_EPOCH_LOG": str(log)},
        capture_output=True,
        text=True,
        cwd=log.parent,
    )
    whole = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    epochs = [json.loads(line) for line in log.read_text().splitlines()][1:]  # skip warm-up epoch
    return {
        "whole_s": whole,
        "epoch_s": statistics.median(e["epoch_s"] for e in epochs),
        "steps_s": statistics.median(e["steps_s"] for e in epochs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="mlp", help="kiln's model= (mlp; the tabular default later)")
    ap.add_argument("--pt-python", default="/work/bench-venv-pt/bin/python")
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 512])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--only", choices=["kiln", "pt"], default=None)
    ap.add_argument("--kiln-threads", nargs="+", default=["auto"], help="kiln's threads= values")
    ap.add_argument("--kiln-args", nargs="*", default=[], help="more overrides for kiln's side")
    ap.add_argument("--spin", action="store_true", help="a competing process spins meanwhile")
    ap.add_argument("--keep-omp", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_tables_speed_"))
    csv, log = work / "table.csv", work / "epochs.jsonl"
    make_table(csv)
    env = dict(os.environ)
    if not args.keep_omp:
        env.pop("OMP_NUM_THREADS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "bench_speed"), str(HERE.parent / "src")])
    env["KILN_RUNS"] = str(work / "runs")

    def kiln_cmd(batch: int, threads: str) -> list[str]:
        cmd = [sys.executable, "-m", "kiln", "train", "data=table", f"data.path={csv}",
               "data.target=y", f"model={args.model}", f"data.batch_size={batch}",
               f"trainer.max_epochs={args.epochs}", "~callbacks.early_stopping",
               "+callbacks.epoch_timer._target_=epoch_timer.EpochTimer", "print_config=false",
               "trainer.enable_progress_bar=false", "trust_targets=[epoch_timer.*]"]  # fmt: skip
        return cmd + args.kiln_args + ([] if threads == "auto" else [f"threads={threads}"])

    sides = (
        []
        if args.only == "pt"
        else [(f"kiln {args.model} threads={t}", t) for t in args.kiln_threads]
    )
    if args.only != "kiln":
        sides.append(("pytorch_tabular CategoryEmbedding", None))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.spin else None
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        for rep in range(args.repeats):
            for batch in args.batches:
                order = sides if rep % 2 == 0 else sides[::-1]
                for name, threads in order:
                    if threads is None:
                        script = str(HERE / "bench_speed" / "pytorch_tabular_side.py")
                        cmd = [args.pt_python, script, str(csv), "y", str(batch), str(args.epochs)]
                    else:
                        cmd = kiln_cmd(batch, threads)
                    results.setdefault((name, batch), []).append(run_side(cmd, env, log))
    finally:
        if spinner:
            spinner.kill()
    load = os.getloadavg()
    print(f"\n{args.repeats} repeats, {args.epochs} epochs, spin={args.spin}, load {load[0]:.2f}")
    print("kiln overrides:", " ".join(args.kiln_args) or "none")
    print("| side | batch | epoch s | train steps s | whole command s |\n|---|---|---|---|---|")
    for (name, batch), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"| {name} | {batch} | {med['epoch_s']:.3f} | {med['steps_s']:.3f} | {med['whole_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
