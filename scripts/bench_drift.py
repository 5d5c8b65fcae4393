"""kiln drift's speed on a large batch: reading the CSV vs computing the drift statistics.

Writes ROWS x FEATURES random floats to a CSV (pyarrow), builds a stored reference profile
from 100,000 rows of the same distribution (the Wasserstein path: a 1,001-point grid per
feature), then times, interleaved over repeats (best of each kept):
  read     kiln's reader (pandas read_csv, float32 columns), as `kiln drift input=...` uses it
  drift    featurize + all statistics and decisions (Wasserstein, PSI, means), kiln's code
  scipy    scipy.stats.wasserstein_distance on a few features, scaled to all of them
The model's own predictions are not part of this (they cost one forward pass).

    python scripts/bench_drift.py [--rows 1000000] [--features 50] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy import stats

from kiln.monitoring.detect import compare
from kiln.monitoring.features import Featurizer
from kiln.monitoring.inputs import read_inputs
from kiln.monitoring.profile import build_profile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--scipy-features", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(args.features)]
    feat = Featurizer("tabular", names)
    spec = {"shape": [args.features]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.csv"
        x = rng.normal(size=(args.rows, args.features)).astype(np.float32)
        x[:, 0] += 0.5  # one drifted feature, so the report has something to say
        pacsv.write_csv(pa.table({n: x[:, i] for i, n in enumerate(names)}), path)
        del x
        ref = rng.normal(size=(100_000, args.features)).astype(np.float32)
        profile = json.loads(json.dumps(build_profile(feat, [ref], "regression")))  # as stored
        best = {"read": float("inf"), "drift": float("inf"), "scipy": float("inf")}
        for _ in range(args.repeats):
            t = time.perf_counter()
            inputs = read_inputs(str(path), feat, spec)
            best["read"] = min(best["read"], time.perf_counter() - t)
            t = time.perf_counter()
            report = compare(profile, *feat(inputs), {})
            best["drift"] = min(best["drift"], time.perf_counter() - t)
            t = time.perf_counter()
            for i in range(args.scipy_features):
                stats.wasserstein_distance(profile["features"][names[i]]["grid"], inputs[0][:, i])
            per = (time.perf_counter() - t) / args.scipy_features
            best["scipy"] = min(best["scipy"], per * args.features)
        size = path.stat().st_size / 1e6
    print(
        f"{args.rows:,} rows x {args.features} features, CSV {size:.0f} MB; drifted: {report['drifted_features']}"
    )
    print(f"{'step':<40}{'seconds':>10}{'x read':>10}")
    rows = [("read the CSV (kiln's reader)", best["read"]),
            ("drift statistics (kiln)", best["drift"]),
            ("Wasserstein with scipy (estimate)", best["scipy"])]  # fmt: skip
    for label, sec in rows:
        print(f"{label:<40}{sec:>10.2f}{sec / best['read']:>10.2f}")


if __name__ == "__main__":
    main()
