"""The printed leaderboard keeps one line per model when stdout is a log or a pipe."""

from kiln.compare.leaderboard import summarise, write_leaderboard


def test_printed_table_is_not_wrapped_outside_a_terminal(tmp_path, capsys):
    results = [
        {
            "model": name,
            "family": fam,
            "test/acc": acc,
            "params": 123_456_789,
            "fit_seconds": 12.5,
            "latency_ms_per_1k": 0.123,
        }  # fmt: skip
        for name, fam, acc in [
            ("ft_transformer", "neural", 0.95),
            ("ft_transformer", "neural", 0.97),
            ("seasonal_naive_baseline", "baseline", 0.90),
        ]
    ]
    rows = summarise(results, "test/acc", "max")
    write_leaderboard(rows, "test/acc", tmp_path, "", "a title long enough to matter here")
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if "│" in line]  # the table's rows (the winner line below)
    ft = [line for line in rows if "ft_transformer" in line]
    naive = [line for line in rows if "seasonal_naive_baseline" in line]
    assert "Best: ft_transformer." in lines
    assert len(ft) == 1 and "0.9600 ± 0.0141" in ft[0] and "123,456,789" in ft[0]
    assert len(naive) == 1 and "0.123" in naive[0]


def _fold(model: str, auroc: float | None) -> dict:
    row = {"model": model, "family": "neural", "params": 1, "fit_seconds": 1.0}
    row["latency_ms_per_1k"] = 0.1
    if auroc is None:
        row["undefined_metrics"] = {"test/auroc": "the split has one class"}
    else:
        row["test/auroc"] = auroc
    return row


def test_a_fold_whose_test_split_cannot_define_the_metric_is_left_out_not_zero():
    rows = summarise(
        [_fold("mlp", 0.8), _fold("mlp", None), _fold("mlp", 0.9)], "test/auroc", "max"
    )
    assert rows[0]["folds"] == 2 and abs(rows[0]["metric"] - 0.85) < 1e-12


def test_a_metric_undefined_on_every_fold_names_another_metric():
    import pytest

    from kiln.errors import KilnError

    with pytest.raises(KilnError, match="undefined on every test split of mlp.*metric=test/loss"):
        summarise([_fold("mlp", None)], "test/auroc", "max")
