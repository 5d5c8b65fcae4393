"""kiln predict and kiln drift on CSV files pandas misreads without a word: a ';'-separated file
(the sentence names sep=..., and sep=';' reads it) and repeated column names (refused)."""

from __future__ import annotations

import pandas as pd

from tests.helpers import cli


def test_predict_and_drift_name_the_delimiter_and_sep_reads_it(
    penguins_artifact, penguins_rows, tmp_path
):
    src = tmp_path / "semi.csv"
    penguins_rows.head(30).to_csv(src, sep=";", index=False)
    out = tmp_path / "preds.csv"
    art = f"artifact={penguins_artifact}"
    refused = cli("predict", art, f"input={src}", f"output={out}", runs=tmp_path)
    drift_refused = cli("drift", art, f"input={src}", runs=tmp_path)
    for proc in (refused, drift_refused):
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2 and "Traceback" not in text, text[-2000:]
        assert "looks ';'-separated" in text and "\"sep=';'\"" in text, text[-2000:]
    assert not out.exists() and not list(tmp_path.glob(".preds.csv*"))
    done = cli("predict", art, f"input={src}", f"output={out}", "sep=';'", runs=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(pd.read_csv(out)) == 30
    drift = cli("drift", art, f"input={src}", "sep=';'", runs=tmp_path)
    assert drift.returncode in (0, 3), drift.stderr[-2000:]


def test_repeated_column_names_are_refused_by_predict_and_drift(
    penguins_artifact, penguins_rows, tmp_path
):
    rows = penguins_rows.head(30)
    src = tmp_path / "dup.csv"
    rows.assign(extra=rows["island"]).rename(columns={"extra": "island"}).to_csv(src, index=False)
    out = tmp_path / "preds.csv"
    art = f"artifact={penguins_artifact}"
    for proc in (
        cli("predict", art, f"input={src}", f"output={out}", runs=tmp_path),
        cli("drift", art, f"input={src}", runs=tmp_path),
    ):
        text = proc.stdout + proc.stderr
        assert proc.returncode == 2 and "Traceback" not in text, text[-2000:]
        assert "repeats the column name(s) island;" in text, text[-2000:]
    assert not out.exists()
