"""The penguins drift experiment: a shifted numeric column and a new island are flagged by
kiln drift, from the checkpoint and from the exported artifact; clean rows flag nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import kiln.api
from kiln.data.schema import Schema
from kiln.errors import KilnError
from kiln.monitoring.features import Featurizer
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import PENGUINS, cli


def shifted(rows: pd.DataFrame) -> pd.DataFrame:
    """bill_length_mm moved by one std, and a third of the rows from an island never seen."""
    out = rows.copy()
    out["bill_length_mm"] += rows["bill_length_mm"].std()
    out.loc[out.index[::3], "island"] = "Atlantis"
    return out


@pytest.fixture(scope="module")
def batches(penguins_rows, tmp_path_factory):
    root = tmp_path_factory.mktemp("penguins_drift")
    paths = {"clean": root / "clean.csv", "shifted": root / "shifted.csv"}
    penguins_rows.to_csv(paths["clean"], index=False)
    shifted(penguins_rows).to_csv(paths["shifted"], index=False)
    return {"root": root, **paths}


def drift(batches, reference: str, path) -> dict:
    return kiln.api.run(
        "drift", [f"paths.root={batches['root']}", reference, f"input={path}", "max_plots=2"]
    )


def test_artifact_metadata_carries_the_checkpoint_profile(penguins_ckpt, penguins_artifact):
    profile = load_checkpoint(penguins_ckpt)["kiln"]["profile"]
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    assert meta["profile"] == json.loads(json.dumps(profile))
    assert {"island", "sex", "bill_length_mm"} <= set(meta["profile"]["features"])


@pytest.mark.parametrize("source", ["ckpt", "artifact"])
def test_shifted_column_and_new_category_are_flagged(
    source, penguins_ckpt, penguins_artifact, batches
):
    ref = f"ckpt_path={penguins_ckpt}" if source == "ckpt" else f"artifact={penguins_artifact}"
    report = drift(batches, ref, batches["shifted"])
    assert sorted(report["drifted_features"]) == ["bill_length_mm", "island"]
    assert report["features"]["island"]["method"] == "chi2"
    assert report["exit_code"] == 3 and report["predictions"] is not None
    clean = drift(batches, ref, batches["clean"])
    assert clean["drifted_features"] == [] and not clean["prediction_drift"]
    assert clean["exit_code"] == 0


def test_artifact_predictions_equal_the_checkpoints(penguins_ckpt, penguins_artifact, batches):
    from_ckpt = drift(batches, f"ckpt_path={penguins_ckpt}", batches["shifted"])["predictions"]
    from_art = drift(batches, f"artifact={penguins_artifact}", batches["shifted"])["predictions"]
    assert from_ckpt["statistic"] == pytest.approx(from_art["statistic"], abs=1e-9)
    assert from_ckpt["rows"] == from_art["rows"] == 344


def test_cli_exits_3_on_the_shifted_batch(penguins_artifact, batches, tmp_path):
    proc = cli(
        "drift", f"artifact={penguins_artifact}", f"input={batches['shifted']}", runs=tmp_path
    )
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "island" in proc.stdout and "bill_length_mm" in proc.stdout


def test_artifact_without_profile_gets_one_sentence(penguins_artifact, batches, tmp_path):
    import shutil

    from kiln.serving.artifact import METADATA, finalize

    copy = tmp_path / "noprofile"
    shutil.copytree(penguins_artifact, copy)
    meta = json.loads((copy / METADATA).read_text())
    meta["profile"] = None
    (copy / METADATA).unlink()
    finalize(copy, {k: v for k, v in meta.items() if k not in ("files", "content_hash")})
    with pytest.raises(KilnError, match="has no reference profile; export it again"):
        drift(batches, f"artifact={copy}", batches["clean"])


def test_table_featurizer_through_the_schema(penguins_artifact, penguins_rows):
    """Schema.encode then Featurizer: numeric columns as they were, categories by label."""
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    featurizer = Featurizer.from_dict(meta["profile"]["featurizer"])
    assert featurizer.kind == "schema" and set(featurizer.labels) == {"island", "sex"}
    rows = shifted(penguins_rows.head(30))
    num, cat = featurizer(Schema.from_dict(meta["inputs"]["schema"]).encode(rows))
    np.testing.assert_allclose(num["bill_length_mm"], rows["bill_length_mm"], rtol=1e-6)
    labels = featurizer.labels
    for col in ("island", "sex"):
        got = [labels[col][k] for k in cat[col]]
        want = [
            "<missing>" if v != v else (v if v in labels[col] else "<unknown>") for v in rows[col]
        ]
        assert got == want
    assert got.count("<missing>") == rows["sex"].isna().sum()


def test_drift_from_a_checkpoint_needs_no_training_data(batches, tmp_path, monkeypatch):
    """Trained on data.path=p.csv in one directory, checked from another where p.csv is not
    found: the model, its preprocessing and the profile all come from the checkpoint, and the
    report equals the one made where the training file is. (In-process, the working directory
    changed as a user's shell would: the same tasks the commands run.)"""
    home, elsewhere, runs = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "runs"
    home.mkdir(), elsewhere.mkdir()
    (home / "p.csv").write_bytes(PENGUINS.read_bytes())
    monkeypatch.chdir(home)
    trained = kiln.api.run(
        "train",
        [f"paths.root={runs}", "experiment=penguins_species", "data.path=p.csv", "logger=none",
         "trainer.max_epochs=1", "~callbacks.confusion_matrix", "print_config=false"],
    )  # fmt: skip
    ckpt = trained["best_checkpoint"]
    reports = []
    for where in (home, elsewhere):
        monkeypatch.chdir(where)
        report = kiln.api.run(
            "drift", [f"ckpt_path={ckpt}", f"input={batches['shifted']}", f"paths.root={where}"]
        )
        assert report["exit_code"] == 3 and "bill_length_mm" in report["features"]
        reports.append(report)
    assert reports[1]["predictions"] == reports[0]["predictions"]
    assert reports[1]["features"] == reports[0]["features"]
