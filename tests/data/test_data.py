"""Data modules: seeded stratified splits, train-only statistics, task inference."""

import numpy as np
import pytest
import torch

from kiln.data import SklearnDataModule, infer_task
from kiln.errors import KilnError


def test_task_inference():
    assert infer_task(np.array([0, 1, 1, 0])) == "binary"
    assert infer_task(np.array([0, 1, 2, 2])) == "multiclass"
    assert infer_task(np.array([0.5, 1.2, 3.3])) == "regression"
    assert infer_task(np.arange(200)) == "regression"


@pytest.mark.parametrize(
    "name,task,kind",
    [
        ("digits", "multiclass", "tabular"),
        ("breast_cancer", "binary", "tabular"),
        ("diabetes", "regression", "tabular"),
    ],
)
def test_bundled_sets_and_specs(name, task, kind):
    dm = SklearnDataModule(name=name, split_seed=0)
    dm.setup()
    assert dm.spec.task == task and dm.spec.kind == kind
    rows = {k: len(v[1]) for k, v in dm.splits.items()}
    assert sum(rows.values()) == {"digits": 1797, "breast_cancer": 569, "diabetes": 442}[name]


def test_splits_are_seeded_disjoint_and_stratified():
    a, b, c = (SklearnDataModule(name="wine", split_seed=s) for s in (7, 7, 8))
    for dm in (a, b, c):
        dm.setup()
    assert torch.equal(a.splits["test"][0], b.splits["test"][0])
    assert not torch.equal(a.splits["test"][0], c.splits["test"][0])
    full = (
        np.bincount(np.concatenate([a.splits[s][1].numpy() for s in ("train", "val", "test")]))
        / 178
    )
    for split in ("train", "test"):
        share = np.bincount(a.splits[split][1].numpy(), minlength=3) / len(a.splits[split][1])
        assert np.abs(share - full).max() < 0.06
    rows = {tuple(r.tolist()) for s in ("train", "val", "test") for r in a.splits[s][0]}
    assert len(rows) == 178  # no row in two splits


def test_preprocessing_statistics_come_from_train_only():
    dm = SklearnDataModule(name="wine", split_seed=0)
    dm.setup()
    x_train = dm.splits["train"][0].double()
    torch.testing.assert_close(dm.preprocessor.mean.double(), x_train.mean(0), rtol=1e-5, atol=1e-5)
    everything = torch.cat([dm.splits[s][0] for s in ("train", "val", "test")]).double()
    assert not torch.allclose(dm.preprocessor.mean.double(), everything.mean(0), rtol=1e-4)


def test_images_are_channel_first():
    dm = SklearnDataModule(name="digits", as_image=True)
    dm.setup()
    assert dm.spec.kind == "image" and dm.spec.shape == (1, 8, 8) and dm.spec.num_outputs == 10


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"name": "iris9"}, "data.name"),
        ({"name": "wine", "as_image": True}, "as_image"),
        ({"val_fraction": 1.5}, "val_fraction"),
    ],
)
def test_bad_data_config_is_one_clear_sentence(kwargs, needle):
    with pytest.raises(KilnError, match=needle):
        SklearnDataModule(**kwargs)
