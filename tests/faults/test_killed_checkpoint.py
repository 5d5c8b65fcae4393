"""A run killed while it writes a checkpoint keeps the previous one whole, even when the runs
folder lies on another filesystem than the temp folder (Lightning's writer staged the file
there and moved it: across filesystems a truncate-then-copy, so a kill left last.ckpt at 0
bytes and a 100 MB temp file in /tmp)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.helpers import REPO, cli

TINY = [
    "experiment=wine_mlp",
    "~callbacks.early_stopping",
    "logger=none",
    "print_config=false",
    "seed=3",
]


def audited(log: Path, kill_on: str, *args: str, runs: Path, tmp: Path):
    """kiln in a subprocess under tests/faults/audited_run.py, its temp folder ``tmp``."""
    script = Path(__file__).with_name("audited_run.py")
    tmp.mkdir()
    return subprocess.run(
        [sys.executable, str(script), str(log), kill_on, *args, f"paths.root={runs}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp)},
    )


def test_kill_while_writing_keeps_the_previous_checkpoint(cross_fs_runs, tmp_path):
    log = tmp_path / "audit.jsonl"
    proc = audited(log, "2:last.ckpt", "train", *TINY, "trainer.max_epochs=3",
                   runs=cross_fs_runs, tmp=tmp_path / "tmp")  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]  # killed at epoch 2's last.ckpt
    (ckpt_dir,) = cross_fs_runs.glob("train/*/checkpoints")
    last = ckpt_dir / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0  # epoch 1's, whole
    events = [json.loads(line) for line in log.read_text().splitlines()]
    # the checkpoint was never opened for writing in place (what truncates it) ...
    opened = [Path(e["open"]) for e in events if "open" in e]
    kept = [p for p in opened if p.parent == ckpt_dir]
    assert kept and all(p.name.startswith(".") and ".partial-" in p.name for p in kept), kept
    # ... and every file renamed onto a checkpoint came from the checkpoint's own folder
    moves = [e.get("os.rename") or e.get("os.link") for e in events if "open" not in e]
    onto = [(Path(s), Path(d)) for s, d in moves if Path(d).parent == ckpt_dir]
    assert onto and all(s.parent == d.parent for s, d in onto), onto
    assert not [p for p in (tmp_path / "tmp").rglob("*") if p.is_file()]  # no temp file left
    (leftover,) = ckpt_dir.glob(".last.ckpt.partial-*")  # what the kill left, beside the file

    resumed = cli("train", *TINY, "trainer.max_epochs=3", f"ckpt_path={last}",
                  runs=cross_fs_runs)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"removed {leftover}" in resumed.stdout + resumed.stderr
    assert not leftover.exists()
    (after,) = [p for p in cross_fs_runs.glob("train/*/metrics.json")]
    assert json.loads(after.read_text())["epochs"] == 3
