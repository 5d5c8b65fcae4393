"""The seed's example on the penguins table: a new site writes bill length in centimetres and
a third of its birds live on an island never seen. Drift flags it and not the clean rows; the
accuracy drops, and kiln retrain with refit_preprocessing=true recovers it. Keeping the old
preprocessing does not: its outlier fence clips every centimetre value to one number."""

import numpy as np
import pandas as pd
import pytest
import torch

import kiln.api
from kiln.data.schema import Schema
from kiln.data.table import TableDataModule
from kiln.errors import KilnError
from kiln.monitoring.shift import shift_table, write_deployed_tables
from tests.helpers import REPO, run_dir, train

PENGUINS = REPO / "data" / "penguins.csv"


def test_deployed_tables_hold_the_unseen_rows_and_the_same_test_split(tmp_path):
    sets = write_deployed_tables(tmp_path, seed=42)
    df = pd.read_csv(PENGUINS)
    clean, shifted = pd.read_csv(sets["clean"]), pd.read_csv(sets["shifted"])
    dm = TableDataModule(path=str(PENGUINS), target="species", split_seed=42)
    dm.setup("fit")
    unseen = np.sort(np.concatenate([dm.split_rows["val"], dm.split_rows["test"]]))
    pd.testing.assert_frame_equal(clean, df.iloc[unseen].reset_index(drop=True), check_dtype=False)
    np.testing.assert_allclose(shifted["bill_length_mm"], clean["bill_length_mm"] / 10)
    assert 0.25 < (shifted["island"] == "Atlantis").mean() < 0.4
    again = TableDataModule(path=str(sets["shifted_all"]), target="species", split_seed=42)
    again.setup("fit")  # retraining on it tests on the shifted copy of the model's test rows
    np.testing.assert_array_equal(again.split_rows["test"], dm.split_rows["test"])
    with pytest.raises(KilnError, match="Column 'beak' is not in the table"):
        shift_table(df, scale={"beak": 0.1})


def test_retrain_keeps_or_refits_the_vocabulary(runs, tmp_path):
    """Kept preprocessing keeps the schema (Atlantis is unknown, the fitted embeddings fit);
    refitted, the new island gets its own code. The old model is tested with its own."""
    result = train(runs, "experiment=penguins_species", "trainer.max_epochs=2", "logger=none")
    sets = write_deployed_tables(tmp_path, seed=42)
    base = [f"paths.root={runs}", f"ckpt_path={result['best_checkpoint']}",
            f"data.path={sets['shifted_all']}", "trainer.max_epochs=1", "logger=none"]  # fmt: skip
    islands = {}
    for refit in ("false", "true"):
        out = kiln.api.run("retrain", [*base, f"refit_preprocessing={refit}"])
        schema = torch.load(out["best_checkpoint"], weights_only=True)["kiln"]["schema"]
        islands[refit] = next(c["vocab"] for c in schema["columns"] if c["name"] == "island")
        assert out["comparison"]["test/acc"]["old"] is not None
    assert islands == {"false": ["Biscoe", "Dream", "Torgersen"],
                       "true": ["Atlantis", "Biscoe", "Dream", "Torgersen"]}  # fmt: skip


@pytest.mark.slow
def test_penguins_units_shift_is_flagged_and_refit_retrain_recovers(runs, tmp_path):
    result = train(runs, "experiment=penguins_species", "logger=none")
    ckpt = str(run_dir(result) / "checkpoints/best.ckpt")
    sets = write_deployed_tables(tmp_path, seed=42)
    reports = {
        name: kiln.api.run("drift", [f"paths.root={runs}", f"ckpt_path={ckpt}", f"input={path}"])
        for name, path in sets.items()
        if name != "shifted_all"
    }
    assert reports["clean"]["exit_code"] == 0 and not reports["clean"]["drift"]
    assert reports["shifted"]["exit_code"] == 3 and reports["shifted"]["prediction_drift"]
    assert sorted(reports["shifted"]["drifted_features"]) == ["bill_length_mm", "island"]

    base = [f"paths.root={runs}", f"ckpt_path={ckpt}", f"data.path={sets['shifted_all']}",
            "trainer.max_epochs=15", "logger=none"]  # fmt: skip
    kept = kiln.api.run("retrain", base)
    refit = kiln.api.run("retrain", [*base, "refit_preprocessing=true"])
    clean_acc = result["test/acc"]
    acc_kept, acc_refit = kept["comparison"]["test/acc"], refit["comparison"]["test/acc"]
    assert clean_acc >= 0.95  # the model on clean data
    assert acc_kept["old"] == acc_refit["old"] <= clean_acc - 0.25  # ... loses on shifted data
    assert acc_refit["new"] >= 0.95  # refitted preprocessing recovers
    assert acc_kept["new"] < acc_refit["new"]  # kept preprocessing does not, because:
    state = torch.load(kept["best_checkpoint"], weights_only=True)
    names = [f for f, _, _ in Schema.from_dict(state["kiln"]["schema"]).numeric_features]
    fence = float(
        state["state_dict"]["preprocessor.numeric.clip_lo"][names.index("bill_length_mm")]
    )
    assert pd.read_csv(sets["shifted_all"])["bill_length_mm"].max() < fence  # all clipped
