"""Sequence data: windows and chronological spans, the motif generator, token encoding."""

import numpy as np
import pandas as pd
import pytest
import torch

from kiln.compare.baselines import naive_forecast
from kiln.data import TimeSeriesDataModule, TokenDataModule
from kiln.data.motif import motif_dataset
from kiln.errors import KilnError


def _series_module(**kw):
    dm = TimeSeriesDataModule(
        path="data/sunspots.csv", column="SUNACTIVITY", time_column="YEAR", **kw
    )
    dm.setup("fit")
    return dm


def test_windows_are_chronological_and_normalised_on_the_training_span_only():
    dm = _series_module(window=10, horizon=3, season=11)
    s = pd.read_csv("data/sunspots.csv")["SUNACTIVITY"].to_numpy()
    lo_val, hi_val = dm.spans["val"]
    train_end = dm.spans["train"][1]
    assert dm.spans["train"][0] == 0 and dm.spans["test"][1] == len(s)
    x, y = dm.splits["val"]
    # each sample is a slice of the series; its targets all lie in the val span
    for i in (0, len(y) - 1):
        starts = [j for j in range(10, len(s) - 2) if np.allclose(s[j : j + 3], y[i].numpy())]
        t = starts[0]
        assert lo_val <= t and t + 3 <= hi_val
        np.testing.assert_allclose(x[i, :, 0].numpy(), s[t - 10 : t], rtol=1e-6)
    # the last training target comes before the first val target: no overlap, no shuffle
    assert len(dm.splits["train"][1]) == train_end - 10 - 3 + 1
    pre = dm.preprocessor
    assert pre.mean.item() == pytest.approx(s[:train_end].mean(), rel=1e-6)
    assert pre.std.item() == pytest.approx(s[:train_end].std(), rel=1e-5)
    assert dm.spec.task == "forecast" and dm.spec.num_outputs == 3 and dm.spec.kind == "sequence"


def test_naive_forecasts_match_numpy():
    dm = _series_module(window=12, horizon=2, season=11)
    x, y = dm.splits["test"]
    last = naive_forecast("last_value", dm, "test")
    np.testing.assert_allclose(last, np.repeat(x[:, -1:, 0].numpy(), 2, axis=1))
    seasonal = naive_forecast("seasonal_naive", dm, "test")
    # target step k (0-based) at time t+k is predicted by the value at t+k-11
    np.testing.assert_allclose(seasonal[:, 0], x[:, 12 - 11, 0].numpy())
    np.testing.assert_allclose(seasonal[:, 1], x[:, 12 - 10, 0].numpy())


def test_a_short_window_names_the_fix():
    with pytest.raises(KilnError, match="data.window"):
        _series_module(window=300, horizon=5)


def test_motif_labels_are_exactly_motif_presence_and_counts_carry_no_signal():
    seqs, y = motif_dataset(n=1000, min_len=30, max_len=50, motif="TATAAT", seed=3)
    has = np.array(["TATAAT" in s for s in seqs])
    np.testing.assert_array_equal(has, y.astype(bool))
    assert abs(y.mean() - 0.5) < 0.01
    assert all(30 <= len(s) <= 50 and set(s) <= set("ACGT") for s in seqs)
    freq = np.array([[s.count(b) / len(s) for b in "ACGT"] for s in seqs])
    # same base composition in both classes, within sampling noise
    diff = freq[y == 1].mean(0) - freq[y == 0].mean(0)
    assert np.abs(diff).max() < 0.01
    assert motif_dataset(n=50, seed=3)[0] == motif_dataset(n=50, seed=3)[0]


def test_token_module_pads_fits_vocabulary_on_train_and_counts(tmp_path):
    texts = ["good day", "bad", "so good", "very bad!", "good", "bad bad"] * 10
    labels = [1, 0, 1, 0, 1, 0] * 10
    texts[-1] = "zzz bad"  # z may only be seen outside the training split
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    dm = TokenDataModule(source="csv", path=str(tmp_path / "t.csv"), split_seed=0)
    dm.setup("fit")
    tokens, lengths, y = dm.splits["train"]
    vocab = dm.spec.extra["vocab"]
    assert dm.spec.kind == "tokens" and dm.spec.extra["inputs_per_batch"] == 2
    assert dm.spec.extra["vocab_size"] == len(vocab) + 2
    for row in range(len(y)):
        n = int(lengths[row])
        assert (tokens[row, n:] == 0).all() and (tokens[row, :n] >= 1).all()
    counts = TokenDataModule(source="csv", path=str(tmp_path / "t.csv"), features="counts")
    counts.setup("fit")
    assert counts.spec.kind == "tabular" and counts.spec.shape == (len(vocab) + 1,)
    raw = counts.preprocessor[0](counts.splits["train"][:2])
    torch.testing.assert_close(raw.sum(1), torch.ones(len(raw)))


def test_token_csv_with_class_names(tmp_path):
    """Labels such as spam/ham were taken for a regression target and refused."""
    texts = ["win money now", "see you at noon", "free prize", "lunch at one", "x"] * 12
    labels = ["spam", "ham", "spam", "ham", "other"] * 12
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    dm = TokenDataModule(source="csv", path=str(tmp_path / "t.csv"), split_seed=0)
    dm.setup("fit")
    assert dm.spec.task == "multiclass" and dm.spec.class_names == ["ham", "other", "spam"]
    two = tmp_path / "two.csv"
    pd.DataFrame({"text": texts[:40], "label": labels[:40]}).query("label != 'other'").to_csv(
        two, index=False
    )
    binary = TokenDataModule(source="csv", path=str(two), split_seed=0)
    binary.setup("fit")
    assert binary.spec.task == "binary" and binary.spec.class_names == ["ham", "spam"]
