"""Tables end to end: penguins training and eval, file formats, given splits, CV, the report."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kiln.data.table import TableDataModule, register_dataframe
from tests.helpers import REPO, cli, run_dir, train

PENGUINS = REPO / "data" / "penguins.csv"


def test_penguins_species_trains_evaluates_and_reports(runs):
    result = train(runs, "experiment=penguins_species", "trainer.max_epochs=10")
    assert result["test/acc"] >= 0.95
    out = run_dir(result)
    report = json.loads((out / "data_report.json").read_text())
    raw = pd.read_csv(PENGUINS)
    assert report["missing_share"]["sex"] == pytest.approx(raw["sex"].isna().mean(), abs=1e-6)
    assert sum(report["rows"].values()) == len(raw)
    assert report["features"] == {"numeric": 5, "categorical": 2, "network_inputs": 12}
    assert sum(report["target"]["train"].values()) == report["rows"]["train"]
    ckpt = torch.load(out / "checkpoints/best.ckpt", weights_only=True)
    assert ckpt["kiln"]["schema"]["target"] == "species"
    events = EventAccumulator(str(next((out / "tensorboard").rglob("events.out.tfevents*")).parent))
    events.Reload()
    assert "data/report/text_summary" in events.Tags()["tensors"]
    evaluated = train(runs, f"ckpt_path={out / 'checkpoints/best.ckpt'}", command="eval")
    assert evaluated["test/acc"] == pytest.approx(result["test/acc"], abs=1e-6)
    assert evaluated["test/loss"] == pytest.approx(result["test/loss"], rel=1e-5)


@pytest.mark.slow
def test_penguins_mass_regression(runs):
    result = train(runs, "experiment=penguins_mass", "trainer.max_epochs=25")
    assert result["test/r2"] >= 0.75


def setup(**kwargs):
    dm = TableDataModule(**{"target": "species", "split_seed": 3, **kwargs})
    dm.setup("fit")
    return dm


def test_csv_parquet_and_dataframe_give_the_same_batches(tmp_path):
    raw = pd.read_csv(PENGUINS)
    raw.to_parquet(tmp_path / "p.parquet")
    sources = [str(PENGUINS), str(tmp_path / "p.parquet"), raw, register_dataframe("pg", raw)]
    dms = [setup(path=s) for s in sources]
    for dm in dms[1:]:
        for split in ("train", "val", "test"):
            for a, b in zip(dms[0].splits[split], dm.splits[split], strict=True):
                assert torch.equal(a.nan_to_num(-9), b.nan_to_num(-9))


def test_given_validation_and_test_files_and_missing_targets(tmp_path):
    raw = pd.read_csv(PENGUINS).sample(frac=1.0, random_state=0)
    raw.iloc[:5, 0] = None  # five rows without a species
    raw.iloc[:200].to_csv(tmp_path / "train.csv", index=False)
    raw.iloc[200:270].to_csv(tmp_path / "val.csv", index=False)
    raw.iloc[270:].to_csv(tmp_path / "test.csv", index=False)
    dm = setup(
        path=str(tmp_path / "train.csv"),
        val_path=str(tmp_path / "val.csv"),
        test_path=str(tmp_path / "test.csv"),
    )
    assert dm.report()["rows"] == {"train": 195, "val": 70, "test": 74}
    assert dm.report()["rows_dropped"]["missing_target"] == 5


def test_sklearn_tables_and_leakage_warning():
    dm = setup(path="sklearn:wine", target="target")
    assert dm.spec.task == "multiclass" and dm.spec.shape == (13,)
    raw = pd.read_csv(PENGUINS)
    raw["leak"] = raw["species"].str.upper()
    leaky = setup(path=raw)
    assert set(leaky.report()["leakage"]) == {"leak"}


def test_drop_row_strategies_only_touch_the_training_split():
    raw = pd.read_csv(PENGUINS)
    dm = setup(
        path=raw,
        preprocess={"numeric": {"impute": "drop_row"}, "categorical": {"impute": "drop_row"}},
    )
    x_num, x_cat, _ = dm.splits["train"]
    assert not torch.isnan(x_num).any() and not (x_cat == 1).any()
    dropped = dm.report()["rows_dropped"]["drop_row_train"]
    assert dropped > 0 and dm.report()["rows"]["train"] + dropped == len(
        setup(path=raw).splits["train"][2]
    )


def test_cross_validation_reports_mean_and_std(runs):
    result = train(
        runs, "experiment=penguins_species", "cv.folds=3", "trainer.max_epochs=1", "logger=none"
    )
    per_fold = result["per_fold"]
    assert len(per_fold) == 3
    acc = [r["test/acc"] for r in per_fold]
    assert result["metrics"]["test/acc"]["mean"] == pytest.approx(np.mean(acc))
    assert result["metrics"]["test/acc"]["std"] == pytest.approx(np.std(acc, ddof=1))
    out = run_dir(per_fold[0]).parent
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["metrics"]["val/f1_best"]["mean"] == pytest.approx(
        result["metrics"]["val/f1_best"]["mean"]
    )
    assert sorted(p.name for p in out.glob("fold_*")) == ["fold_0", "fold_1", "fold_2"]


def test_eval_and_export_of_a_moved_table(runs, tmp_path):
    """A checkpoint's data file that moved (or a relative path from another directory): one
    sentence naming +data.path=..., which then points eval and export at it (it used to end
    in a traceback)."""
    first = tmp_path / "first.csv"
    first.write_bytes(PENGUINS.read_bytes())
    result = train(runs, "experiment=penguins_species", f"data.path={first}", "debug=fast")
    best = run_dir(result) / "checkpoints" / "best.ckpt"
    moved = first.rename(tmp_path / "moved.csv")
    proc = cli("eval", f"ckpt_path={best}", runs=runs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert f"data.path={first} (from the checkpoint's config) is not found" in proc.stderr
    assert "+data.path=<path>" in proc.stderr
    typo = tmp_path / "moevd.csv"  # a path the user typed is theirs, not the checkpoint's
    proc = cli("eval", f"ckpt_path={best}", f"+data.path={typo}", runs=runs)
    assert f"error: data.path={typo} does not exist" in proc.stderr, proc.stderr[-2000:]
    proc = cli("eval", f"ckpt_path={best}", f"+data.path={tmp_path}", runs=runs)
    assert f"error: data.path={tmp_path} is not a file" in proc.stderr, proc.stderr[-2000:]
    evaluated = train(runs, f"ckpt_path={best}", f"+data.path={moved}", command="eval")
    assert evaluated["test/acc"] == pytest.approx(result["test/acc"], abs=1e-6)
    out = tmp_path / "artifact"
    train(runs, f"ckpt_path={best}", f"out={out}", f"+data.path={moved}", command="export")
    assert (out / "model.onnx").is_file()
