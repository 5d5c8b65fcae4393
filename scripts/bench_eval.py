"""The evaluation report's cost on a 100,000-row test split, beside predicting that split.

Makes a table (20 numeric, 4 categorical columns, a binary target), trains a small model on
5,000 rows for one epoch with a 100,000-row test file (data.test_path), exports it, then
times, interleaved over repeats (best of each kept):
  predict   `kiln predict` of the test file (read, encode, ONNX, write): predicting the split
  forward   the model's forward pass over the split's tensors alone (the floor)
  report    build_report + write_report of the split (forward, calibration, curves, worst
            rows, permutation importance on eval.importance_rows, integrated gradients,
            PNGs, HTML, JSON, TensorBoard), as `kiln train`/`kiln eval` run it
The bar (issue 19): report <= 2x predict.

    python scripts/bench_eval.py [--rows 100000] [--repeats 3] [--importance-rows 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

import kiln.api
from kiln.reporting.collect import outputs
from kiln.reporting.output import write_report
from kiln.reporting.report import Settings, build_report
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 20))
    cats = {f"c{j}": rng.choice(list("abcdefgh"), rows) for j in range(4)}
    logit = x[:, :5].sum(1) + (cats["c0"] == "a") * 1.5 - (cats["c1"] == "b")
    y = (logit + rng.logistic(size=rows) > 0).astype(int)
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(20)}, **cats, "y": y})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--importance-rows", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table(5000, 0).to_csv(tmp / "train.csv", index=False)
        table(args.rows, 1).to_csv(tmp / "test.csv", index=False)
        result = kiln.api.run("train", [
            f"paths.root={tmp}/runs", "print_config=false", "data=table",
            f"data.path={tmp}/train.csv", f"data.test_path={tmp}/test.csv", "data.target=y",
            "model=mlp", "trainer.max_epochs=1", "logger=none", "report=false",
        ])  # fmt: skip
        ckpt = result["best_checkpoint"]
        kiln.api.run(
            "export", [f"ckpt_path={ckpt}", f"out={tmp}/artifact", f"paths.root={tmp}/runs"]
        )
        stored = load_checkpoint(ckpt)
        cfg = OmegaConf.create(stored["kiln"]["config"])
        dm = build_datamodule(cfg.data)
        module = build_module(cfg, dm, run_config=stored["kiln"]["config"])
        module.load_state_dict(stored["state_dict"])
        module.eval()
        *inputs, y = dm.splits["test"]
        settings = Settings(importance_rows=args.importance_rows)
        best = {"predict": float("inf"), "forward": float("inf"), "report": float("inf")}
        from torch.utils.tensorboard import SummaryWriter

        for k in range(args.repeats):
            t = time.perf_counter()
            kiln.api.run("predict", [f"artifact={tmp}/artifact", f"input={tmp}/test.csv",
                                     f"output={tmp}/pred{k}.csv", f"paths.root={tmp}/runs"])  # fmt: skip
            best["predict"] = min(best["predict"], time.perf_counter() - t)
            t = time.perf_counter()
            outputs(module, list(inputs))
            best["forward"] = min(best["forward"], time.perf_counter() - t)
            t = time.perf_counter()
            report = build_report(module, list(inputs), y, settings, "bench")
            with SummaryWriter(str(tmp / f"tb{k}")) as writer:
                write_report(report, tmp / f"report{k}", writer)
            best["report"] = min(best["report"], time.perf_counter() - t)
    print(
        f"{len(y):,} test rows x 24 columns, binary, MLP; importance on {args.importance_rows:,} rows"
    )
    print(f"{'step':<46}{'seconds':>10}{'x predict':>11}")
    for label, key in (("kiln predict of the test file", "predict"),
                       ("forward pass over the split's tensors", "forward"),
                       ("evaluation report (build + write)", "report")):  # fmt: skip
        print(f"{label:<46}{best[key]:>10.2f}{best[key] / best['predict']:>11.2f}")


if __name__ == "__main__":
    main()
