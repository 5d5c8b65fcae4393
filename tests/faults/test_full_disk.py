"""A full disk while `kiln train` or `kiln predict` writes is one sentence naming the file and
the fix, exit 2, and the previous version of the file is kept (it was a truncated last.ckpt
or a traceback). The disk fills for real: a file-size limit (EFBIG, works unprivileged) or a
small tmpfs filled to the last page (ENOSPC, where mount is allowed)."""

import re

import torch

from tests.helpers import cli

TINY = [
    "experiment=wine_mlp",
    "~callbacks.early_stopping",
    "logger=none",
    "print_config=false",
    "trainer.max_epochs=3",
]


def check_refused(proc, runs, reason: str) -> None:
    """Exit 2, one sentence, epoch 1's checkpoint whole, nothing half-written left."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert re.search(r"checkpoints/(best|last)\.ckpt could not be written: " + reason, line), line
    assert "its previous version is kept" in line
    (run,) = runs.glob("train/*")
    last = run / "checkpoints" / "last.ckpt"
    assert f"resume with: kiln train ckpt_path={last}" in line
    assert torch.load(last, weights_only=True)["epoch"] == 0
    assert not list(run.rglob(".*partial-*"))
    assert not (run / "metrics.json").exists()


def test_file_size_limit_during_train_keeps_the_last_checkpoint(runs):
    limit = ["+callbacks.limit._target_=tests.faults.disk.FileSizeLimit",
             "+callbacks.limit.epoch=1", "+callbacks.limit.max_bytes=60000"]  # fmt: skip
    proc = cli("train", *TINY, *limit, f"paths.root={runs}")
    check_refused(proc, runs, "the file would pass this process's file-size limit")


def test_full_tmpfs_during_train_keeps_the_last_checkpoint(small_tmpfs):
    runs = small_tmpfs / "runs"
    fill = ["+callbacks.fill._target_=tests.faults.disk.FillDisk", "+callbacks.fill.epoch=1",
            f"+callbacks.fill.path={small_tmpfs / 'filler'}"]  # fmt: skip
    proc = cli("train", *TINY, *fill, f"paths.root={runs}")
    check_refused(proc, runs, "the disk is full")
