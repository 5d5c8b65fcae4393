"""The search space: ``sweep.params`` entries written in Hydra's override grammar.

``choice(a, b)``, ``range(1, 8)``, ``interval(0, 1)`` and ``tag(log, interval(1e-4, 1e-1))``
(``tag(int, ...)`` for integers) become Optuna distributions; Hydra's own parser reads them,
so the syntax is exactly what ``kiln train -m`` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from kiln.errors import KilnError

SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    """One swept key: its Optuna distribution, and how a sampled value becomes an override."""

    key: str
    expression: str
    distribution: BaseDistribution

    def override(self, value) -> str:
        """``key=value`` in override grammar (lists were stored as their override text)."""
        return f"{self.key}={as_override_text(value)}"

    def grid(self) -> list:
        """Every value, for the grid sampler; intervals have none."""
        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return list(d.choices)
        if isinstance(d, IntDistribution):
            return list(range(d.low, d.high + 1, d.step))
        raise KilnError(
            f"sweep.params.{self.key}={self.expression} is a continuous interval and the grid "
            "sampler needs finite values; use choice(...) or range(...), or sweep.sampler=tpe."
        )


def as_override_text(value) -> str:
    return value if isinstance(value, str) else Override._get_value_element_as_str(value)


def _choice_value(value):
    """Optuna's categorical values must be scalars: a list or dict choice is kept as its text."""
    return value if value is None or isinstance(value, SCALARS) else as_override_text(value)


def parse_param(key: str, expression) -> Param:
    text = str(expression)
    where = f"sweep.params.{key}={text}"
    try:
        (override,) = OverridesParser.create().parse_overrides([f"{key}={text}"])
    except HydraException as err:
        reason = str(err).splitlines()[0]
        raise KilnError(
            f"{where} is not a valid Hydra sweep expression ({reason}); write e.g. "
            "choice(a, b), range(1, 8), interval(0.0, 0.5) or tag(log, interval(1e-4, 1e-1))."
        ) from None
    value = override.value()
    tags = set(getattr(value, "tags", set()) or set())
    unknown = tags - {"log", "int"}
    if unknown:
        raise KilnError(
            f"{where} has unknown tag(s) {sorted(unknown)}; use tag(log, ...) or tag(int, ...)."
        )
    if isinstance(value, ChoiceSweep):
        choices = [_choice_value(v) for v in value.list]
        if len(set(map(repr, choices))) != len(choices):
            raise KilnError(f"{where} lists a value twice; give each choice once.")
        return Param(key, text, CategoricalDistribution(choices))
    if isinstance(value, RangeSweep):
        values = list(_range_values(value))
        if not values:
            raise KilnError(f"{where} is an empty range; the stop must lie beyond the start.")
        if all(isinstance(v, int) for v in (value.start, value.stop, value.step)):
            return Param(
                key,
                text,
                IntDistribution(values[0], values[-1], step=abs(int(value.step)))
                if value.step > 0
                else CategoricalDistribution(values),
            )
        return Param(key, text, CategoricalDistribution(values))
    if isinstance(value, IntervalSweep):
        low, high = float(value.start), float(value.end)
        if not low < high:
            raise KilnError(f"{where} needs start < end; swap or widen the bounds.")
        log = "log" in tags
        if log and low <= 0:
            raise KilnError(
                f"{where} is on a log scale, so its start must be > 0; raise the lower bound."
            )
        if "int" in tags:
            return Param(key, text, IntDistribution(int(low), int(high), log=log))
        return Param(key, text, FloatDistribution(low, high, log=log))
    raise KilnError(
        f"{where} is a single value, not a search space; use choice(...), range(...) or "
        "interval(...), or pass it as an ordinary override."
    )


def _range_values(value: RangeSweep):
    v = value.start
    while (value.step > 0 and v < value.stop) or (value.step < 0 and v > value.stop):
        yield round(v, 12) if isinstance(v, float) else v
        v += value.step


def parse_space(params) -> list[Param]:
    """Every ``sweep.params`` entry as a Param; a mistake names the parameter."""
    if not params:
        raise KilnError(
            "sweep.params is empty; list the keys to tune, e.g. sweep.params={optimizer.lr: 'tag(log, interval(1e-4, 1e-1))'}, or pick a sweep=<name>."
        )
    return [parse_param(key, value) for key, value in _flat(params).items()]


def _flat(params, prefix: str = "") -> dict[str, object]:
    """``{optimizer.lr: ...}`` and ``{optimizer: {lr: ...}}`` (what ``+sweep.params.optimizer.lr=...``
    makes) are the same parameter."""
    out: dict[str, object] = {}
    for key, value in params.items():
        if hasattr(value, "items"):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
