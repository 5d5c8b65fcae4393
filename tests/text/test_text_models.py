"""Every text model (bag of embeddings, LSTM, GRU, Transformer, and an MLP on token counts)
trains on subword ids and exports an artifact that takes strings and answers like the
checkpoint (kiln export's own self-check holds the ONNX graph to PyTorch on the test split)."""

from __future__ import annotations

import numpy as np
import pytest

import kiln
import kiln.api
from tests.text.conftest import train_text
from tests.text.test_text_deploy import NEW, checkpoint_answers

MODELS = {
    "bag_of_embeddings": ["model=bag_of_embeddings", "model.embed_dim=16"],
    "lstm": ["model=lstm", "model.hidden=8", "model.embed_dim=8", "model.bidirectional=true"],
    "gru": ["model=gru", "model.hidden=8", "model.embed_dim=8"],
    "counts_mlp": ["model=mlp", "data.features=counts", "model.hidden=[16]"],
}


def train_and_export(root, csv, overrides):
    ckpt = train_text(root, csv, *overrides)["best_checkpoint"]
    out = root / "artifact"
    result = kiln.api.run("export", [f"ckpt_path={ckpt}", f"out={out}", f"paths.root={root}"])
    assert result["max_diff"] <= 1e-4
    got = kiln.load(out).predict(NEW).filter(like="proba_").to_numpy()
    assert np.abs(got - checkpoint_answers(ckpt, NEW)).max() <= 1e-4
    return ckpt


def test_bag_of_embeddings_learns_the_topics(text_csv, tmp_path):
    """The baseline separates three topics named by their words (chance: 1/3)."""
    ckpt = train_text(tmp_path, text_csv, *MODELS["bag_of_embeddings"], "trainer.max_epochs=30",
                      "optimizer.lr=0.03")  # fmt: skip
    assert ckpt["test/acc"] >= 0.9, ckpt["test/acc"]


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(MODELS))
def test_text_models_export_and_take_strings(text_csv, tmp_path, model):
    train_and_export(tmp_path, text_csv, MODELS[model])
