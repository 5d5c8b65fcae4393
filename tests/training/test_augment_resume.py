"""A run with augmentation stopped halfway and resumed ends with the uninterrupted run's
weights: each batch's draws come from (seed, optimizer step, micro-batch, rank)."""

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import run_dir, train


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c in range(3):
        (root / f"class{c}").mkdir()
        for i in range(16):
            a = rng.integers(0, 90, (20, 20, 3), dtype=np.uint8)
            a[..., c] += 140
            Image.fromarray(a).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.mark.slow
def test_resumed_augmented_run_equals_the_uninterrupted_one(runs, folder):
    common = [f"data.path={folder}", "data=images", "data.size=[16,16]", "data.batch_size=8",
              "augment=strong", "model=cnn", "model.channels=[4,8]", "model.hidden=8",
              "trainer.max_epochs=4", "~callbacks.early_stopping", "logger=none",
              "calibrate=false", "test=false", "seed=5"]  # fmt: skip
    straight = train(runs, *common)
    stopped = train(runs, *common, "+callbacks.stop._target_=kiln.training.callbacks.StopAfter",
                    "+callbacks.stop.epochs=2")  # fmt: skip
    assert stopped["epochs"] == 2
    resumed = train(runs, *common, f"ckpt_path={run_dir(stopped) / 'checkpoints' / 'last.ckpt'}")
    a = torch.load(run_dir(straight) / "checkpoints/last.ckpt", weights_only=True)
    b = torch.load(run_dir(resumed) / "checkpoints/last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 4 * 4  # 32 training images: 4 batches of 8
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    # and the augmentation did change training: a run without it ends elsewhere
    plain = train(runs, *common, "augment=none")
    c = torch.load(run_dir(plain) / "checkpoints/last.ckpt", weights_only=True)
    assert not torch.equal(
        a["state_dict"]["network.head.5.weight"], c["state_dict"]["network.head.5.weight"]
    )
