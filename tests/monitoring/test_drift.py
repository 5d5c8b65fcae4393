"""kiln drift and kiln retrain end to end on a small table (wine): profile in the checkpoint,
reports, exit codes, clear errors, and what retrain keeps or refits."""

import json

import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine

import kiln.api
from kiln.errors import KilnError
from kiln.training.checkpoints import load_checkpoint
from tests.helpers import cli, run_dir, train


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")
    runs = root / "runs"
    result = train(runs, "experiment=wine_mlp", "trainer.max_epochs=4", "logger=none")
    df = load_wine(as_frame=True).frame.drop(columns="target")
    shifted = df.copy()
    shifted["proline"] += df["proline"].std()  # one column moves by one std
    paths = {"clean": root / "clean.csv", "shifted": root / "shifted.parquet"}
    df.to_csv(paths["clean"], index=False)
    shifted.to_parquet(paths["shifted"])
    return {"runs": runs, "ckpt": str(run_dir(result) / "checkpoints/best.ckpt"), **paths}


def drift(wine, *overrides):
    return kiln.api.run(
        "drift", [f"paths.root={wine['runs']}", f"ckpt_path={wine['ckpt']}", *overrides]
    )


def test_checkpoint_carries_a_json_profile_of_inputs_and_predictions(wine):
    ckpt = load_checkpoint(wine["ckpt"])
    profile = json.loads(json.dumps(ckpt["kiln"]["profile"]))
    assert set(profile["features"]) == set(load_wine().feature_names)
    alcohol = profile["features"]["alcohol"]
    assert alcohol["n"] == profile["rows"] == 124  # the training split
    assert len(alcohol["values"]) == alcohol["n"]  # a small reference keeps raw values for KS
    pred = profile["predictions"]
    assert pred["type"] == "categorical" and sum(pred["counts"].values()) == 27  # the val split
    # in the file the long lists are tensors (fast to pickle), still loadable weights-only
    raw = torch.load(wine["ckpt"], weights_only=True)["kiln"]["profile"]["features"]["alcohol"]
    assert isinstance(raw["values"], torch.Tensor) and raw["values"].tolist() == alcohol["values"]


def test_shifted_column_is_flagged_and_reported(wine):
    report = drift(wine, f"input={wine['shifted']}")
    assert report["drifted_features"] == ["proline"] and report["exit_code"] == 3
    assert report["features"]["proline"]["method"] == "ks"
    out = max((wine["runs"] / "drift").iterdir())
    assert json.loads((out / "drift.json").read_text())["drifted_features"] == ["proline"]
    assert (out / "plots" / "proline.png").stat().st_size > 1000
    assert 'src="plots/proline.png"' in (out / "report.html").read_text()


def test_clean_table_is_not_flagged(wine):
    report = drift(wine, f"input={wine['clean']}")
    assert report["drifted_features"] == [] and report["exit_code"] == 0
    assert not report["prediction_drift"]


def test_bad_inputs_get_one_sentence(wine, tmp_path):
    other = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(other, index=False)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(load_wine().feature_names) + "\n")
    for path, needle in [
        (other, "lacks the column(s) alcohol"),
        (empty, "is empty"),
        (header_only, "has no rows"),
        (tmp_path / "nope.csv", "does not exist"),
    ]:
        with pytest.raises(KilnError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            drift(wine, f"input={path}")


def test_cli_exit_codes(wine, tmp_path):
    proc = cli("drift", f"ckpt_path={wine['ckpt']}", f"input={wine['shifted']}", runs=tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "proline" in proc.stdout and "DRIFT" in proc.stdout
    proc = cli("drift", f"ckpt_path={wine['ckpt']}", f"input={tmp_path / 'x.npy'}", runs=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "kiln drift: error: input file" in proc.stderr


def test_retrain_keeps_or_refits_preprocessing_and_profile(wine):
    old = load_checkpoint(wine["ckpt"])
    base = [f"paths.root={wine['runs']}", f"ckpt_path={wine['ckpt']}", "trainer.max_epochs=2",
            "logger=none", "+data.split_seed=7"]  # fmt: skip
    kept = kiln.api.run("retrain", base)
    assert set(kept["comparison"]) >= {"test/acc", "test/loss"}
    assert kept["comparison"]["test/acc"]["old"] == kept["old"]["test/acc"]
    new = load_checkpoint(kept["best_checkpoint"])
    key = "preprocessor.mean"
    assert torch.equal(new["state_dict"][key], old["state_dict"][key])
    assert new["kiln"]["profile"] == old["kiln"]["profile"]
    refit = kiln.api.run("retrain", [*base, "refit_preprocessing=true", "refit_profile=true"])
    new = load_checkpoint(refit["best_checkpoint"])
    assert not torch.equal(new["state_dict"][key], old["state_dict"][key])
    assert new["kiln"]["profile"]["features"] != old["kiln"]["profile"]["features"]


def test_retrain_replaces_the_optimizer_and_refuses_model_changes(wine, tmp_path):
    """optimizer=sgd is SGD with its own settings (AdamW's betas were merged into it and SGD
    failed); model.hidden=... was composed with + and then trained without a word."""
    base = [f"paths.root={tmp_path}", f"ckpt_path={wine['ckpt']}", "trainer.max_epochs=1",
            "logger=none", "test=false"]  # fmt: skip
    res = kiln.api.run("retrain", [*base, "optimizer=sgd", "optimizer.lr=0.01"])
    new = load_checkpoint(res["best_checkpoint"])["kiln"]["config"]
    assert new["optimizer"]["_target_"] == "torch.optim.SGD" and "betas" not in new["optimizer"]
    assert new["optimizer"]["lr"] == 0.01
    for override in ("model.hidden=[8]", "+model.hidden=[8]"):
        proc = cli("retrain", *base[1:], override, runs=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
        assert "kiln retrain: error: kiln retrain keeps the checkpoint's model" in proc.stderr


def test_non_finite_tables(wine, tmp_path):
    """NaN is a missing value in a table; a batch with nothing but NaN, or an infinity, is refused."""
    df = load_wine(as_frame=True).frame.drop(columns="target").head(10)
    empty = tmp_path / "all_nan.csv"
    df.where(df.isna()).to_csv(empty, index=False)
    inf = tmp_path / "inf.csv"
    df.assign(proline=[float("inf")] * 2 + [1.0] * 8).to_csv(inf, index=False)
    with pytest.raises(KilnError, match="all 10 rows are missing in every column"):
        drift(wine, f"input={empty}")
    with pytest.raises(KilnError, match="infinite values in 2 of its 10 rows"):
        drift(wine, f"input={inf}")
    some = tmp_path / "some_nan.csv"
    df.assign(proline=float("nan")).to_csv(some, index=False)
    report = drift(wine, f"input={some}")
    assert report["rows"] == 10  # missing cells stay allowed, but a column with none left is
    proline = report["features"]["proline"]  # a feature whose source broke: drifted
    assert proline["drifted"] and proline["method"] == "missing"
    assert "proline" in report["drifted_features"]
