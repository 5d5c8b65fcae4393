"""data.class_weight: weights computed on the training split (scikit-learn's 'balanced' is the
oracle) that weigh the loss exactly as written out by hand; bad settings get one sentence."""

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

import kiln.api
from kiln.errors import KilnError
from kiln.training.builders import build_datamodule, build_module
from tests.helpers import PENGUINS, cli

BASE = ["data=table", f"data.path={PENGUINS}", "model=mlp", "seed=3"]


def _built(*overrides: str):
    cfg = kiln.api.compose("train", [*BASE, *overrides])
    dm = build_datamodule(cfg.data)
    torch.manual_seed(0)  # the same initial weights whatever ran before in this process
    return dm, build_module(cfg, dm)


def _batch_loss(dm, module):
    x, c, y = dm.splits["train"]
    rows = torch.arange(0, len(y), 4)  # the file is sorted by species: rows of every class
    assert len(y[rows].unique()) == 3 if dm.spec.task == "multiclass" else 2
    with torch.no_grad():
        z = module.raw_output((x[rows], c[rows]))
        return z, y[rows], module.loss(z, y[rows])


def test_balanced_weights_are_sklearns_on_the_training_split_and_weigh_cross_entropy():
    dm, module = _built("data.target=species", "data.class_weight=balanced")
    y_train = dm.splits["train"][2].numpy()
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y_train)
    assert dm.spec.extra["class_weights"] == pytest.approx(expected.tolist(), rel=1e-12)
    all_rows = np.concatenate([dm.splits[k][2].numpy() for k in ("train", "val", "test")])
    assert not np.allclose(
        expected, compute_class_weight("balanced", classes=np.arange(3), y=all_rows)
    )
    z, y, loss = _batch_loss(dm, module)
    w = torch.tensor(expected, dtype=torch.float64)[y]
    nll = -(z.double().log_softmax(-1)).gather(1, y[:, None]).squeeze(1)
    assert float(loss) == pytest.approx(float((w * nll).sum() / w.sum()), rel=1e-5)
    assert float(loss) != pytest.approx(float(nll.mean()), rel=1e-3)  # the weights matter


def test_a_mapping_by_label_weighs_binary_cross_entropy():
    dm, module = _built("data.target=sex", "data.class_weight={male: 3.0}")
    assert dm.spec.class_names == ["female", "male"]
    assert dm.spec.extra["class_weights"] == [1.0, 3.0]  # unnamed labels keep 1
    z, y, loss = _batch_loss(dm, module)
    p = z.double().sigmoid()
    each = -(y * p.log() + (1 - y) * (1 - p).log())
    w = torch.where(y == 1, 3.0, 1.0).double()
    assert float(loss) == pytest.approx(float((w * each).sum() / w.sum()), rel=1e-5)
    assert float(loss) != pytest.approx(float(each.mean()), rel=1e-3)


def test_the_weights_ride_in_the_checkpoint(tmp_path):
    from tests.helpers import train

    result = train(
        tmp_path,
        *BASE,
        "data.target=species",
        "data.class_weight={Gentoo: 2}",
        "trainer.max_epochs=1",
    )
    ckpt = torch.load(result["best_checkpoint"], weights_only=True)
    assert ckpt["kiln"]["spec"]["extra"]["class_weights"] == [1.0, 1.0, 2.0]
    assert ckpt["kiln"]["config"]["data"]["class_weight"] == {"Gentoo": 2}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["data.target=species", "data.class_weight={Emperor: 2}"], "not a class of the target"),
        (["data.target=species", "data.class_weight={Adelie: -1}"], "at least 0"),
        (["data.target=body_mass_g", "data.class_weight=balanced"], "regression"),
        (["data.target=species", "data.class_weight=heavy"], "neither balanced nor a mapping"),
        (["data.target=species", "data.threshold=auto"], "binary"),
        (["data.target=sex", "data.threshold=1.5"], "strictly between 0 and 1"),
    ],
)
def test_bad_settings_are_one_sentence(overrides, words):
    with pytest.raises(KilnError, match=words) as err:
        _built(*overrides)
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_the_cli_refuses_an_unknown_label_with_exit_2(tmp_path):
    proc = cli(
        "train", *BASE, "data.target=species", "data.class_weight={Emperor: 2}", runs=tmp_path
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("kiln train: error:") and "'Emperor'" in line and "Adelie" in line
    assert "Traceback" not in proc.stderr
