"""Test folds (kiln compare cv.test_folds): K disjoint test folds that cover every row once,
stratified, with preprocessing fitted on each fold's training rows; time series move forward."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

from kiln.data import SklearnDataModule, TimeSeriesDataModule, TokenDataModule
from kiln.data.table import TableDataModule
from kiln.errors import KilnError

K = 3


def rows(tensors) -> Counter:
    """Each row of a split (its input tensors side by side) as a hashable tuple, counted."""
    *inputs, _ = tensors
    flat = torch.cat([t.reshape(len(t), -1).double() for t in inputs], 1).nan_to_num(-999.0)
    return Counter(tuple(r) for r in flat.tolist())


def folds(make):
    out = []
    for fold in range(K):
        dm = make(test_folds=K, test_fold=fold)
        dm.setup("fit")
        out.append(dm)
    return out


MODULES = {
    "sklearn": lambda **kw: SklearnDataModule(name="wine", split_seed=5, **kw),
    "table": lambda **kw: TableDataModule(
        path="sklearn:wine", target="target", preprocess={}, split_seed=5, **kw
    ),
    "tokens": lambda **kw: TokenDataModule(alphabet="ACGT", motif={"n": 240}, split_seed=5, **kw),
}


@pytest.mark.parametrize("kind", list(MODULES))
def test_test_folds_partition_the_rows_and_keep_train_and_test_apart(kind):
    dms = folds(MODULES[kind])
    everything = sum((rows(dms[0].splits[s]) for s in ("train", "val", "test")), Counter())
    tested = sum((rows(dm.splits["test"]) for dm in dms), Counter())
    assert tested == everything  # every row tested exactly once over the folds
    y_all = torch.cat([dms[0].splits[s][-1] for s in ("train", "val", "test")]).numpy()
    overall = np.bincount(y_all) / len(y_all)
    for fold, dm in enumerate(dms):
        train, val, test = (rows(dm.splits[s]) for s in ("train", "val", "test"))
        assert not (train & test) and not (val & test) and not (train & val)
        assert train + val + test == everything
        y = dm.splits["test"][-1].numpy()
        assert np.abs(np.bincount(y, minlength=len(overall)) / len(y) - overall).max() < 0.02
        assert dm.report()["test_fold"] == {"folds": K, "fold": fold}


def test_each_folds_scaling_comes_from_its_own_training_rows():
    for dm in folds(MODULES["sklearn"]):
        x_train = dm.splits["train"][0].double()
        torch.testing.assert_close(dm.preprocessor.mean.double(), x_train.mean(0), rtol=1e-5, atol=1e-5)  # fmt: skip
    assert not torch.equal(*(dm.preprocessor.mean for dm in folds(MODULES["sklearn"])[:2]))


def test_time_series_folds_are_an_expanding_window():
    s = pd.read_csv("data/sunspots.csv")["SUNACTIVITY"].to_numpy()
    make = lambda **kw: TimeSeriesDataModule(  # noqa: E731
        path="data/sunspots.csv", column="SUNACTIVITY", time_column="YEAR", window=10, **kw
    )
    dms = folds(make)
    block = len(s) // (K + 1)  # scikit-learn's TimeSeriesSplit test size
    for fold, dm in enumerate(dms):
        sp = dm.spans
        assert sp["train"][0] == 0 and sp["train"][1] == sp["val"][0] < sp["val"][1]
        assert sp["val"][1] == sp["test"][0] == len(s) - (K - fold) * block
        assert sp["test"][1] - sp["test"][0] == block and len(dm.splits["test"][1]) == block
        assert dm.preprocessor.mean.item() == pytest.approx(s[: sp["train"][1]].mean(), rel=1e-6)
    starts = [dm.spans["test"][0] for dm in dms]
    assert starts == sorted(starts) and dms[-1].spans["test"][1] == len(s)
    targets = torch.cat([dm.splits["test"][1] for dm in dms]).flatten().numpy()
    np.testing.assert_allclose(targets, s[len(s) - K * block :], rtol=1e-6)  # each step once


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"test_fold": 1}, "needs data.test_folds"),
        ({"test_folds": 3, "test_fold": 3}, "0..2"),
        ({"test_folds": 1, "test_fold": 0}, "at least 2"),
    ],
)
def test_a_bad_fold_is_one_clear_sentence(kwargs, needle):
    with pytest.raises(KilnError, match=needle):
        SklearnDataModule(name="wine", **kwargs)


def test_test_path_and_test_folds_do_not_mix():
    with pytest.raises(KilnError, match="drop one"):
        MODULES["table"](test_path="x.csv", test_folds=3, test_fold=0)
