"""Fixtures every folder may use: a temporary runs root, and one tiny penguins model trained
and exported once per session (the serving, monitoring and security tests share it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kiln.api
from tests.helpers import PENGUINS


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def penguins_ckpt(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    result = kiln.api.run(
        "train",
        [
            f"paths.root={runs}",
            "print_config=false",
            "experiment=penguins_species",
            "trainer.max_epochs=3",
            "logger=none",
            "~callbacks.confusion_matrix",
        ],
    )
    return Path(result["best_checkpoint"])


@pytest.fixture(scope="session")
def penguins_artifact(penguins_ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("artifacts") / "penguins"
    kiln.api.run("export", [f"ckpt_path={penguins_ckpt}", f"out={out}", f"paths.root={out.parent}"])
    return out


@pytest.fixture(scope="session")
def penguins_rows() -> pd.DataFrame:
    """The raw feature rows (target dropped), missing values included."""
    return pd.read_csv(PENGUINS).drop(columns=["species"])
