"""data.task=multilabel on text: several labels a row (``a|b``), per-label metrics that equal
scikit-learn's on the same predictions, and the artifact's answers as label sets."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

import kiln
import kiln.api
from kiln.errors import KilnError
from kiln.training.builders import build_checkpoint_datamodule, checkpoint_config
from kiln.training.checkpoints import load_checkpoint
from tests.helpers.server import live_server
from tests.text.conftest import TOPICS, train_text


def multilabel_file(path, n: int = 150, seed: int = 0):
    """Each text mentions one or two topics; its labels are the topics it mentions."""
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    rows = []
    for i in range(n):
        picked = sorted(set(rng.choice(topics, 1 + i % 2, replace=False)))
        words = [w for t in picked for w in rng.choice(TOPICS[t], 2)] + ["the", "and"]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": "|".join(picked)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return pd.DataFrame(rows)


def test_multilabel_text_trains_and_its_metrics_are_sklearns(tmp_path):
    frame = multilabel_file(tmp_path / "m.csv")
    result = train_text(
        tmp_path, tmp_path / "m.csv", "data.task=multilabel", "model=bag_of_embeddings",
        "model.embed_dim=16", "trainer.max_epochs=25", "optimizer.lr=0.03",
    )  # fmt: skip
    out = tmp_path / "art"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}",
                            f"paths.root={tmp_path}"])  # fmt: skip
    predictor = kiln.load(out)
    assert predictor.labels == ["food", "sport", "tech"] and predictor.task == "multilabel"
    # the test split, rebuilt as training made it, against scikit-learn
    ckpt = load_checkpoint(result["best_checkpoint"])
    dm = build_checkpoint_datamodule(checkpoint_config(ckpt).data, "test")
    texts, y = dm.texts["test"], dm.splits["test"][-1].numpy()
    proba = predictor.predict(texts)[[f"proba_{c}" for c in predictor.labels]].to_numpy()
    pred = (proba > 0.5).astype(int)
    per_label = f1_score(y, pred, average=None, zero_division=0)
    for k, value in enumerate(per_label):
        assert result[f"test/f1_{k}"] == pytest.approx(value, abs=1e-4)
    assert result["test/f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-4)
    assert result["test/f1_micro"] == pytest.approx(f1_score(y, pred, average="micro"), abs=1e-4)
    assert result["test/acc"] == pytest.approx(accuracy_score(y.ravel(), pred.ravel()), abs=1e-4)
    assert result["test/f1"] > 0.8  # the topics are named by their words
    got = predictor.predict(["pizza and bread", "goal for the team and a server bug"])
    assert got["prediction"].tolist() == ["food", "sport|tech"]
    rec = predictor.predict_records([{"text": "pizza"}])[0]
    assert rec["prediction"] == ["food"] and set(rec["probabilities"]) == set(predictor.labels)
    with live_server(out, drift_window=60, drift_every=1, drift_min_rows=60) as (url, _):
        served = httpx.post(f"{url}/predict", json=[{"text": t} for t in frame["text"][:60]])
        drift = httpx.get(f"{url}/drift").json()
    answers = served.json()["predictions"]
    assert [a["prediction"] for a in answers] == [s.split("|") if s else [] for s in
                                                  predictor.predict(frame["text"][:60].tolist())["prediction"]]  # fmt: skip
    assert drift["status"] == "ok" and drift["window_rows"] == 60


def test_multilabel_refusals(tmp_path):
    multilabel_file(tmp_path / "m.csv")
    pd.DataFrame({"text": ["a b"] * 20, "label": ["x|y"] * 19 + ["x|z"]}).to_csv(
        tmp_path / "rare.csv", index=False
    )
    from kiln.data import TextDataModule

    with pytest.raises(KilnError, match="Label 'z' has 1 example"):
        TextDataModule(path=str(tmp_path / "rare.csv"), task="multilabel").setup("fit")
    with pytest.raises(KilnError, match="multilabel is supported for data=text and data=table"):
        kiln.api.run("train", ["data=wine", "data.task=multilabel", f"paths.root={tmp_path}"])
