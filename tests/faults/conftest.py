"""Fixtures for fault tests: a runs root on another filesystem than the system temp folder,
and a small tmpfs to fill (both real; a test that needs one and cannot have it is skipped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def other_filesystem() -> Path | None:
    """/dev/shm when it is a writable filesystem other than the temp folder's."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    if shm.stat().st_dev == Path(tempfile.gettempdir()).stat().st_dev:
        return None
    return shm


@pytest.fixture
def cross_fs_runs(tmp_path: Path):
    """A runs root where a checkpoint staged in the temp folder would be copied, not renamed;
    the test's temp folder when no such filesystem exists (the checks still hold there)."""
    base = other_filesystem()
    if base is None:
        yield tmp_path / "runs"
        return
    root = base / f"kiln-faults-{uuid.uuid4().hex[:8]}" / "runs"
    root.mkdir(parents=True)
    try:
        yield root
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A 6 MB tmpfs (mount needs root; skipped where the sandbox refuses it)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="session")
def penguins_artifact(tmp_path_factory) -> Path:
    """A tiny penguins model, exported (in-process, as tests/serving does)."""
    import kiln.api

    runs = tmp_path_factory.mktemp("runs")
    result = kiln.api.run(
        "train",
        [f"paths.root={runs}", "print_config=false", "experiment=penguins_species",
         "trainer.max_epochs=1", "logger=none", "~callbacks.confusion_matrix"],
    )  # fmt: skip
    out = tmp_path_factory.mktemp("artifacts") / "penguins"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}",
                            f"paths.root={out.parent}"])  # fmt: skip
    return out
