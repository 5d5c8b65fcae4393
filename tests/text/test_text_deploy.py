"""Text in through kiln.load, kiln predict and a real server on 127.0.0.1 answers what the
checkpoint's module answers on the checkpoint's own tokenizer (<= 1e-4)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

import kiln
from kiln.preprocessing.text_tokenizer import TextTokenizer
from kiln.serving.export import ExportPipeline
from kiln.training.builders import build_checkpoint_datamodule, build_module, checkpoint_config
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import cli
from tests.helpers.server import live_server
from tests.text.conftest import make_texts

NEW = [
    "The coach bought pizza for the team after the match.",
    "Our server crashed: a bug in the network code!",
    "Spicy soup 🍲 and bread, très bon",
    "مرحبا بالعالم computer",  # right-to-left script beside a known word
    "x",
]


def checkpoint_answers(ckpt_path, texts: list[str]) -> np.ndarray:
    """The oracle: the checkpoint's module on ids from the checkpoint's stored tokenizer."""
    ckpt = load_checkpoint(str(ckpt_path))
    cfg = checkpoint_config(ckpt)
    dm = build_checkpoint_datamodule(cfg.data, "test")
    module = build_module(cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"])
    tok = TextTokenizer.from_dict(ckpt["kiln"]["spec"]["extra"]["tokenizer"])
    enc = tok.encode(texts)
    with torch.inference_mode():
        out = ExportPipeline(module).eval()(torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths))
    return out.numpy()


def test_load_predict_and_serve_equal_the_checkpoint(text_ckpt, text_artifact, tmp_path):
    expected = checkpoint_answers(text_ckpt, NEW)
    labels = ["food", "sport", "tech"]
    predictor = kiln.load(text_artifact)
    assert predictor.schema.kind == "text" and predictor.labels == labels
    loaded = predictor.predict(NEW)[[f"proba_{c}" for c in labels]].to_numpy()
    assert np.abs(loaded - expected).max() <= 1e-4
    assert predictor.predict(NEW[0])["prediction"].tolist() == [labels[expected[0].argmax()]]

    src, out = tmp_path / "new.csv", tmp_path / "preds.csv"
    pd.DataFrame({"id": range(len(NEW)), "text": NEW}).to_csv(src, index=False)
    proc = cli("predict", f"artifact={text_artifact}", f"input={src}", f"output={out}", runs=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    batch = pd.read_csv(out)
    assert batch["text"].tolist() == NEW and batch["id"].tolist() == list(range(len(NEW)))
    assert np.abs(batch[[f"proba_{c}" for c in labels]].to_numpy() - expected).max() <= 1e-4

    with live_server(text_artifact) as (url, _):
        served = httpx.post(f"{url}/predict", json=[{"text": t} for t in NEW], timeout=30)
        one = httpx.post(f"{url}/predict", json={"text": NEW[1]}, timeout=30).json()
        meta = httpx.get(f"{url}/metadata").json()
    got = np.array([[p["probabilities"][c] for c in labels] for p in served.json()["predictions"]])
    assert np.abs(got - expected).max() <= 1e-4
    assert one["prediction"] == served.json()["predictions"][1]["prediction"]
    assert np.abs(np.array([one["probabilities"][c] for c in labels]) - expected[1]).max() <= 1e-4
    assert meta["inputs"]["kind"] == "text" and meta["inputs"]["field"] == "text"


def test_the_tokenizer_travels_in_checkpoint_and_artifact(text_ckpt, text_artifact):
    """The artifact's tokenizer JSON is the checkpoint's, and both encode new text alike."""
    ckpt = load_checkpoint(str(text_ckpt))
    stored = ckpt["kiln"]["spec"]["extra"]["tokenizer"]
    meta = json.loads((text_artifact / "metadata.json").read_text())
    assert meta["inputs"]["tokenizer"] == stored == meta["spec"]["extra"]["tokenizer"]
    a, b = TextTokenizer.from_dict(stored), kiln.load(text_artifact).schema.tokenizer
    texts = make_texts(30, 7)["text"].tolist()
    np.testing.assert_array_equal(a.encode(texts).ids, b.encode(texts).ids)
    # the config keeps the tokenizer settings, never the fitted JSON (that is the spec's)
    assert OmegaConf.create(ckpt["kiln"]["config"]).data.fitted is None
