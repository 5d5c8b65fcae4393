"""Training threads follow the model's size unless the user chooses (issue 16, item 4)."""

from __future__ import annotations

import pytest
import torch

from kiln.training import threads
from tests.helpers import PENGUINS, train

TABLE = ["data=table", f"data.path={PENGUINS}", "data.target=species", "model=mlp"]
ONE_EPOCH = ["trainer.max_epochs=1", "test=false", "logger=[]"]


@pytest.fixture
def restore_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # an explicit env var would win
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_the_rule_gives_one_thread_below_the_bound_and_the_default_above(monkeypatch):
    monkeypatch.setattr(threads, "_DEFAULT", 8)
    assert threads.threads_for(100_000, 64) == 1
    assert threads.threads_for(100_000, 512) == 1  # 3e8 FLOPs per step
    assert threads.threads_for(1_500_000, 512) == 1  # 4.6e9: measured, one thread won
    assert threads.threads_for(5_000_000, 512) == 8  # 1.5e10 FLOPs per step


def test_a_small_table_model_trains_on_one_thread_by_default(tmp_path, restore_threads):
    train(tmp_path, *TABLE, *ONE_EPOCH)
    assert torch.get_num_threads() == 1


def test_an_explicit_thread_count_wins(tmp_path, restore_threads):
    train(tmp_path, *TABLE, *ONE_EPOCH, "threads=2")
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize(("side", "expected"), [(8, 1), (64, 2)])
def test_an_image_model_is_sized_by_its_convolutions_work_not_its_parameters(
    tmp_path, restore_threads, monkeypatch, side, expected
):
    """The same CNN (one parameter count) on 8x8 and 64x64 images: a convolution's work grows
    with the image's area, so the larger images get the default threads."""
    from tests.helpers.images import two_classes

    monkeypatch.setattr(threads, "_DEFAULT", 2)
    data = two_classes(tmp_path / "data", per_class=6, size=(side, side))
    train(tmp_path / "runs", "data=images", f"data.path={data}", f"data.size=[{side},{side}]",
          "model=cnn", "data.batch_size=64", "augment=none", *ONE_EPOCH)  # fmt: skip
    assert torch.get_num_threads() == expected
