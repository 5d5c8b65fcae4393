"""The DDP probe run's settings (tests/training/ddp_probe.py holds its data and callback), shared
by the torchrun and the SLURM tests."""

from __future__ import annotations

from pathlib import Path

PROBE = "tests.training.ddp_probe"
COMMON = [
    "data=ids",
    "model=mlp",
    "model.norm=none",  # batch-norm statistics are per process on CPU (no SyncBatchNorm)
    "model.dropout=0.0",
    "trainer.max_epochs=2",
    "~callbacks.early_stopping",
    "seed=5",
    "print_config=false",
]


def write_config_dir(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "data" / "ids.yaml").write_text(
        f"_target_: {PROBE}.IdData\nrows: 402\nbatch_size: 32\neval_batch_size: 30\n"
        "split_seed: ${seed}\n"
    )
    return root
