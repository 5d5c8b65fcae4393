"""The seed's example: digits under other lighting. Drift flags the shifted set and not the
clean one; accuracy drops on the shifted set and recovers after kiln retrain on shifted data."""

import numpy as np
import pytest

import kiln.api
from kiln.monitoring.shift import write_deployed_sets
from tests.helpers import run_dir, train

LIGHT = ["data.brightness=0.25", "data.contrast=0.6"]


@pytest.mark.slow
def test_digits_lighting_shift_is_flagged_and_retrain_recovers(runs, tmp_path):
    result = train(runs, "trainer.max_epochs=8", "logger=none")
    ckpt = str(run_dir(result) / "checkpoints/best.ckpt")
    sets = write_deployed_sets(tmp_path, brightness=0.25, contrast=0.6, seed=42)
    reports = {
        name: kiln.api.run("drift", [f"paths.root={runs}", f"ckpt_path={ckpt}", f"input={path}"])
        for name, path in sets.items()
    }
    assert reports["clean"]["exit_code"] == 0 and not reports["clean"]["drift"]
    assert reports["shifted"]["exit_code"] == 3 and reports["shifted"]["dataset_drift"]
    assert reports["shifted"]["prediction_drift"]
    assert np.load(sets["shifted"])["x"].mean() > np.load(sets["clean"])["x"].mean()

    retrained = kiln.api.run(
        "retrain",
        [f"paths.root={runs}", f"ckpt_path={ckpt}", "trainer.max_epochs=5", "logger=none", *LIGHT],
    )
    acc = retrained["comparison"]["test/acc"]
    assert result["test/acc"] >= 0.95  # the clean model on clean data
    assert acc["old"] < result["test/acc"] - 0.3  # ... loses on shifted data
    assert acc["new"] >= 0.95  # and the retrained one recovers
