"""Character models (data=dna_motif, data=text_csv; sequence or counts) take strings through
kiln.load, kiln predict and a real server on 127.0.0.1, and answer what the checkpoint's module
answers on ids encoded by hand from the checkpoint's stored vocabulary (<= 1e-4)."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import kiln
import kiln.api
from kiln.serving.export import ExportPipeline
from kiln.serving.records import InputError
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import cli
from tests.helpers.server import live_server

MOTIF = ["data=dna_motif", "data.motif.n=120", "data.motif.min_len=8", "data.motif.max_len=14"]
DNA = ["ACGTTATAATGC", "GGGG", "ACGTNNACGT", "TATAAT" * 5, "T"]  # N unseen; one too long
WORDS = ["Pizza and bread.", "A goal!", "Zürich ✓ servers", "x" * 100, "."]
RUNS = {
    "motif_gru": ([*MOTIF, "model=gru", "model.hidden=8"], DNA, "fmt=torch"),
    "motif_counts": ([*MOTIF, "data.features=counts", "model=mlp", "model.hidden=[8]"], DNA,
                     "fmt=onnx"),
    "csv_transformer": (["data=text_csv", "data.max_len=24", "model=transformer",
                         "model.d_model=16", "model.layers=1", "model.heads=2"], WORDS, "fmt=onnx"),
}  # fmt: skip


def write_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    words = {"food": ["pizza", "bread", "soup"], "sport": ["goal", "match", "team"]}
    rows = [
        {"text": " ".join(rng.choice(words[lab], 4)), "label": lab}
        for lab in ["food", "sport"] * 30
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


SLOW = {"motif_gru", "csv_transformer"}  # ~20 s each; the counts run stays in the quick suite


@pytest.fixture(
    scope="module",
    params=[pytest.param(k, marks=[pytest.mark.slow] if k in SLOW else []) for k in sorted(RUNS)],
)
def char_run(request, tmp_path_factory):
    """(checkpoint, artifact, strings) of one tiny run, exported."""
    overrides, strings, fmt = RUNS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    if "data=text_csv" in overrides:
        overrides = [*overrides, f"data.path={write_csv(root / 'words.csv')}"]
    result = kiln.api.run(
        "train",
        [f"paths.root={root}", "print_config=false", "logger=none", "debug=fast",
         "~callbacks.confusion_matrix", *overrides],
    )  # fmt: skip
    ckpt, out = result["best_checkpoint"], root / "artifact"
    kiln.api.run(
        "export",
        [f"ckpt_path={ckpt}", f"out={out}", f"paths.root={root}", f"format={fmt[4:]}"],
    )
    return root, ckpt, out, strings


def by_hand(strings: list[str], vocab: str, width: int) -> list[np.ndarray]:
    """Ids as training makes them: 2.. per vocabulary character, 1 unseen, 0 pads, cut right."""
    ids = np.zeros((len(strings), width), dtype=np.int64)
    for row, s in enumerate(strings):
        ids[row, : min(len(s), width)] = [
            vocab.index(c) + 2 if c in vocab else 1 for c in s[:width]
        ]
    return [ids, np.array([max(1, min(len(s), width)) for s in strings], dtype=np.int64)]


def checkpoint_answers(ckpt_path, strings: list[str]) -> np.ndarray:
    ckpt = load_checkpoint(str(ckpt_path))
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"])
    extra = ckpt["kiln"]["spec"]["extra"]
    inputs = by_hand(strings, extra["vocab"], extra["max_len"])[: extra["inputs_per_batch"]]
    with torch.inference_mode():
        return ExportPipeline(module).eval()(*map(torch.from_numpy, inputs)).numpy()


def test_strings_in_load_predict_and_serve_equal_the_checkpoint(char_run):
    root, ckpt, artifact, strings = char_run
    expected = checkpoint_answers(ckpt, strings)
    predictor = kiln.load(artifact)
    labels = predictor.labels
    cols = [f"proba_{c}" for c in labels]
    want = predictor.probabilities(expected)
    assert predictor.schema.kind == "text" and predictor.schema.field == "text"
    assert np.abs(predictor.predict(strings)[cols].to_numpy() - want).max() <= 1e-4
    assert predictor.predict(strings[1])["prediction"].tolist() == [
        labels[int(predictor.label_index(expected[1:2])[0])]
    ]
    assert predictor.schema.truncated >= 1  # the long string was cut to the model's width

    src, out = root / "new.csv", root / "preds.csv"
    pd.DataFrame({"id": range(len(strings)), "text": strings}).to_csv(src, index=False)
    proc = cli("predict", f"artifact={artifact}", f"input={src}", f"output={out}", runs=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    batch = pd.read_csv(out, keep_default_na=False)
    assert batch["text"].tolist() == strings
    assert np.abs(batch[cols].to_numpy() - want).max() <= 1e-4

    with live_server(artifact) as (url, _):
        served = httpx.post(f"{url}/predict", json=[{"text": s} for s in strings], timeout=30)
        bad = httpx.post(f"{url}/predict", json={"text": ""}, timeout=30)
        meta = httpx.get(f"{url}/metadata").json()
    assert served.status_code == 200, served.text
    got = np.array([[p["probabilities"][c] for c in labels] for p in served.json()["predictions"]])
    assert np.abs(got - want).max() <= 1e-4
    assert bad.status_code == 422 and "field 'text' is empty" in bad.json()["detail"]
    assert meta["inputs"]["kind"] == "text" and meta["inputs"]["tokenizer"]["kind"] == "characters"


@pytest.mark.slow
def test_a_model_trained_on_full_width_sequences_refuses_shorter_strings(tmp_path):
    """Every training sequence filled the width, so the graph takes ids without lengths: a
    string that long answers like run() on its ids; a shorter one is refused in one sentence
    (its padding was never seen in training) by kiln.load and by the server."""
    fixed = ["data=dna_motif", "data.motif.n=120", "data.motif.min_len=10", "data.motif.max_len=10"]
    result = kiln.api.run(
        "train",
        [f"paths.root={tmp_path}", "print_config=false", "logger=none", "debug=fast",
         "~callbacks.confusion_matrix", *fixed, "model=gru", "model.hidden=8"],
    )  # fmt: skip
    out = tmp_path / "artifact"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}",
                            f"paths.root={tmp_path}"])  # fmt: skip
    predictor = kiln.load(out)
    assert len(predictor.input_names) == 1
    ids = by_hand(["ACGTTATAAT", "TTTTTTTTTTGG"], "ACGT", 10)[0]
    got = predictor.predict(["ACGTTATAAT", "TTTTTTTTTTGG"])["proba_1"].to_numpy()
    assert np.abs(got - predictor.run([ids])).max() <= 1e-6
    with pytest.raises(
        InputError, match="record 1: the text has 4 characters but this model reads exactly 10"
    ):
        predictor.predict(["ACGTTATAAT", "ACGT"])
    with live_server(out) as (url, _):
        r = httpx.post(f"{url}/predict", json={"text": "ACG"}, timeout=30)
    assert r.status_code == 422 and "reads exactly 10" in r.json()["detail"]


def test_kiln_drift_reads_strings_with_the_stored_vocabulary(char_run):
    """The reference profile of a character model holds text features (length, unknown
    characters, character frequencies), and kiln drift encodes a text column to compare them:
    two-character strings against training's longer ones drift in length."""
    root, _, artifact, _ = char_run
    meta = kiln.load(artifact).meta
    assert meta["profile"]["featurizer"]["kind"] == "text"
    src = root / "short.csv"
    pd.DataFrame({"text": ["AC", "GT"] * 30}).to_csv(src, index=False)
    report = kiln.api.run("drift", [f"artifact={artifact}", f"input={src}", f"paths.root={root}"])
    assert report["rows"] == 60 and report["features"]["length"]["drifted"]
    assert report["features"]["length"]["mean"] == 2.0
