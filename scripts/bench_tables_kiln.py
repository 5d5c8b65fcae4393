"""kiln's side of scripts/bench_tables.py: one CV fold trained and tested as a user would.

The fold's training rows and test rows go to two CSV files; kiln trains on the first with
``data.test_path`` set to the second, so it splits its own validation rows (data.val_fraction)
from the training file only and tests the best checkpoint on the fold's test rows. The score is
kiln's own ``test/acc`` or ``test/r2`` from the metrics ``kiln.api.run("train", ...)`` returns.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path

SCORE_KEY = {"binary": "test/acc", "multiclass": "test/acc", "regression": "test/r2"}
QUIET = [
    "print_config=false",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


@contextlib.contextmanager
def _output_to(log: Path):
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``log``."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def overrides(train_csv, test_csv, target, task, model, seed, extra) -> list[str]:
    return [
        "data=table",
        f"data.path={train_csv}",
        f"data.test_path={test_csv}",
        f"data.target={target}",
        f"data.task={task}",
        f"model={model}",
        f"seed={seed}",
        *QUIET,
        *shlex.split(extra or ""),
    ]


def run_fold(train_df, test_df, target, task, model, seed, extra, log: Path) -> tuple[float, float]:
    """(kiln's test score, seconds for the whole command: files, data, fit and test)."""
    import kiln.api

    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    os.environ["KILN_RUNS"] = str(work / "runs")
    try:
        start = time.perf_counter()
        train_csv, test_csv = work / "train.csv", work / "test.csv"
        train_df.to_csv(train_csv, index=False)
        test_df.to_csv(test_csv, index=False)
        args = overrides(train_csv, test_csv, target, task, model, seed, extra)
        with _output_to(log):
            metrics = kiln.api.run("train", args)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    key = SCORE_KEY[task]
    if key not in metrics:
        raise RuntimeError(f"kiln returned no {key}: {sorted(metrics)} (log: {log})")
    return float(metrics[key]), seconds
