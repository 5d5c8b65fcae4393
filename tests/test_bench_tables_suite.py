"""Issue 16's table suite and the bar scripts/bench_tables.py checks (no training here)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from bench_tables_report import bar_checks, summarise  # noqa: E402
from table_suite import BY_NAME, SUITE, load  # noqa: E402


def test_suite_covers_the_issue():
    assert len(SUITE) >= 15
    assert {t.task for t in SUITE} == {"binary", "multiclass", "regression"}
    assert all(t.licence and t.package for t in SUITE)


def test_repo_and_sklearn_tables_load_with_their_targets():
    penguins = load(BY_NAME["penguins"])
    assert penguins["species"].nunique() == 3 and penguins.isna().any(axis=None)
    diabetes = load(BY_NAME["diabetes"])  # raw values, not scikit-learn's scaled ones
    assert diabetes["age"].min() >= 18 and len(diabetes) == 442


def _result(name, rows, task, hgb, linear, rf, kiln):
    scores = {"hgb": [hgb], "linear": [linear], "rf": [rf], "kiln": [kiln]}
    r = {"name": name, "rows": rows, "task": task, "scores": scores}
    return {**r, **summarise(r)}


def test_bar_gap_is_to_the_best_baseline_and_small_tables_are_checked_alone():
    results = [
        _result("a", 5000, "binary", 0.90, 0.95, 0.80, 0.945),  # behind linear by 0.005
        _result("b", 500, "regression", 0.60, 0.50, 0.70, 0.64),  # behind rf by 0.06 > 0.05
    ]
    assert results[0]["best_baseline"] == "linear"
    assert results[0]["gap"] == pytest.approx(0.005)
    checks = dict((text.split(" (")[0].split(":")[0], ok) for text, ok in bar_checks(results))
    assert checks["kiln >= HGB on at least half the tables"]
    assert checks["mean gap to best baseline, classes"]
    assert not checks["mean gap to best baseline, regression"]
    assert not checks["b"]
