"""kiln train and kiln eval write report/ (report.html, evaluation.json, PNGs) and the same
figures and tables to TensorBoard, read back with TensorBoard's own EventAccumulator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import kiln.api
from kiln.errors import KilnError
from tests.helpers import PENGUINS, run_dir, train

CLASSIFIER_PNGS = {
    "confusion_matrix",
    "roc",
    "precision_recall",
    "reliability",
    "permutation_importance",
}


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = train(runs, "experiment=penguins_species", "trainer.max_epochs=3",
                   "eval.slice_by=[island,bill_length_mm]")  # fmt: skip
    return run_dir(result), result


def _events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_train_writes_the_report_of_its_test_split(penguins_run):
    run, metrics = penguins_run
    folder = run / "report"
    ev = json.loads((folder / "evaluation.json").read_text())
    assert {p.stem for p in folder.glob("*.png")} == CLASSIFIER_PNGS
    page = (folder / "report.html").read_text()
    for name in CLASSIFIER_PNGS:
        assert f"src='{name}.png'" in page
    c = ev["classification"]
    assert ev["rows"] == 52 and c["accuracy"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert ev["loss"] == pytest.approx(metrics["test/loss"], abs=1e-5)  # the same NLL
    counts = np.array(c["confusion_matrix"]["counts"])
    assert counts.sum() == 52
    # calibration: the temperature train fitted, with the probabilities before it
    assert c["calibration"]["temperature"] == pytest.approx(metrics["calibration/temperature"])
    assert {"ece", "brier", "nll", "reliability"} <= set(c["calibration"]["before"])
    assert set(ev["slices"]) == {"island", "bill_length_mm"}
    assert sum(s["rows"] for s in ev["slices"]["island"]) == 52
    assert len(ev["slices"]["bill_length_mm"]) == 4
    worst = ev["worst"]
    assert len(worst) == 10 and worst[0]["loss"] >= worst[-1]["loss"]
    assert {"island", "bill_length_mm", "sex", "target", "predicted"} <= set(worst[0])
    names = {g["name"] for g in ev["permutation_importance"]["groups"]}
    assert names == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                     "body_mass_g", "sex", "year"}  # fmt: skip
    assert len(ev["attributions"]) == 5 and ev["attributions"][0]["row"] == worst[0]["row"]


def test_per_class_scores_agree_with_sklearn_on_the_confusion_counts(penguins_run):
    run, _ = penguins_run
    c = json.loads((run / "report" / "evaluation.json").read_text())["classification"]
    counts = np.array(c["confusion_matrix"]["counts"])
    y = np.repeat(np.arange(3), counts.sum(1))
    pred = np.concatenate([np.repeat(np.arange(3), row) for row in counts])
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=range(3), zero_division=0)
    for k, row in enumerate(c["per_class"]):
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[k], r[k], f[k]))


def test_train_report_is_in_tensorboard(penguins_run):
    run, _ = penguins_run
    tags = _events(run / "tensorboard").Tags()
    assert {f"report/{n}" for n in CLASSIFIER_PNGS} <= set(tags["images"])
    for tag in ("summary", "worst_predictions", "slices_by_island",
                "attributions_of_the_worst_predictions_integrated_gradients"):  # fmt: skip
        assert f"report/{tag}/text_summary" in tags["tensors"], tag  # add_text: a string tensor
    acc = _events(run / "tensorboard")
    summary = acc.Tensors("report/summary/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| rows | loss | accuracy | ece |" in summary


def test_eval_writes_the_report_and_its_tensorboard(penguins_run, tmp_path):
    run, _ = penguins_run
    kiln.api.run("eval", [f"ckpt_path={run / 'checkpoints/best.ckpt'}", f"paths.root={tmp_path}",
                          f"+data.path={PENGUINS}", "eval.importance_rows=0"])  # fmt: skip
    (out,) = (tmp_path / "eval").iterdir()
    ev = json.loads((out / "report" / "evaluation.json").read_text())
    trained = json.loads((run / "report" / "evaluation.json").read_text())
    assert ev["classification"]["accuracy"] == trained["classification"]["accuracy"]
    assert "permutation_importance" not in ev and (out / "report" / "report.html").is_file()
    assert "report/reliability" in _events(out / "tensorboard").Tags()["images"]


def test_regression_report(tmp_path):
    result = train(tmp_path, "data=table", f"data.path={PENGUINS}", "data.target=body_mass_g",
                   "trainer.max_epochs=2", "logger=none", "eval.attributions=2")  # fmt: skip
    folder = run_dir(result) / "report"
    ev = json.loads((folder / "evaluation.json").read_text())
    assert {p.stem for p in folder.glob("*.png")} == {
        "predicted_vs_actual", "residuals_vs_predicted", "residual_histogram", "error_by_decile",
        "permutation_importance",
    }  # fmt: skip
    r = ev["regression"]
    assert r["residuals"]["rmse"] == pytest.approx(result["test/rmse"], rel=1e-4)
    assert r["residuals"]["mae"] == pytest.approx(result["test/mae"], rel=1e-4)
    assert sum(d["rows"] for d in r["error_by_decile"]) == ev["rows"]
    assert len(ev["attributions"]) == 2 and ev["attributions"][0]["explained"] == "prediction"


def test_images_report_shows_thumbnails_and_block_importance(tmp_path):
    result = train(tmp_path, "trainer.max_epochs=1", "logger=none", "eval.importance_rows=100",
                   "eval.importance_repeats=1")  # fmt: skip
    folder = run_dir(result) / "report"
    ev = json.loads((folder / "evaluation.json").read_text())
    assert (folder / "worst_inputs.png").is_file()
    assert len(ev["permutation_importance"]["groups"]) == 16
    assert "attributions" not in ev  # integrated gradients: tables only


def test_report_false_writes_none_and_a_bad_slice_is_one_sentence(tmp_path):
    result = train(tmp_path, "experiment=penguins_species", "trainer.max_epochs=1",
                   "logger=none", "report=false")  # fmt: skip
    assert not (run_dir(result) / "report").exists()
    with pytest.raises(KilnError, match=r"eval.slice_by names 'isle', not a column"):
        train(tmp_path, "experiment=penguins_species", "trainer.max_epochs=1", "logger=none",
              "eval.slice_by=[isle]")  # fmt: skip
    with pytest.raises(KilnError, match=r"eval.worst_kk is not an evaluation report setting"):
        train(tmp_path, "experiment=penguins_species", "+eval.worst_kk=3")


def test_token_report_shows_the_texts_and_position_importance(tmp_path):
    result = train(tmp_path, "experiment=dna_motif_lstm", "debug=fast", "logger=none",
                   "eval.importance_rows=64", "eval.importance_repeats=1")  # fmt: skip
    ev = json.loads((run_dir(result) / "report" / "evaluation.json").read_text())
    texts = [w["input"] for w in ev["worst"]]
    assert texts and all(t and set(t) <= set("ACGT") for t in texts)
    groups = [g["name"] for g in ev["permutation_importance"]["groups"]]
    assert len(groups) == 4 and all(g.startswith("positions ") for g in groups)


def test_worst_rows_of_data_text_read_as_words_through_the_stored_tokenizer():
    """data=text keeps a tokenizers JSON, not a vocabulary list: the report decodes with it."""
    import torch

    from kiln.data.spec import InputSpec
    from kiln.preprocessing.text_tokenizer import TextTokenizer
    from kiln.reporting.collect import token_texts

    texts = ["the cat sat on the mat", "a dog ran in the park", "the cat ran"] * 5
    tok = TextTokenizer.fit(texts, kind="wordpiece", vocab_size=60, max_len=12)
    enc = tok.encode(["the cat ran", "a dog sat"])
    spec = InputSpec("tokens", (12,), "binary", 1, "t", extra={"tokenizer": tok.to_dict()})
    assert token_texts(spec, torch.as_tensor(enc.ids)) == ["the cat ran", "a dog sat"]
