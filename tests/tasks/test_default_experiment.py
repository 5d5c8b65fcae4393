"""The default experiment end to end through the CLI: golden accuracy, eval agreement, TensorBoard."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.helpers import cli


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    proc = cli("train", runs=runs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (runs / "train").iterdir()
    return run, proc


def test_default_experiment_reaches_golden_accuracy(default_run):
    run, proc = default_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test/acc"] >= 0.97
    assert metrics["val/acc_best"] >= 0.95
    assert "test/acc" in proc.stdout  # the final table is printed
    for name in (
        "config.yaml",
        ".hydra/config.yaml",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "confusion_matrix.png",
        "data_report.json",
    ):
        assert (run / name).is_file(), name
    report = json.loads((run / "data_report.json").read_text())
    assert report["rows"]["train"] + report["rows"]["val"] + report["rows"]["test"] == 1797


def test_eval_of_best_checkpoint_equals_training_test_metrics(default_run, tmp_path):
    run, _ = default_run
    proc = cli("eval", f"ckpt_path={run / 'checkpoints/best.ckpt'}", runs=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (eval_run,) = (tmp_path / "eval").iterdir()
    trained = json.loads((run / "metrics.json").read_text())
    evaluated = json.loads((eval_run / "metrics.json").read_text())
    for name in ("test/acc", "test/f1", "test/auroc", "test/loss"):
        assert evaluated[name] == pytest.approx(trained[name], abs=1e-6), name


def test_tensorboard_events_read_back(default_run):
    run, _ = default_run
    acc = EventAccumulator(
        str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0}
    )
    acc.Reload()
    tags = acc.Tags()
    for tag in (
        "train/loss",
        "train/lr",
        "train/acc",
        "val/acc",
        "val/f1",
        "val/auroc",
        "val/acc_best",
        "test/acc",
        "test/f1",
    ):
        assert tag in tags["scalars"], tag
    assert len(acc.Scalars("train/loss")) > 5 and len(acc.Scalars("val/acc")) >= 5
    assert "test/confusion_matrix" in tags["images"]
    # the HParams tab: a session-start summary with the run's hyper-parameters, and the metrics named
    content = acc.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in content and "_hparams_/experiment" in content
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["optimizer._target_"].string_value == "torch.optim.AdamW"
    assert start.hparams["optimizer.lr"].number_value == pytest.approx(3e-3)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]
    ).experiment
    assert {m.name.tag for m in experiment.metric_infos} >= {"test/acc", "val/acc_best"}
    final = acc.Scalars("test/acc")[-1].value
    assert final == pytest.approx(
        json.loads((run / "metrics.json").read_text())["test/acc"], abs=1e-6
    )


def test_plain_log_lines_when_not_a_terminal(default_run):
    run, proc = default_run
    assert "epoch 1/30" in proc.stdout and "val/acc" in proc.stdout
    assert "\r" not in proc.stdout  # no progress bar redraws in a pipe
    assert "epoch 1/30" in (run / "train.log").read_text()
