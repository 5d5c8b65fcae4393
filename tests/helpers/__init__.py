"""What the tests call to run kiln as a user would: in-process (``train``) or as a real
``python -m kiln`` subprocess (``cli``). Helpers are imported from here; fixtures live in the
conftest.py files, where pytest finds them without an import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import kiln.api

REPO = Path(__file__).resolve().parents[2]
PENGUINS = REPO / "data" / "penguins.csv"


def train(runs: Path, *overrides: str, command: str = "train") -> dict:
    """kiln train in-process (quiet), runs under ``runs``."""
    return kiln.api.run(
        command,
        [f"paths.root={runs}", "print_config=false", *overrides]
        if command == "train"
        else [f"paths.root={runs}", *overrides],
    )


def run_dir(result: dict) -> Path:
    """The run directory of a train result (its best checkpoint's grandparent)."""
    return Path(result["best_checkpoint"]).parents[1]


def cli(
    *args: str,
    runs: Path | None = None,
    timeout: float = 300,
    env: dict | None = None,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess:
    """`python -m kiln <args>` as a user would type it; stdout/stderr captured as text."""
    base = {k: v for k, v in os.environ.items() if k not in ("KILN_DEBUG", "HYDRA_FULL_ERROR")}
    full_env = {**base, "PYTHONUNBUFFERED": "1", **(env or {})}
    if runs is not None:
        full_env["KILN_RUNS"] = str(runs)
    return subprocess.run(
        [sys.executable, "-m", "kiln", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )
