"""Every private name kiln reads of Lightning (and of the libraries under it), in one place.

A Lightning release may move any of these without notice. Each is resolved here when kiln
imports this module, or read through a function here that fails the same way, so a release
that moved one stops kiln with a sentence naming the symbol and the installed version, and
never takes a silent fallback. tests/training/test_lightning_private.py checks each against the
installed release; pyproject.toml bounds lightning to the releases it was checked on.
"""

from __future__ import annotations

import importlib
from typing import Any

import lightning as L
import torch.utils.tensorboard.writer as tb_writer

from kiln.errors import KilnError

LIGHTNING_VERSION = L.__version__


class LightningMoved(KilnError):
    """A private name kiln relies on is gone from the installed Lightning (or torch)."""


def moved(symbol: str) -> LightningMoved:
    return LightningMoved(
        f"kiln reads {symbol}, which the installed lightning {LIGHTNING_VERSION} no longer has; "
        "install the lightning version range pyproject.toml names (pip install -e .)."
    )


def resolve(module: str, qualname: str) -> Any:
    """``module``'s ``qualname`` (dotted through classes), or LightningMoved naming it."""
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise moved(f"{module}.{qualname}") from None
    return obj


# -- resolved at import: functions and methods -----------------------------------------
NUM_READY_BATCHES_REACHED = resolve(
    "lightning.pytorch.loops.training_epoch_loop", "_TrainingEpochLoop._num_ready_batches_reached"
)
GET_FILE_WRITER = resolve("torch.utils.tensorboard.writer", "SummaryWriter._get_file_writer")
# -- instance attributes (set in __init__): read through the functions below -------------
CURRENT_FX_NAME = "_current_fx_name"  # LightningModule: the hook being run (self.log reads it)
BATCHES_THAT_STEPPED = "_batches_that_stepped"  # _TrainingEpochLoop: Lightning's log counter
INSTANCE_ATTRIBUTES = {
    CURRENT_FX_NAME: "lightning.pytorch.LightningModule",
    BATCHES_THAT_STEPPED: "lightning.pytorch.loops.training_epoch_loop._TrainingEpochLoop",
}


def _read(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise moved(f"{INSTANCE_ATTRIBUTES[name]}.{name}") from None


def batches_that_stepped(trainer: L.Trainer) -> int:
    """Lightning's count of training batches that stepped: what it writes step logs on
    (``(count + 1) % log_every_n_steps == 0``), which the public ``global_step`` is not
    under manual optimisation with accumulation."""
    return _read(trainer.fit_loop.epoch_loop, BATCHES_THAT_STEPPED)


def epoch_ran_all_batches(trainer: L.Trainer) -> bool:
    """Whether the training epoch ran all its batches (``max_steps`` may cut it short)."""
    return bool(NUM_READY_BATCHES_REACHED(trainer.fit_loop.epoch_loop))


def tensorboard_file_writer(experiment: tb_writer.SummaryWriter) -> Any:
    """The SummaryWriter's own event-file writer (``add_hparams`` would open a second run
    folder; Lightning's TensorBoardLogger writes its hparams summary the same way)."""
    return GET_FILE_WRITER(experiment)


def tree_nodes(estimator: Any) -> int:
    """Nodes of a fitted scikit-learn HistGradientBoosting model: no public attribute
    counts them (``n_iter_`` counts iterations), so its private ``_predictors`` is read."""
    try:
        predictors = estimator._predictors
    except AttributeError:
        import sklearn

        raise KilnError(
            f"kiln reads {type(estimator).__name__}._predictors, which the installed "
            f"scikit-learn {sklearn.__version__} no longer has; install a scikit-learn "
            "release that has it (1.4 to 1.9 do)."
        ) from None
    return int(sum(len(p.nodes) for it in predictors for p in it))
