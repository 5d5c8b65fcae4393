"""kiln predict: CSV/Parquet in chunks, the same rows out, never over an existing file."""

from __future__ import annotations

import pandas as pd
import pytest

import kiln
import kiln.api
from kiln.errors import KilnError


def predict(artifact, src, out, *extra):
    return kiln.api.run(
        "predict",
        [
            f"artifact={artifact}",
            f"input={src}",
            f"output={out}",
            f"paths.root={out.parent}",
            *extra,
        ],
    )


def test_chunks_and_formats_give_the_same_rows(penguins_artifact, penguins_rows, tmp_path):
    src = tmp_path / "in.parquet"
    penguins_rows.to_parquet(src)
    predict(penguins_artifact, src, tmp_path / "a.parquet", "chunk_rows=1000")
    predict(penguins_artifact, src, tmp_path / "b.csv", "chunk_rows=13")
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_csv(tmp_path / "b.csv")
    assert len(a) == len(penguins_rows) and a["prediction"].tolist() == b["prediction"].tolist()
    pd.testing.assert_frame_equal(a[penguins_rows.columns], penguins_rows, check_dtype=False)
    direct = kiln.load(penguins_artifact).predict(penguins_rows)
    pd.testing.assert_frame_equal(a[direct.columns], direct, check_dtype=False)


def test_never_overwrites_unless_told(penguins_artifact, penguins_rows, tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    penguins_rows.head(5).to_csv(src, index=False)
    out.write_text("mine\n")
    with pytest.raises(KilnError, match="already exists"):
        predict(penguins_artifact, src, out)
    assert out.read_text() == "mine\n"
    predict(penguins_artifact, src, out, "overwrite=true")
    assert len(pd.read_csv(out)) == 5
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_missing_column_is_named(penguins_artifact, penguins_rows, tmp_path):
    src = tmp_path / "in.csv"
    penguins_rows.drop(columns=["island"]).to_csv(src, index=False)
    with pytest.raises(KilnError, match="'island' is missing"):
        predict(penguins_artifact, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
