"""Text in through kiln.load, kiln predict and a real server on 127.0.0.1 answers what the
checkpoint's module answers on the checkpoint's own tokenizer (<= 1e-4)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest
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
        out = ExportPipeline(module).eval()(
            torch.from_numpy(enc.ids), torch.from_numpy(enc.lengths)
        )
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
    proc = cli(
        "predict", f"artifact={text_artifact}", f"input={src}", f"output={out}", runs=tmp_path
    )
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


def test_bad_text_requests_get_4xx_naming_the_field(text_artifact):
    cases = [
        ({"text": ""}, 422, "field 'text' is empty"),
        ({"text": "   "}, 422, "field 'text' is empty"),
        ({"text": None}, 422, "field 'text' is null; send a string"),
        ({"text": 3.5}, 422, "field 'text' is float; send a string"),
        ({}, 422, "field 'text' is missing"),
        ({"text": "ok", "extra": 1}, 422, "'extra' is not an input"),
        ([{"text": "ok"}, {"text": ""}], 422, "record 1: field 'text' is empty"),
        ({"text": "pizza " * 200_000}, 413, "exceed the limit"),  # 1.2 MB
    ]
    with live_server(text_artifact) as (url, app):
        for body, status, words in cases:
            r = httpx.post(f"{url}/predict", json=body, timeout=30)
            assert r.status_code == status and words in r.json()["detail"], (str(body)[:60], r.text)
        ok = httpx.post(f"{url}/predict", json={"text": "pizza " * 50_000}, timeout=30)  # 300 kB
        assert ok.status_code == 200
        metrics = httpx.get(f"{url}/metrics").text
    assert 'kiln_unknown_categories_total{feature="text"}' in metrics


@pytest.mark.slow
def test_bad_text_files_and_long_texts_in_kiln_predict(text_artifact, tmp_path):
    predictor = kiln.load(text_artifact)
    before = predictor.schema.truncated
    out = predictor.predict(["pizza " * 200_000, "goal"])  # a 1.2 MB string: cut, counted
    assert len(out) == 2 and predictor.schema.truncated == before + 1
    src = tmp_path / "long.csv"
    pd.DataFrame({"text": ["pizza " * 100_000, "goal"]}).to_csv(src, index=False)
    proc = cli("predict", f"artifact={text_artifact}", f"input={src}", f"output={tmp_path}/l.csv",
               runs=tmp_path)  # fmt: skip
    assert proc.returncode == 0 and "1 texts were cut to the model's" in proc.stderr
    assert len(pd.read_csv(tmp_path / "l.csv")) == 2
    rows = pd.DataFrame({"text": ["pizza", "", "goal"]})
    src = tmp_path / "empty.csv"
    rows.to_csv(src, index=False)
    proc = cli("predict", f"artifact={text_artifact}", f"input={src}", f"output={tmp_path}/o.csv",
               runs=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "row 1 has no text" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "o.csv").exists()
    src = tmp_path / "latin.csv"
    src.write_bytes(b"text\npizza\ncaf\xe9 goal\n")
    proc = cli("predict", f"artifact={text_artifact}", f"input={src}", f"output={tmp_path}/o.csv",
               runs=tmp_path)  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "row 1 (line 3) holds bytes that are not UTF-8 (0xe9" in lines[0]
    src = tmp_path / "numbers.csv"
    pd.DataFrame({"text": [1.5, 2.5]}).to_csv(src, index=False)
    proc = cli("predict", f"artifact={text_artifact}", f"input={src}", f"output={tmp_path}/o.csv",
               runs=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "holds numbers (such as 1.5), not text" in proc.stderr
