"""The numbers behind a classifier's plots, against a hand computation and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    auc,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_curve,
)
from torchmetrics.functional.classification import binary_calibration_error

from kiln.reporting import classification as cls


def test_reliability_bins_and_ece_by_hand():
    # 4 bins of width 0.25; bin k holds (k/4, (k+1)/4], 0 itself falls in bin 0
    prob = np.array([0.0, 0.1, 0.25, 0.3, 0.6, 0.7, 0.9, 1.0])
    outcome = np.array([0, 0, 1, 1, 0, 1, 1, 1])
    rel = cls.reliability(prob, outcome, bins=4)
    assert rel["count"] == [3, 1, 2, 2]
    assert rel["confidence"] == pytest.approx([0.35 / 3, 0.3, 0.65, 0.95])
    assert rel["frequency"] == pytest.approx([1 / 3, 1.0, 0.5, 1.0])
    gaps = [abs(1 / 3 - 0.35 / 3), 0.7, 0.15, 0.05]
    assert rel["ece"] == pytest.approx(
        sum(n * g for n, g in zip([3, 1, 2, 2], gaps, strict=True)) / 8
    )


def test_reliability_leaves_empty_bins_missing():
    rel = cls.reliability(np.array([0.95, 0.97]), np.array([1, 0]), bins=10)
    assert rel["count"][-1] == 2 and sum(rel["count"]) == 2
    assert rel["confidence"][0] is None and rel["frequency"][0] is None
    assert rel["ece"] == pytest.approx(abs(0.96 - 0.5))


def test_binary_ece_equals_torchmetrics():
    import torch

    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y = (rng.random(2000) < p**2).astype(int)
    ours = cls.reliability(*cls.calibration_inputs(p, y), bins=15)["ece"]
    theirs = float(binary_calibration_error(torch.tensor(p), torch.tensor(y), n_bins=15))
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_brier_against_sklearn_and_by_hand():
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = rng.integers(0, 2, 500)
    assert cls.brier(p, y) == pytest.approx(brier_score_loss(y, p))
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    hand = ((0.7 - 1) ** 2 + 0.2**2 + 0.1**2 + 0.1**2 + (0.1 - 1) ** 2 + 0.8**2) / 2
    assert cls.brier(probs, np.array([0, 1])) == pytest.approx(hand)


def _on_curve(xs, ys, ref_x, ref_y):
    ref = set(zip(np.round(ref_x, 12), np.round(ref_y, 12), strict=True))
    return all((round(x, 12), round(y, 12)) in ref for x, y in zip(xs, ys, strict=True))


@pytest.mark.parametrize("rows", [300, 5000])
def test_curves_lie_on_sklearns_curves(rows):
    rng = np.random.default_rng(rows)
    logits = rng.normal(size=(rows, 3)) + np.eye(3)[rng.integers(0, 3, rows)]
    y = np.argmax(logits + rng.normal(scale=1.5, size=logits.shape), 1)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    found = cls.curves(probs, y, ["a", "b", "c"])
    for k, name in enumerate("abc"):
        fpr, tpr, _ = roc_curve(y == k, probs[:, k])
        prec, rec, _ = precision_recall_curve(y == k, probs[:, k])
        c = found[name]
        assert len(c["roc"]["fpr"]) <= cls.CURVE_POINTS
        assert _on_curve(c["roc"]["fpr"], c["roc"]["tpr"], fpr, tpr)
        assert _on_curve(c["pr"]["recall"], c["pr"]["precision"], rec, prec)
        assert (c["roc"]["fpr"][0], c["roc"]["tpr"][-1]) == (0.0, 1.0)  # both ends kept
        assert c["roc"]["auc"] == pytest.approx(auc(fpr, tpr))
        ap = average_precision_score(y == k, probs[:, k])
        assert c["pr"]["average_precision"] == pytest.approx(ap)


def test_binary_curves_are_the_positive_class_and_absent_classes_have_none():
    p = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0, 0, 1, 1])
    found = cls.curves(p, y, ["no", "yes"])
    assert list(found) == ["yes"]
    fpr, tpr, _ = roc_curve(y, p)
    assert found["yes"]["roc"]["fpr"] == pytest.approx(fpr.tolist())
    assert cls.curves(np.eye(3)[[0, 0, 1]], np.array([0, 0, 1]), ["a", "b", "c"]).keys() == {
        "a",
        "b",
    }


def test_per_class_against_sklearn_missing_where_undefined():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 400)
    pred = np.where(rng.random(400) < 0.6, y, rng.integers(0, 3, 400))
    pred[pred == 3] = 0  # class 3 never predicted: its precision is undefined
    rows = cls.per_class(cls.confusion(pred, y, 4), list("abcd"))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=np.nan)
    for k, row in enumerate(rows):
        for name, ref in (("precision", p[k]), ("recall", r[k]), ("f1", f[k])):
            assert (row[name] is None) if np.isnan(ref) else row[name] == pytest.approx(ref)
        assert row["support"] == s[k]
    assert rows[3]["precision"] is None and rows[3]["recall"] == 0.0 == rows[3]["f1"]


def test_threshold_sweep_against_sklearn_at_each_cut():
    rng = np.random.default_rng(4)
    p = np.round(rng.random(1000), 2)  # ties at the cuts themselves: p > t, not >=
    y = (rng.random(1000) < p).astype(int)
    rows = cls.threshold_sweep(p, y)
    assert [r["threshold"] for r in rows] == pytest.approx(np.arange(1, 20) / 20)
    for r in rows:
        pred = (p > r["threshold"]).astype(int)
        assert r["precision"] == pytest.approx(precision_score(y, pred))
        assert r["recall"] == pytest.approx(recall_score(y, pred))
        assert r["f1"] == pytest.approx(f1_score(y, pred))
        assert r["accuracy"] == pytest.approx((pred == y).mean())
        assert r["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
        assert r["positive_rate"] == pytest.approx(pred.mean())


def test_threshold_sweep_precision_missing_when_nothing_is_predicted_positive():
    rows = cls.threshold_sweep(np.array([0.1, 0.2]), np.array([0, 1]))
    assert rows[-1]["precision"] is None and rows[-1]["recall"] == 0.0


def test_multiclass_ece_equals_torchmetrics_top_label():
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    rng = np.random.default_rng(5)
    z = rng.normal(scale=2, size=(3000, 4))
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = rng.integers(0, 4, 3000)
    ours = cls.reliability(*cls.calibration_inputs(probs, y), bins=15)["ece"]
    theirs = multiclass_calibration_error(torch.tensor(probs), torch.tensor(y), 4, n_bins=15)
    assert ours == pytest.approx(float(theirs), abs=1e-6)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_probabilities_before_calibration_are_the_logits_own(task):
    from kiln.reporting.sections import uncalibrated

    rng = np.random.default_rng(6)
    z, t = rng.normal(scale=3, size=(50, 3)), 0.4
    if task == "binary":
        z = z[:, 0]
        raw, scaled = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(-z / t))
    else:
        raw = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        scaled = np.exp(z / t) / np.exp(z / t).sum(1, keepdims=True)
    np.testing.assert_allclose(uncalibrated(scaled, t, task), raw, atol=1e-9)


def test_multilabel_row_loss_is_sklearns_log_loss_per_row_and_slices_use_every_label():
    """A multi-label row's loss is the mean binary cross-entropy over its labels (training's
    loss), and a slice's accuracy needs every label right (sklearn's subset accuracy)."""
    from sklearn.metrics import accuracy_score, log_loss

    from kiln.reporting.collect import row_loss
    from kiln.reporting.slices import slice_metrics

    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, (30, 3))
    y = (rng.uniform(size=(30, 3)) < 0.5).astype(np.int64)
    got = row_loss(p, y, "multilabel")
    for i in range(30):
        want = log_loss(y[i], p[i], labels=[0, 1])  # the row's labels as 3 binary samples
        assert got[i] == pytest.approx(want, rel=1e-9)
    groups = np.array(["a"] * 12 + ["b"] * 18)
    rows = {r["slice"]: r for r in slice_metrics(groups, got, p, y, "multilabel")}
    for name, m in (("a", groups == "a"), ("b", groups == "b")):
        assert rows[name]["accuracy"] == pytest.approx(accuracy_score(y[m], p[m] > 0.5))
