"""A user's code that breaks kiln's contracts is refused in one sentence naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

import kiln.api
from kiln.errors import KilnError

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
USERCONF = FIXTURES / "userconf"


@pytest.fixture(autouse=True)
def userpkg_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


def train(tmp_path, *overrides):
    args = [f"paths.root={tmp_path}", "print_config=false", "logger=none", "experiment=mine"]
    return kiln.api.run("train", [*args, "debug=fast", *overrides], config_dir=USERCONF)


@pytest.mark.parametrize(
    "override,sentence",
    [
        (
            "model._target_=userpkg.models.NeedsDepth",
            r"^model userpkg\.models\.NeedsDepth requires depth, which neither the data nor the "
            r"model config gives; set model\.depth=\.\.\. \(or give it a default in __init__\)\.$",
        ),
        (
            "model._target_=userpkg.models.WrongWidth",
            r"^model userpkg\.models\.WrongWidth returned shape \(2, 5\) on a probe batch of 2 "
            r"rows, and a binary task with 1 output\(s\) needs \(2, 1\); make forward return "
            r"\(batch, out_features\)\.$",
        ),
        (
            "model._target_=torch.nn.Identity",
            r"^model torch\.nn\.Identity returned shape \(2, 6\)",
        ),
        (
            "+metrics.acc._target_=userpkg.metrics.BalancedAccuracy",
            r"^metrics\.acc names a metric kiln already logs",
        ),
        (
            "+metrics.worse._target_=torch.nn.MSELoss",
            r"^metrics\.worse built a MSELoss, not a torchmetrics Metric",
        ),
        (
            "monitor.mode=min",
            r"^monitor\.metric=val/bal_acc improves as it gets larger but monitor\.mode=min; set monitor\.mode=max\.$",
        ),
        (
            "data.dataset.n=0",
            r"^data.dataset \(Blobs\) is empty; give it at least a few rows per split\.$",
        ),
    ],
)
def test_a_broken_extension_is_one_sentence(tmp_path, override, sentence):
    with pytest.raises(KilnError, match=sentence):
        train(tmp_path, override)


def test_a_model_without_in_shape_names_it():
    from kiln.data.spec import InputSpec
    from kiln.models import check_signature

    class NoShape:
        def __init__(self, out_features: int) -> None: ...

    spec = InputSpec(kind="tabular", shape=(3,), task="binary", num_outputs=1, dataset="d")
    with pytest.raises(
        KilnError, match=r"takes no in_shape, which kiln passes every model; add in_shape"
    ):
        check_signature(NoShape, spec, {})


def test_a_data_module_without_spec_names_it(tmp_path):
    with pytest.raises(
        KilnError, match=r"has no spec after setup\('fit'\).*set self\.spec = kiln\.data\.InputSpec"
    ):
        train(tmp_path, "data=mine_dm", "data._target_=lightning.pytorch.demos.boring_classes.BoringDataModule",
              "~data.n", "~data.batch_size")  # fmt: skip
