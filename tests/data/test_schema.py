"""The schema: inferred types, JSON round trip, encoding and validation errors that name columns."""

import json

import numpy as np
import pandas as pd
import pytest

from kiln.data.schema import Schema
from kiln.errors import KilnError


@pytest.fixture
def frame():
    n = 40
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "row_id": np.arange(n),
            "size": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
            "member": rng.choice(["yes", "no"], n),
            "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
            "note": [f"a long free text comment number {i} here" for i in range(n)],
            "same": 1.0,
            "y": rng.integers(0, 2, n),
        }
    )


def test_types_are_inferred_and_overridable(frame):
    s = Schema.infer(frame, "y", "binary")
    assert {c.name: c.type for c in s.columns} == {
        "size": "numeric",
        "color": "categorical",
        "member": "boolean",
        "when": "datetime",
    }
    assert set(s.dropped) == {"row_id", "note", "same"}
    assert "id-like" in s.dropped["row_id"] and "free text" in s.dropped["note"]
    assert s.dropped["same"] == "constant (every value is 1.0)"  # as typed, not np.float64(1.0)
    s2 = Schema.infer(
        frame, "y", "binary", types={"size": "categorical", "row_id": "numeric"}, drop=["when"]
    )
    types = {c.name: c.type for c in s2.columns}
    assert types["size"] == "categorical" and types["row_id"] == "numeric" and "when" not in types


def test_encode_round_trips_through_json_and_maps_unseen_to_unknown(frame):
    s = Schema.infer(frame, "y", "binary")
    s.fit_vocab(frame, {})
    again = Schema.from_dict(json.loads(json.dumps(s.to_dict())))
    new = frame.head(4).copy()
    new["color"] = ["blue", "purple", None, "red"]
    x_num, x_cat = again.encode(new)
    assert x_cat[:, 0].tolist() == [
        2,
        0,
        1,
        4,
    ]  # vocabulary blue, green, red after unknown, missing
    assert x_num.dtype == np.float32 and x_num.shape == (4, 1 + 1 + 4)
    assert x_num[:, 2].tolist() == [2024.0] * 4  # when__year
    np.testing.assert_array_equal(s.encode(frame)[0], again.encode(frame)[0])


def test_rare_values_become_unknown(frame):
    s = Schema.infer(frame, "y", "binary")
    counts = frame["color"].value_counts()
    s.fit_vocab(frame, {"color": (1, 2)})
    assert s.columns[1].vocab == sorted(counts.index[:2])


def test_validate_names_missing_unexpected_and_mistyped_columns(frame):
    s = Schema.infer(frame, "y", "binary")
    with pytest.raises(KilnError, match="lacks the column.*color"):
        s.validate(frame.drop(columns=["color"]))
    with pytest.raises(KilnError, match="column.*extra.*does not know"):
        s.validate(frame.assign(extra=1))
    bad = frame.astype({"size": object})
    bad.loc[3, "size"] = "12kg"
    with pytest.raises(KilnError, match="'size'.*numeric.*'12kg'"):
        s.validate(bad)
    bad_bool = frame.copy()
    bad_bool.loc[0, "member"] = "maybe"
    with pytest.raises(KilnError, match="'member'.*boolean.*'maybe'"):
        s.validate(bad_bool)


def test_the_advice_for_a_mistyped_column_is_one_that_works_where_it_is_given(frame):
    bad = frame.astype({"size": object, "member": object})
    bad.loc[3, "size"] = "12kg"
    bad.loc[0, "member"] = "maybe"
    new = Schema.infer(frame, "y", "binary")  # kiln train: the types can still be declared
    with pytest.raises(KilnError, match=r"declare it with \+\+data\.columns\.size=categorical\."):
        new.validate(bad)
    with pytest.raises(KilnError, match=r"\+\+data\.columns\.member=categorical\."):
        new.validate(bad.assign(size=frame["size"]))
    fixed = Schema.from_dict(json.loads(json.dumps(new.to_dict())))  # a checkpoint's schema
    assert "fixed" not in fixed.to_dict()
    for frame_, name in ((bad, "size"), (bad.assign(size=frame["size"]), "member")):
        with pytest.raises(KilnError) as err:
            fixed.encode(frame_, "input x.csv")
        assert f"{name!r} in input x.csv" in str(err.value)
        assert "the model takes it as a" in str(err.value) and "data.columns" not in str(err.value)


def test_a_text_regression_target_names_data_task():
    s = Schema.infer(pd.DataFrame({"x": [1.0, 2.0], "y": [1.5, 2.5]}), "y", "regression")
    with pytest.raises(KilnError, match=r"fix those values or use data\.task=multiclass\.$"):
        s.encode_target(pd.Series(["1.5", "cat"]))


def test_binary_with_many_classes_names_data_task():
    from kiln.data.table_split import task_and_classes

    with pytest.raises(KilnError, match=r"use data\.task=multiclass\.$"):
        task_and_classes(pd.Series(["a", "b", "c"]), "binary", "y")
