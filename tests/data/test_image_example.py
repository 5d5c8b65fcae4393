"""The shipped example: scripts/make_image_folder.py writes real PNGs of scikit-learn's digits
(never over an existing folder), and experiment=digits_folder_cnn trains on them."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from tests.helpers import REPO, train


@pytest.mark.slow
def test_script_writes_the_digits_and_the_experiment_trains(tmp_path):
    dest = tmp_path / "digits_folder"
    script = [
        sys.executable,
        str(REPO / "scripts" / "make_image_folder.py"),
        str(dest),
        "--limit",
        "500",
    ]
    done = subprocess.run(script, capture_output=True, text=True, check=True)
    assert "500 images of 32x32 pixels" in done.stdout
    files = sorted(dest.rglob("*.png"))
    assert len(files) == 500 and sorted(p.name for p in dest.iterdir()) == [
        str(d) for d in range(10)
    ]
    first = np.asarray(Image.open(dest / "0" / "0000.png"))
    assert first.shape == (32, 32) and first.dtype == np.uint8
    small = np.asarray(Image.fromarray(first).resize((8, 8), Image.Resampling.BOX), dtype=float)
    digit = load_digits().images[0] / 16 * 255
    assert np.corrcoef(small.ravel(), digit.ravel())[0, 1] > 0.9  # the same digit, upscaled
    again = subprocess.run(script, capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert len(sorted(dest.rglob("*.png"))) == 500
    result = train(tmp_path / "runs", "experiment=digits_folder_cnn", f"data.path={dest}",
                   "trainer.max_epochs=8", "logger=none", "~callbacks.confusion_matrix")  # fmt: skip
    assert result["test/acc"] > 0.4  # 10 classes: chance is 0.1
