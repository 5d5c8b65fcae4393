"""`kiln train` stopped by a scheduler's SIGTERM exited 0 with no metrics.json (Lightning ends
the fit with a SystemExit of code None), so the scheduler read success. Now: exit 143, the
last whole epoch's last.ckpt kept, and the command that resumes it printed."""

import os
import shlex
import signal
import subprocess
import sys
import time

import torch

from tests.helpers import REPO, cli

ARGS = [
    "experiment=wine_mlp",
    "scheduler=step",  # a schedule that allows another run length on resume
    "~callbacks.early_stopping",
    "logger=none",
    "print_config=false",
    "trainer.max_epochs=500",
]


def terminated(command: str, *args: str, runs, once: str) -> tuple[subprocess.Popen, str, str]:
    """``kiln <command>``, sent SIGTERM as soon as a file matching ``once`` appears."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiln", command, *args, f"paths.root={runs}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 240
    while not list(runs.glob(once)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return proc, out, err


def test_sigterm_exits_143_and_prints_the_resume_command(runs):
    proc, out, err = terminated("train", *ARGS, runs=runs, once="train/*/checkpoints/last.ckpt")
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in out + err
    (line,) = [ln for ln in err.splitlines() if "SIGTERM" in ln]
    words = shlex.split(line.split("resume with: ", 1)[1])
    assert words[:2] == ["kiln", "train"] and words[2].startswith("ckpt_path=")
    last = words[2].removeprefix("ckpt_path=")
    (run,) = runs.glob("train/*")
    assert last == str(run / "checkpoints" / "last.ckpt")
    assert not (run / "metrics.json").exists()
    assert not list(run.glob("checkpoints/.*partial-*"))
    epoch = torch.load(last, weights_only=True)["epoch"]
    assert "trainer.max_epochs=500" in words and f"paths.root={runs}" in words
    # the printed command resumes the run (here to two more epochs than were done)
    rest = [
        w if w != "trainer.max_epochs=500" else f"trainer.max_epochs={epoch + 3}" for w in words
    ]
    resumed = cli(*rest[1:])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    done = torch.load(next(runs.glob("train/*/checkpoints/resumed_from.ckpt")).parent / "last.ckpt",
                      weights_only=True)  # fmt: skip
    assert done["epoch"] == epoch + 2


def test_sigterm_during_compare_exits_143(runs):
    args = ["models=[mlp]", "scheduler=step", "trainer.max_epochs=500", "logger=none",
            "~callbacks.early_stopping"]  # fmt: skip
    proc, out, err = terminated(
        "compare", *args, runs=runs, once="compare/*/mlp/checkpoints/last.ckpt"
    )
    assert proc.returncode == 143, err[-2000:]
    assert "kiln compare: error: interrupted by SIGTERM; run kiln compare again." in err
    assert not list(runs.glob("compare/*/leaderboard.*"))


def test_sigterm_without_a_last_checkpoint_says_there_is_nothing_to_resume(runs):
    args = [*ARGS, "~callbacks.last_checkpoint"]
    proc, out, err = terminated("train", *args, runs=runs, once="train/*/checkpoints/best.ckpt")
    assert proc.returncode == 143, err[-2000:]
    assert "before a last.ckpt was written" in err and "run kiln train again" in err
