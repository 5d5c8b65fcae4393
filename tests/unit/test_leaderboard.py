"""The printed leaderboard keeps one line per model when stdout is a log or a pipe."""

from kiln.leaderboard import summarise, write_leaderboard


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
    ft = [line for line in lines if "ft_transformer" in line]
    naive = [line for line in lines if "seasonal_naive_baseline" in line]
    assert len(ft) == 1 and "0.9600 ± 0.0141" in ft[0] and "123,456,789" in ft[0]
    assert len(naive) == 1 and "0.123" in naive[0]
