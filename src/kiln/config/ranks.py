"""This process's rank, known from the launcher's environment before any Trainer exists, so the
run directory is settled at config time (the ``kiln_run_dir`` resolver)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SCRATCH_PREFIX = "kiln-rank"


def process_rank() -> int:
    """This process's global rank as its launcher set it (0 when nothing launched it).

    torchrun sets RANK; Lightning's own children get LOCAL_RANK (and NODE_RANK); srun sets
    SLURM_PROCID. The order is Lightning's: SLURM_PROCID may linger outside a SLURM launch.
    """
    if os.environ.get("RANK") is not None:
        return int(os.environ["RANK"])
    if os.environ.get("LOCAL_RANK") is not None:
        return int(os.environ["LOCAL_RANK"]) + int(os.environ.get("NODE_RANK", 0))
    return int(os.environ.get("SLURM_PROCID", 0))


def is_rank_zero() -> bool:
    return process_rank() == 0


def run_dir(path: str) -> str:
    """Hydra resolver ``${kiln_run_dir:<path>}``: the run directory on rank 0.

    Under torchrun or srun every rank composes its own config, and its own time and random
    suffix. The other ranks get a scratch directory outside the runs root, removed when they
    finish; they write nothing there but Hydra's bookkeeping, and Lightning broadcasts rank 0's
    checkpoint directory to them.
    """
    rank = process_rank()
    if rank == 0:
        return path
    return str(Path(tempfile.gettempdir()) / f"{_SCRATCH_PREFIX}{rank}-{os.getpid()}")
