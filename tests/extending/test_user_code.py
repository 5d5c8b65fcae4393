"""The worked example of docs/extending.md, outside the package: tests/fixtures/userpkg (a model,
a Dataset, a LightningDataModule, a callback, a loss, a metric) and tests/fixtures/userconf used
through --config-dir. Each trains, evaluates, resumes and exports to ONNX."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

import kiln.api
from kiln.errors import KilnError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
USERCONF = FIXTURES / "userconf"
QUICK = ["print_config=false", "logger=none", "trainer.max_epochs=2"]


@pytest.fixture(scope="module")
def userpkg_importable():
    """tests/fixtures on sys.path, as PYTHONPATH=tests/fixtures puts it for the CLI."""
    sys.path.insert(0, str(FIXTURES))
    yield
    sys.path.remove(str(FIXTURES))
    for name in [m for m in sys.modules if m == "userpkg" or m.startswith("userpkg.")]:
        del sys.modules[name]


def run(command: str, root: Path, *overrides: str, config_dir=USERCONF):
    return kiln.api.run(command, [f"paths.root={root}", *overrides], config_dir=config_dir)


@pytest.fixture(scope="module")
def trained(userpkg_importable, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    result = run("train", root, "experiment=mine", *QUICK)
    return root, result, Path(result["best_checkpoint"]).parents[1]


def test_trains_with_the_users_callback_loss_and_metric(trained):
    _, result, run_dir = trained
    assert json.loads((run_dir / "epoch_log.json").read_text()) == [0, 1]  # the callback ran
    assert {"val/bal_acc_best", "test/bal_acc", "test/loss"} <= set(result)  # monitored: _best
    assert (
        json.loads((run_dir / "metrics.json").read_text())["test/bal_acc"] == result["test/bal_acc"]
    )


def test_evaluates_and_exports_and_the_artifact_agrees_with_the_users_loss_and_metric(trained):
    """Oracle: the focal loss and sklearn's balanced accuracy, computed from the ONNX artifact's
    probabilities on the test split, equal what kiln eval logged with the user's loss and metric."""
    from kiln.serving.predictor import Predictor
    from kiln.training.builders import build_datamodule

    root, result, run_dir = trained
    metrics = run("eval", root, f"ckpt_path={result['best_checkpoint']}")
    assert metrics["test/bal_acc"] == pytest.approx(result["test/bal_acc"])
    out = root / "artifact"
    exported = run("export", root, f"ckpt_path={result['best_checkpoint']}", f"out={out}")
    assert exported["max_diff"] < 1e-4  # kiln's own parity check ran on the test split
    cfg = kiln.api.compose("train", ["experiment=mine"], config_dir=USERCONF)
    x, y = build_datamodule(cfg.data).splits["test"]
    p = Predictor(out, trust_targets=["userpkg.*"]).run([x.numpy()]).astype(np.float64)
    y = y.numpy()
    p_true = np.where(y == 1, p, 1 - p)
    focal = np.mean(-((1 - p_true) ** 2.0) * np.log(p_true))
    assert metrics["test/loss"] == pytest.approx(focal, rel=1e-4)
    assert metrics["test/bal_acc"] == pytest.approx(balanced_accuracy_score(y, p > 0.5), abs=1e-6)


def test_resumes_from_last_ckpt(trained):
    root, result, run_dir = trained
    resumed = run(
        "train", root, "experiment=mine", *QUICK[:2], "trainer.max_epochs=3",
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
    )  # fmt: skip
    new_dir = Path(resumed["best_checkpoint"]).parents[1]
    assert resumed["epochs"] == 3 and new_dir != run_dir
    assert json.loads((new_dir / "epoch_log.json").read_text()) == [2]  # only the third epoch


def test_a_checkpoint_with_user_targets_is_refused_without_its_config_dir(trained):
    root, result, _ = trained
    with pytest.raises(KilnError, match=r"asks to build userpkg\..* pass trust_targets=\["):
        run("eval", root, f"ckpt_path={result['best_checkpoint']}", config_dir=None)


def test_a_users_lightning_datamodule_trains_evaluates_and_exports(userpkg_importable, tmp_path):
    result = run("train", tmp_path, "experiment=mine", "data=mine_dm", *QUICK)
    best = result["best_checkpoint"]
    assert run("eval", tmp_path, f"ckpt_path={best}")["test/bal_acc"] == pytest.approx(
        result["test/bal_acc"]
    )
    assert run("export", tmp_path, f"ckpt_path={best}", f"out={tmp_path / 'a'}")["rows"] == 36


def test_the_worked_example_through_the_cli(tmp_path):
    """As a user types it: kiln train --config-dir ... experiment=mine, then kiln export."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(FIXTURES)])}
    env.pop("KILN_DEBUG", None)

    def kiln_cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "kiln", *args, "--config-dir", str(USERCONF)],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
        )  # fmt: skip

    done = kiln_cli("train", "experiment=mine", f"paths.root={tmp_path}", *QUICK)
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = next(tmp_path.glob("train/*/checkpoints/best.ckpt"))
    assert json.loads((ckpt.parents[1] / "metrics.json").read_text())["test/bal_acc"] > 0.5
    done = kiln_cli(
        "export", f"ckpt_path={ckpt}", f"out={tmp_path / 'artifact'}", f"paths.root={tmp_path}"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "artifact" / "model.onnx").is_file()
