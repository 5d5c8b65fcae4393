"""A tiny labelled text file (written to disk, as a user's would be) and one text model trained
and exported from it, shared by the text tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kiln.api

TOPICS = {
    "food": ["pizza", "bread", "cheese", "soup", "apple", "dinner", "spicy", "bake"],
    "sport": ["football", "goal", "match", "team", "coach", "score", "runner", "league"],
    "tech": ["computer", "software", "bug", "server", "network", "keyboard", "code", "cloud"],
}
FILLER = ["the", "a", "was", "very", "today", "and", "we", "like", "our", "new", "big", "it"]


def make_texts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = list(TOPICS)[i % 3]
        words = list(rng.choice(TOPICS[label], 3)) + list(
            rng.choice(FILLER, int(rng.integers(2, 9)))
        )
        rng.shuffle(words)
        rows.append({"text": " ".join(words).capitalize() + ".", "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def text_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "topics.csv"
    make_texts(150, 0).to_csv(path, index=False)
    return path


TINY_TRANSFORMER = ["model=transformer", "model.d_model=16", "model.layers=1", "model.heads=2"]


def train_text(root: Path, csv: Path, *overrides: str) -> dict:
    return kiln.api.run(
        "train",
        [f"paths.root={root}", "print_config=false", "logger=none", "trainer.max_epochs=3",
         "~callbacks.confusion_matrix", "data=text", f"data.path={csv}",
         "data.tokenizer.vocab_size=60", "data.max_len=16", *overrides],
    )  # fmt: skip


@pytest.fixture(scope="session")
def text_ckpt(text_csv, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("text_runs")
    return Path(train_text(root, text_csv, *TINY_TRANSFORMER)["best_checkpoint"])


@pytest.fixture(scope="session")
def text_artifact(text_ckpt, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("text_art")
    out = root / "artifact"
    kiln.api.run("export", [f"ckpt_path={text_ckpt}", f"out={out}", f"paths.root={root}"])
    return out
