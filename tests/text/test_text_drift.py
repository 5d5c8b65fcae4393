"""Drift for text: the share of unknown tokens, the length in tokens and the token frequencies,
in kiln drift and in the server's window, against the training reference."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

import kiln.api
from tests.helpers.server import live_server
from tests.text.conftest import make_texts

OTHER = ["Quantum entanglement of photons baffles physicists worldwide"] * 40


def test_kiln_drift_on_texts(text_artifact, tmp_path):
    same, shifted = tmp_path / "same.csv", tmp_path / "shifted.csv"
    make_texts(90, 11)[["text"]].to_csv(same, index=False)
    pd.DataFrame({"text": OTHER}).to_csv(shifted, index=False)
    meta = json.loads((text_artifact / "metadata.json").read_text())
    feats = meta["profile"]["features"]
    assert set(feats) == {"length", "unknown_rate", "tokens"}
    calm = kiln.api.run("drift", [f"artifact={text_artifact}", f"input={same}",
                                  f"paths.root={tmp_path}"])  # fmt: skip
    assert not calm["features"]["tokens"]["drifted"] and calm["rows"] == 90
    assert not calm["features"]["unknown_rate"]["drifted"]
    rep = kiln.api.run("drift", [f"artifact={text_artifact}", f"input={shifted}",
                                 f"paths.root={tmp_path}"])  # fmt: skip
    assert rep["rows"] == 40
    assert {"unknown_rate", "tokens"} <= set(rep["drifted_features"])
    assert (
        rep["features"]["unknown_rate"]["mean"]
        > 0
        == rep["features"]["unknown_rate"]["reference_mean"]
    )
    # the token divergence is scipy's Jensen-Shannon distance of the two frequency tables
    ref = feats["tokens"]["counts"]
    pred = kiln.load(text_artifact)
    ids, lengths = pred.encode(pd.DataFrame({"text": OTHER}))[0]
    new = np.bincount(ids[np.arange(ids.shape[1]) < lengths[:, None]], minlength=len(ref))
    r = np.array([ref[k] for k in ref], dtype=float)
    vocab = list(ref)
    c = np.array([new[pred.schema.tokenizer.tokenizer.token_to_id(k)] for k in vocab], dtype=float)
    expected = jensenshannon(r / r.sum(), c / c.sum(), base=2)
    assert abs(rep["features"]["tokens"]["jensenshannon"] - expected) < 1e-6


def test_the_server_window_sees_text_drift(text_artifact):
    with live_server(text_artifact, drift_window=40, drift_every=1, drift_min_rows=40) as (url, _):
        r = httpx.post(f"{url}/predict", json=[{"text": t} for t in OTHER], timeout=30)
        assert r.status_code == 200
        report = httpx.get(f"{url}/drift", timeout=30).json()
    assert report["status"] == "ok" and report["window_rows"] == 40
    assert "tokens" in report["drifted_features"] and "unknown_rate" in report["drifted_features"]
