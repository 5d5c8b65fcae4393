"""kiln.config.schema: every command and experiment composes and passes its schema; the
schema knows every boolean kiln ships; a refused value answers before Lightning is imported."""

import dataclasses
import subprocess
import sys
import typing
from importlib import resources

import pytest
from omegaconf import OmegaConf

import kiln.api
from kiln.config.checks import check_values
from kiln.config.schema import SCHEMAS, THRESHOLD_DEFAULTS

NEEDED = {  # the required keys of each command, so that it composes whole
    "eval": ["ckpt_path=x.ckpt"],
    "export": ["ckpt_path=x.ckpt"],
    "retrain": ["ckpt_path=x.ckpt"],
    "predict": ["artifact=a", "input=b.csv", "output=c.csv"],
    "serve": ["artifact=a"],
    "drift": ["artifact=a", "input=b.csv"],
}
EXPERIMENTS = sorted(
    p.name[:-5] for p in (resources.files("kiln.conf") / "experiment").iterdir()
    if p.name.endswith(".yaml")
)  # fmt: skip
CASES = [(c, NEEDED.get(c, [])) for c in SCHEMAS] + [
    ("train", [f"experiment={e}"]) for e in EXPERIMENTS
]


@pytest.mark.parametrize("command, overrides", CASES, ids=[" ".join([c, *o]) for c, o in CASES])
def test_every_command_and_experiment_composes_and_passes_its_checks(command, overrides):
    cfg = kiln.api.compose(command, overrides)
    assert cfg.task_name == command
    check_values(cfg)
    _booleans_are_flags(OmegaConf.to_container(cfg, resolve=False), SCHEMAS[command], "")


def _booleans_are_flags(node: dict, schema, prefix: str) -> None:
    """Each true/false a config kiln ships sets outside a ``_target_`` node (whose signature
    judges it) is a bool field of the command's schema: ``overwrite=no`` is refused there."""
    if "_target_" in node and prefix:
        return
    hints = typing.get_type_hints(schema) if schema else {}
    for key, value in node.items():
        hint = hints.get(key)
        if isinstance(value, dict):
            _booleans_are_flags(
                value, hint if dataclasses.is_dataclass(hint) else None, f"{prefix}{key}."
            )
        elif isinstance(value, bool) and not prefix.startswith("hydra."):
            assert hint is not None and bool in (hint, *typing.get_args(hint)), (
                f"{prefix}{key} is true or false in the shipped config; give it a flag() field"
            )


def test_the_drift_thresholds_have_one_set_of_defaults():
    from kiln.monitoring.detect import DEFAULTS

    assert DEFAULTS == THRESHOLD_DEFAULTS
    shipped = OmegaConf.load(str(resources.files("kiln.conf") / "drift.yaml")).thresholds
    assert OmegaConf.to_container(shipped) == THRESHOLD_DEFAULTS


def test_a_refused_value_answers_before_lightning_or_torch_is_imported():
    code = (
        "import sys, kiln.api\n"
        "from kiln.errors import KilnError\n"
        "try:\n"
        "    kiln.api.run('train', ['optimizer.lr=abc'])\n"
        "except KilnError as err:\n"
        "    print(err)\n"
        "print(sorted(m for m in ('lightning', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "optimizer.lr='abc' is not a number; set it to e.g. optimizer.lr=1e-3.",
        "[]",
    ], out.stderr[-2000:]
