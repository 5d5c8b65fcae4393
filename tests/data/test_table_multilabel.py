"""data=table data.task=multilabel: ``a|b`` label cells, per-label metrics that equal
scikit-learn's on the same predictions, and the ONNX artifact's answers (kiln.load, kiln
predict, a real server) as label sets that match the checkpoint."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.metrics import accuracy_score, f1_score

import kiln
import kiln.api
from kiln.data.schema import Schema
from kiln.errors import KilnError
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import run_dir, train
from tests.helpers.server import live_server, to_records

LABELS = ["hot", "loud", "red"]


def tagged_table(path, n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Each row's tags follow its columns: ``hot`` when x1 > 0, ``loud`` when x2 > 0.3, ``red``
    when its colour is; a row may have none (an empty cell)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
         "color": rng.choice(["red", "green", "blue"], n)}
    )  # fmt: skip
    tags = [
        "|".join(t for t, on in zip(LABELS, (a > 0, b > 0.3, c == "red"), strict=True) if on)
        for a, b, c in zip(frame.x1, frame.x2, frame.color, strict=True)
    ]
    frame["tags"] = tags
    frame.to_csv(path, index=False)
    return frame


def base(path) -> list[str]:
    return ["data=table", f"data.path={path}", "data.target=tags", "data.task=multilabel",
            "model=mlp", "seed=0"]  # fmt: skip


def checkpoint_outputs(ckpt_path: str, split: str):
    """The checkpoint's probabilities [N, labels] and 0/1 labels on ``split``, as training split it."""
    ckpt = load_checkpoint(ckpt_path)
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    dm = build_datamodule(cfg.data)
    dm.setup("test")
    module = build_module(cfg, dm)
    module.load_state_dict(ckpt["state_dict"])
    module.eval()
    *x, y = dm.splits[split]
    with torch.no_grad():
        return module.predict_step((*x, y), 0).numpy(), y.numpy(), dm


def test_multilabel_table_trains_exports_predicts_and_serves(tmp_path):
    frame = tagged_table(tmp_path / "t.csv")
    result = train(tmp_path, *base(tmp_path / "t.csv"), "trainer.max_epochs=15")
    proba, y, dm = checkpoint_outputs(result["best_checkpoint"], "test")
    assert y.shape == (len(dm.split_rows["test"]), 3) and dm.spec.class_names == LABELS
    pred = (proba > 0.5).astype(int)
    for k, value in enumerate(f1_score(y, pred, average=None, zero_division=0)):
        assert result[f"test/f1_{k}"] == pytest.approx(value, abs=1e-4)
    assert result["test/f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-4)
    assert result["test/f1_micro"] == pytest.approx(f1_score(y, pred, average="micro"), abs=1e-4)
    assert result["test/acc"] == pytest.approx(accuracy_score(y.ravel(), pred.ravel()), abs=1e-4)
    assert result["test/f1"] > 0.8  # the tags follow the columns
    report = json.loads((run_dir(result) / "data_report.json").read_text())
    assert report["target"]["train"] == dict(zip(LABELS, y_train_counts(dm), strict=True))
    evaluation = json.loads((run_dir(result) / "report" / "evaluation.json").read_text())
    assert {a["explained"] for a in evaluation["attributions"]} <= {f"P({t})" for t in LABELS}
    worst = evaluation["worst"][0]  # the worst test row's label sets, as kiln predict writes them
    k = evaluation["worst_rows"][0]
    assert worst["target"] == "|".join(t for t, on in zip(LABELS, y[k], strict=True) if on)
    assert worst["predicted"] == "|".join(t for t, on in zip(LABELS, pred[k], strict=True) if on)

    out = tmp_path / "art"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}",
                            f"paths.root={tmp_path}"])  # fmt: skip
    predictor = kiln.load(out)
    assert predictor.labels == LABELS and predictor.task == "multilabel"
    rows = frame.iloc[dm.split_rows["test"]].drop(columns="tags")
    got = predictor.predict(rows)
    onnx_proba = got[[f"proba_{t}" for t in LABELS]].to_numpy()
    assert np.abs(onnx_proba - proba).max() <= 1e-4  # the ONNX artifact is the checkpoint
    sets = ["|".join(t for t, on in zip(LABELS, r, strict=True) if on) for r in proba > 0.5]
    assert got["prediction"].tolist() == sets

    rows.to_csv(tmp_path / "rows.csv", index=False)
    kiln.api.run("predict", [f"artifact={out}", f"input={tmp_path / 'rows.csv'}",
                             f"output={tmp_path / 'pred.csv'}", f"paths.root={tmp_path}"])  # fmt: skip
    written = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert written["prediction"].tolist() == sets
    assert np.abs(written[[f"proba_{t}" for t in LABELS]].to_numpy() - proba).max() <= 1e-4

    with live_server(out) as (url, _):
        served = httpx.post(f"{url}/predict", json=to_records(rows.iloc[:20])).json()
    assert [a["prediction"] for a in served["predictions"]] == [
        s.split("|") if s else [] for s in sets[:20]
    ]
    assert set(served["predictions"][0]["probabilities"]) == set(LABELS)


def y_train_counts(dm) -> list[int]:
    return dm.splits["train"][2].sum(0).tolist()


def test_multilabel_table_refusals_are_one_sentence(tmp_path):
    frame = tagged_table(tmp_path / "t.csv", n=60)
    cases = {
        "data.class_weight=balanced": "data.class_weight weighs the classes",
        "data.threshold=0.3": "data.threshold cuts a binary target",
        "calibrate=true": "calibrate=true fits a temperature",
    }
    for override, message in cases.items():
        with pytest.raises(KilnError, match=message):
            train(tmp_path, *base(tmp_path / "t.csv"), override, "trainer.max_epochs=1")
    frame.assign(tags=np.nan).to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(KilnError, match="'tags' is missing in every row"):
        train(tmp_path, *base(tmp_path / "empty.csv"))
    frame.assign(tags=["hot|rare" if i == 0 else "hot|loud" for i in range(60)]).to_csv(
        tmp_path / "rare.csv", index=False
    )
    with pytest.raises(KilnError, match="Label 'rare' has 1 example"):
        train(tmp_path, *base(tmp_path / "rare.csv"))
    frame.assign(tags="hot").to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(KilnError, match="data.target='tags' holds 1 label"):
        train(tmp_path, *base(tmp_path / "one.csv"))


def test_a_label_the_model_never_saw_is_named():
    schema = Schema(target="tags", task="multilabel", columns=[], classes=["a", "b"],
                    label_separator=";")  # fmt: skip
    got = schema.encode_target(pd.Series(["a;b", None, " b "]))
    assert got.tolist() == [[1, 1], [0, 0], [0, 1]]
    with pytest.raises(KilnError, match="holds the label 'c' the model was not trained on"):
        schema.encode_target(pd.Series(["a;c"]))
