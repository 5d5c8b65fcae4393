"""Table files that pandas reads without a word but wrongly: split on the wrong delimiter, with
a repeated column name, or with text in a third of a numeric column. Each is one sentence
naming the problem and the fix (exit 2 from the CLI), and the fix it names works."""

from __future__ import annotations

import pytest

from kiln.data.table import TableDataModule
from kiln.errors import KilnError
from tests.helpers import cli

ROWS = [(i % 7, i * 0.5, i % 3) for i in range(60)]


def _write(path, header: list[str], rows, sep: str = ",") -> str:
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return str(path)


def _one_sentence(message: str) -> None:
    assert message.count(". ") == 0 and message.endswith(".") and ";" in message, message


@pytest.mark.parametrize("sep, setting", [(";", "\"data.sep=';'\""), ("\t", "data.sep=tab")])
def test_a_file_split_on_another_delimiter_says_which_and_how_to_set_it(tmp_path, sep, setting):
    path = _write(tmp_path / "semi.csv", ["x1", "x2", "y"], ROWS, sep)
    with pytest.raises(KilnError, match="has no column 'y'") as err:
        TableDataModule(path=path, target="y").setup("fit")
    _one_sentence(str(err.value))
    assert "-separated" in str(err.value) and setting in str(err.value)
    dm = TableDataModule(path=path, target="y", sep=sep if sep == ";" else "tab")
    dm.setup("fit")  # the setting the sentence names reads the file
    assert [c.name for c in dm.schema.columns] == ["x1", "x2"]


def test_the_cli_prints_the_delimiter_sentence_and_exits_2(tmp_path, runs):
    path = _write(tmp_path / "semi.csv", ["x1", "x2", "y"], ROWS, ";")
    proc = cli("train", "data=table", "model=mlp", f"data.path={path}", "data.target=y", runs=runs)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in out, out[-2000:]
    assert "looks ';'-separated" in out and "\"data.sep=';'\"" in out


def test_repeated_column_names_are_refused_naming_them(tmp_path):
    path = _write(
        tmp_path / "dup.csv", ["x1", "x2", "x1", "y"], [(a, b, a + 1, c) for a, b, c in ROWS]
    )
    with pytest.raises(KilnError, match=r"repeats the column name\(s\) x1;") as err:
        TableDataModule(path=path, target="y").setup("fit")
    _one_sentence(str(err.value))
    # a column really named x1.1 next to x1 is not a repeat
    fine = _write(tmp_path / "fine.csv", ["x1", "x1.1", "y"], ROWS)
    TableDataModule(path=fine, target="y").setup("fit")


def test_a_numeric_column_with_a_third_text_is_refused_naming_values_and_the_fix(tmp_path):
    """It became a categorical of one category per number without a word."""
    junk = ["n/a?", "12kg", "-"]
    rows = [(junk[i // 3 % 3] if i % 3 == 0 else i * 0.37, i % 5, i % 2) for i in range(90)]
    path = _write(tmp_path / "mixed.csv", ["x1", "x2", "y"], rows)
    with pytest.raises(KilnError, match=r"Column 'x1'.*numeric.*'n/a\?'") as err:
        TableDataModule(path=path, target="y").setup("fit")
    message = str(err.value)
    _one_sentence(message)
    assert "'12kg', '-' (30 of 90 values)" in message and "++data.columns.x1=categorical" in message
    # the declaration the sentence names is taken
    dm = TableDataModule(path=path, target="y", columns={"x1": "categorical"})
    dm.setup("fit")
    assert {c.name: c.type for c in dm.schema.columns}["x1"] == "categorical"
