"""The contract with Lightning's private names: each one kiln reads exists, as kiln reads it,
in the installed release; a release that moved one fails here, by name; pyproject bounds
lightning to a range the installed release is in."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from packaging.requirements import Requirement
from sklearn.ensemble import HistGradientBoostingClassifier
from torch import nn

from kiln.training import lightning_private as lp

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

# symbol -> the parameters kiln passes it, in order (names Lightning must keep)
FUNCTIONS = {
    "NUM_READY_BATCHES_REACHED": ["self"],
    "GET_FILE_WRITER": ["self"],
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_resolved_function_has_the_signature_kiln_calls(name):
    fn = getattr(lp, name)
    assert callable(fn), f"{name} is not callable in lightning {L.__version__}"
    params = list(inspect.signature(fn).parameters)
    assert params == FUNCTIONS[name], f"{name} takes {params} in lightning {L.__version__}"


class Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3, 2)
        self.seen: list = []

    def training_step(self, batch, batch_idx):
        self.seen.append(getattr(self, lp.CURRENT_FX_NAME))
        x, y = batch
        return F.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_instance_attributes_exist_and_mean_what_kiln_reads(tmp_path):
    data = torch.utils.data.TensorDataset(torch.randn(12, 3), torch.randint(0, 2, (12,)))
    module = Tiny()
    trainer = L.Trainer(
        max_steps=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=4))
    assert module.seen == ["training_step"] * 5, f"{lp.CURRENT_FX_NAME} is {module.seen}"
    assert lp.batches_that_stepped(trainer) == 5, lp.BATCHES_THAT_STEPPED
    # 3 batches an epoch: max_steps=5 stops the second epoch after 2 of them
    assert lp.epoch_ran_all_batches(trainer) is False, "NUM_READY_BATCHES_REACHED"


def test_tensorboard_file_writer_is_the_runs_own_event_writer(tmp_path):
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(str(tmp_path), name="", version="")
    writer = lp.tensorboard_file_writer(logger.experiment)
    assert Path(writer.get_logdir()) == Path(logger.log_dir)


def test_tree_nodes_counts_every_node_of_a_fitted_hist_gradient_boosting():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    model = HistGradientBoostingClassifier(max_iter=3, max_leaf_nodes=4, random_state=0).fit(x, y)
    nodes = lp.tree_nodes(model)
    # a binary tree with at most 4 leaves has at most 7 nodes; at least a root each
    assert model.n_iter_ <= nodes <= 7 * model.n_iter_


def test_a_moved_name_fails_naming_the_symbol_and_the_version():
    with pytest.raises(lp.LightningMoved) as err:
        lp.resolve("lightning.pytorch.trainer.call", "_call_renamed_hooks")
    assert "lightning.pytorch.trainer.call._call_renamed_hooks" in str(err.value)
    assert L.__version__ in str(err.value)
    with pytest.raises(lp.LightningMoved) as err:
        lp.resolve("lightning.pytorch.no_such_module", "Thing")
    assert "lightning.pytorch.no_such_module.Thing" in str(err.value)

    class Loop:  # an epoch loop from a release without the counter
        pass

    class Trainer:
        fit_loop = type("FitLoop", (), {"epoch_loop": Loop()})()

    with pytest.raises(lp.LightningMoved, match="_TrainingEpochLoop._batches_that_stepped"):
        lp.batches_that_stepped(Trainer())


def test_a_fitted_model_without_predictors_fails_naming_them():
    with pytest.raises(lp.KilnError, match="_predictors"):
        lp.tree_nodes(HistGradientBoostingClassifier())


def lightning_requirement() -> Requirement:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    (req,) = [Requirement(d) for d in deps if Requirement(d).name == "lightning"]
    return req


def test_pyproject_bounds_lightning_above_and_the_installed_release_is_inside():
    spec = lightning_requirement().specifier
    assert any(s.operator in ("<", "<=", "~=", "==") for s in spec), f"lightning{spec} is open"
    installed = version("lightning")
    assert spec.contains(installed, prereleases=True), (
        f"lightning {installed} is outside pyproject's lightning{spec}: check "
        "tests/unit/test_lightning_private.py against it, then move the bound deliberately"
    )
