"""The bad-input corpus: each file is answered with one sentence naming the problem and the fix."""

import pandas as pd
import pytest

from kiln.errors import KilnError
from tests.helpers import cli, train

GOOD = "a,b,c,y\n" + "".join(f"{i % 7},{i * 0.5},{'uv'[i % 2]},{i % 3}\n" for i in range(40))


def corpus(tmp):
    """name -> (path, target, a regex the one-sentence message must match)."""
    cases = {
        "missing file": ("", "y", r"missing_file\.csv does not exist"),
        "empty file": ("", "y", r"is empty"),
        "target absent": (GOOD, "price", r"data\.target='price' is not a column.*a, b, c, y"),
        "target all missing": (
            GOOD.replace(",0\n", ",\n").replace(",1\n", ",\n").replace(",2\n", ",\n"),
            "y",
            r"'y' is missing in every row",
        ),
        "single class": (
            "a,y\n" + "".join(f"{i},k\n" for i in range(30)),
            "y",
            r"single class \('k'\)",
        ),
        "text in numbers": (
            GOOD.replace("\n3,1.5,", "\n3,12kg,", 1) + "".join(f"1,{i}.5,u,1\n" for i in range(40)),
            "y",
            r"'b'.*numeric.*'12kg'",
        ),
        "all-NaN feature": (
            "a,e,y\n" + "".join(f"{i},,{i % 2}\n" for i in range(30)),
            "y",
            r"'e' has no values at all",
        ),
        "ragged rows": (GOOD + "1,2,u,0,9,9\n", "y", r"not a well-formed CSV.*Expected 4 fields"),
        "not parquet": (("fake.parquet", GOOD), "y", r"fake\.parquet could not be read as Parquet"),
    }
    out = {}
    for name, (content, target, pattern) in cases.items():
        fname, body = (
            content if isinstance(content, tuple) else (f"{name.replace(' ', '_')}.csv", content)
        )
        path = tmp / fname
        if name != "missing file":
            path.write_text(body)
        out[name] = (str(path), target, pattern)
    return out


@pytest.mark.parametrize(
    "case",
    ["missing file", "empty file", "target absent", "target all missing", "single class",
     "text in numbers", "all-NaN feature", "ragged rows", "not parquet"],
)  # fmt: skip
def test_bad_input_gets_one_clear_sentence(case, tmp_path, runs):
    path, target, pattern = corpus(tmp_path)[case]
    with pytest.raises(KilnError, match=pattern) as err:
        train(runs, "data=table", "model=mlp", f"data.path={path}", f"data.target={target}")
    message = str(err.value)
    assert message.count(". ") == 0 and message.endswith(".") and ";" in message  # problem; fix.


def test_regression_on_a_text_target_is_refused(tmp_path, runs):
    """data.task=regression on a column of names used to train a classifier without a word."""
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    with pytest.raises(KilnError, match=r"target column 'c' is not numeric.*'[uv]'") as err:
        train(runs, "data=table", "model=mlp", f"data.path={path}", "data.target=c",
              "data.task=regression", "debug=fast")  # fmt: skip
    message = str(err.value)
    assert message.count(". ") == 0 and "data.task=multiclass" in message


def test_wrong_columns_at_eval_time_are_named(tmp_path):
    from kiln.data.table import TableDataModule

    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    dm = TableDataModule(path=str(good), target="y")
    dm.setup("fit")
    pd.read_csv(good).drop(columns=["c"]).assign(z=1).to_csv(tmp_path / "later.csv", index=False)
    with pytest.raises(KilnError, match="lacks the column.*c"):
        TableDataModule(
            path=str(tmp_path / "later.csv"), target="y", schema=dm.spec.extra["schema"]
        ).setup()


def test_the_cli_prints_the_sentence_without_a_traceback(tmp_path, runs):
    path, target, _ = corpus(tmp_path)["text in numbers"]
    proc = cli(
        "train", "data=table", "model=mlp", f"data.path={path}", f"data.target={target}", runs=runs
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "'12kg'" in proc.stderr + proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "empty file",
        "target absent",
        "target all missing",
        "single class",
        "all-NaN feature",
        "ragged rows",
        "not parquet",
    ],
)
def test_every_case_exits_2_from_the_cli(case, tmp_path, runs):
    path, target, _ = corpus(tmp_path)[case]
    proc = cli(
        "train", "data=table", "model=mlp", f"data.path={path}", f"data.target={target}", runs=runs
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
