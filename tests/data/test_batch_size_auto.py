"""data.batch_size=auto (the table default): about 16 steps an epoch for a small table, 256
rows a batch for a large one; a value that is neither a count nor auto is one sentence."""

import pytest

import kiln.api
from kiln.config.checks import check_values
from kiln.data.base import auto_batch_size
from kiln.data.table import TableDataModule
from kiln.errors import KilnError
from tests.helpers import PENGUINS


@pytest.mark.parametrize(
    ("rows", "batch"), [(1, 16), (240, 16), (600, 32), (1000, 64), (2500, 128), (10**6, 256)]
)
def test_auto_batch_size_follows_the_training_rows(rows, batch):
    assert auto_batch_size(rows) == batch


def test_a_table_batches_by_its_training_rows():
    dm = TableDataModule(path=str(PENGUINS), target="species", batch_size="auto")
    dm.prepare_data()
    dm.setup("fit")
    train_rows = len(dm.splits["train"][-1])
    assert dm.batch_size == auto_batch_size(train_rows) == 16
    assert next(iter(dm.train_dataloader()))[-1].shape[0] == 16
    assert dm.eval_batch_size == 256


def test_batch_size_takes_a_count_or_auto():
    cfg = kiln.api.compose("train", ["data=table", "data.path=x.csv", "data.target=y",
                                     "data.batch_size=auto"])  # fmt: skip
    check_values(cfg)
    bad = kiln.api.compose("train", ["data=table", "data.path=x.csv", "data.target=y",
                                     "data.batch_size=many"])  # fmt: skip
    with pytest.raises(KilnError, match=r"^data.batch_size='many' is not an integer or auto; "):
        check_values(bad)
