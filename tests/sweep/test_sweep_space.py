"""The search space reads Hydra's override grammar into Optuna distributions, and a mistake
names the parameter."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from kiln.errors import KilnError
from kiln.sweep.space import parse_param, parse_space


def test_choice_keeps_scalars_and_writes_lists_as_override_text():
    p = parse_param("model.hidden", "choice([32], [64, 64])")
    assert p.distribution == CategoricalDistribution(["[32]", "[64,64]"])
    assert p.override("[64,64]") == "model.hidden=[64,64]"
    q = parse_param("optimizer", "choice(adamw, sgd)")
    assert q.grid() == ["adamw", "sgd"] and q.override("sgd") == "optimizer=sgd"


@pytest.mark.parametrize(
    "expr, oracle", [("range(1, 8)", range(1, 8)), ("range(2, 11, 3)", range(2, 11, 3))]
)
def test_integer_range_matches_python_range(expr, oracle):
    p = parse_param("data.batch_size", expr)
    assert isinstance(p.distribution, IntDistribution)
    assert p.grid() == list(oracle)


def test_float_range_and_intervals():
    assert parse_param("x", "range(0.1, 0.4, step=0.1)").grid() == [0.1, 0.2, 0.3]
    assert parse_param("x", "interval(0, 0.5)").distribution == FloatDistribution(0.0, 0.5)
    assert parse_param("x", "tag(log, interval(1e-4, 1e-1))").distribution == FloatDistribution(
        1e-4, 1e-1, log=True
    )
    assert parse_param("x", "tag(int, interval(2, 9))").distribution == IntDistribution(2, 9)


def test_nested_params_from_the_command_line_are_the_dotted_key():
    (p,) = parse_space({"optimizer": {"lr": "interval(0.1, 0.2)"}})
    assert p.key == "optimizer.lr"


@pytest.mark.parametrize(
    "expr, words",
    [
        ("interval(1e-4", "not a valid Hydra sweep expression"),
        ("interval(0.5, 0.1)", "start < end"),
        ("tag(log, interval(0, 1))", "must be > 0"),
        ("tag(square, interval(1, 2))", "unknown tag"),
        ("0.3", "single value"),
        ("choice(a, a)", "twice"),
    ],
)
def test_a_bad_expression_names_the_parameter(expr, words):
    with pytest.raises(KilnError) as err:
        parse_param("optimizer.lr", expr)
    assert "sweep.params.optimizer.lr" in str(err.value) and words in str(err.value)


def test_the_grid_sampler_refuses_a_continuous_interval():
    with pytest.raises(KilnError, match="sweep.params.model.dropout.*grid"):
        parse_param("model.dropout", "interval(0, 0.5)").grid()


def test_samplers_and_pruners_by_name():
    import optuna

    from kiln.sweep.study import make_pruner, make_sampler

    space = parse_space({"optimizer": "choice(adamw, sgd)", "data.batch_size": "range(16, 49, 16)"})
    kinds = {
        "tpe": optuna.samplers.TPESampler,
        "random": optuna.samplers.RandomSampler,
        "grid": optuna.samplers.GridSampler,
        "cmaes": optuna.samplers.CmaEsSampler,
    }
    for name, kind in kinds.items():
        assert isinstance(make_sampler(name, space, seed=0, startup=2), kind)
    assert isinstance(make_pruner("hyperband", 2, 20), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner("median", 2, 20), optuna.pruners.MedianPruner)
    with pytest.raises(KilnError, match="sweep.sampler=bayes"):
        make_sampler("bayes", space, seed=0, startup=2)
    with pytest.raises(KilnError, match="sweep.pruner=asha"):
        make_pruner("asha", 2, 20)
