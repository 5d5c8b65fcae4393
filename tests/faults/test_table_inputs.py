"""Tables kiln cannot train on end in one sentence naming the problem and the fix (exit 2, no
traceback, no metrics written): too few rows to split, an infinite feature value, a regression
target beyond float32 (1e308)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kiln.data.table_split import split_table
from kiln.errors import KilnError
from tests.helpers import cli


def train_on(tmp_path, df: pd.DataFrame, *extra: str):
    df.to_csv(tmp_path / "t.csv", index=False)
    runs = tmp_path / "runs"
    out = cli("train", "data=table", f"data.path={tmp_path / 't.csv'}", "data.target=y",
              "model=mlp", "trainer.max_epochs=1", "logger=none", "print_config=false",
              f"paths.root={runs}", *extra)  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 2 and "Traceback" not in text, text[-3000:]
    assert not list(runs.rglob("metrics.json")) and not list(runs.rglob("*.ckpt"))
    line = next(ln for ln in out.stderr.splitlines() if ln.startswith("kiln train: error:"))
    assert line.count(". ") == 0 and line.endswith(".")  # one sentence
    return line


@pytest.mark.parametrize("n", [3, 4])
def test_a_table_of_a_few_rows_names_the_rows_it_needs(tmp_path, n):
    df = pd.DataFrame({"x": np.arange(n, dtype=float), "y": [0, 1] * (n // 2) + [0] * (n % 2)})
    line = train_on(tmp_path, df)
    assert f"has {n} rows" in line and "at least 2 rows" in line and "one per class" in line
    need = int(line.split("give it at least ")[1].split()[0])
    rows = split_table(need, np.array([0, 1] * need)[:need], 0, 0.15, 0.15)
    assert min(len(v) for v in rows.values()) >= 2  # the number it names is enough
    with pytest.raises(KilnError, match="too few to split"):
        split_table(need - 1, np.array([0, 1] * need)[: need - 1], 0, 0.15, 0.15)


def test_an_infinite_feature_value(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "z": rng.normal(size=60), "y": [0, 1] * 30})
    df.loc[::3, "z"] = np.inf
    line = train_on(tmp_path, df)
    assert "'z' holds an infinite value" in line and "leave the cell empty" in line


def test_a_regression_target_beyond_float32(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60)})
    df.loc[5, "y"] = 1e308
    line = train_on(
        tmp_path, df, "data.task=regression", "monitor.metric=val/rmse", "monitor.mode=min"
    )
    assert "target 'y' holds an infinite value" in line and "rescale the target" in line
