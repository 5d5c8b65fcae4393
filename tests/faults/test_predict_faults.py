"""`kiln predict` and `kiln export` on a full disk, and the leftovers of a killed run of either."""

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kiln.files.atomic import HOST
from tests.helpers import REPO, cli

PENGUINS = REPO / "data" / "penguins.csv"


def big_input(folder: Path) -> Path:
    """Penguins rows, 40 times over: predictions of a few hundred KB."""
    path = folder / "rows.csv"
    pd.concat([pd.read_csv(PENGUINS).drop(columns=["species"])] * 40).to_csv(path, index=False)
    return path


def limit_file_size(max_bytes: int):
    def preexec() -> None:  # runs in the child before exec; SIG_IGN survives the exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))

    return preexec


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_size_limit_during_predict_keeps_the_previous_output(
    penguins_artifact, tmp_path, suffix
):
    rows = big_input(tmp_path)
    out = tmp_path / "out" / f"predictions{suffix}"
    out.parent.mkdir()
    out.write_text("the previous predictions\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kiln", "predict", f"artifact={penguins_artifact}",
         f"input={rows}", f"output={out}", "overwrite=true", "chunk_rows=500",
         f"paths.root={tmp_path / 'runs'}"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        preexec_fn=limit_file_size(100_000),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert f"{out} could not be written: the file would pass" in line
    assert "its previous version is kept" in line and "run kiln predict again" in line
    assert out.read_text() == "the previous predictions\n"
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def killed_at(name: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """kiln, SIGKILLed as its first rename onto ``name`` begins (tests/faults/audited_run.py)."""
    script = Path(__file__).with_name("audited_run.py")
    log = tmp_path / "audit.jsonl"
    return subprocess.run([sys.executable, str(script), str(log), f"1:{name}", *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip


def test_a_killed_predict_leaves_a_partial_the_next_run_removes(penguins_artifact, tmp_path):
    out = tmp_path / "out"
    common = [f"artifact={penguins_artifact}", f"input={PENGUINS}", f"paths.root={tmp_path}/runs"]
    proc = killed_at("a.csv", "predict", *common, f"output={out}/a.csv", tmp_path=tmp_path)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    (leftover,) = out.glob(".a.csv.partial-*")
    assert leftover.stat().st_size > 0 and not (out / "a.csv").exists()
    # a live process's partial (this test's pid), or another host's, is named and left alone
    live = out / f".c.csv.partial-{os.getpid()}-0000abcd-{HOST}"
    live.write_text("being written\n")
    remote = out / ".d.csv.partial-1-0000abcd-another_host"
    remote.write_text("being written elsewhere\n")
    again = cli("predict", *common, f"output={out}/b.csv")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"kiln predict: removed {leftover}, the leftover of an interrupted run" in again.stderr
    assert f"kiln predict: left {live}: process {os.getpid()} that writes it is still running" in (
        again.stderr
    )
    assert f"left {remote}: written on another_host" in again.stderr
    assert not leftover.exists() and live.exists() and remote.exists()
    assert len(pd.read_csv(out / "b.csv")) == len(pd.read_csv(PENGUINS))


@pytest.mark.slow  # two ONNX exports; the predict case above runs the same cleaning
def test_a_killed_export_leaves_a_partial_folder_the_next_run_removes(penguins_artifact, tmp_path):
    ckpt = json.loads((penguins_artifact / "metadata.json").read_text())["source_checkpoint"]
    out = tmp_path / "artifacts"
    common = [f"ckpt_path={ckpt}", f"paths.root={tmp_path}/runs"]
    proc = killed_at("first", "export", *common, f"out={out}/first", tmp_path=tmp_path)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    (leftover,) = out.glob(".first.partial-*")
    assert (leftover / "metadata.json").is_file() and not (out / "first").exists()
    again = cli("export", *common, f"out={out}/second")
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"kiln export: removed {leftover}, the leftover of an interrupted run" in again.stderr
    assert not leftover.exists() and (out / "second" / "metadata.json").is_file()


@pytest.mark.slow  # an ONNX export; the full-disk sentence is predict's above
def test_file_size_limit_during_export_leaves_no_partial_folder(penguins_artifact, tmp_path):
    ckpt = json.loads((penguins_artifact / "metadata.json").read_text())["source_checkpoint"]
    out = tmp_path / "artifacts" / "art"
    proc = subprocess.run(
        [sys.executable, "-m", "kiln", "export", f"ckpt_path={ckpt}", f"out={out}",
         f"paths.root={tmp_path / 'runs'}"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        preexec_fn=limit_file_size(20_000),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert f"{out} could not be written: the file would pass" in line
    assert not out.exists() and not list(out.parent.iterdir())
