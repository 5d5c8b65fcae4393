"""The in-memory batch loader: coverage, determinism per (seed, epoch), sharding across ranks."""

import torch

from kiln.data.loader import TensorBatchLoader


def _ids(loader):
    return torch.cat([b[0] for b in loader]).tolist()


def test_each_sample_once_per_epoch_and_last_partial_batch():
    ids = torch.arange(103)
    loader = TensorBatchLoader([ids, ids * 2], batch_size=10, shuffle=True, seed=1)
    batches = list(loader)
    assert len(batches) == len(loader) == 11
    assert sorted(torch.cat([b[0] for b in batches]).tolist()) == list(range(103))
    assert all(torch.equal(b[1], b[0] * 2) for b in batches)  # tensors stay aligned


def test_order_is_a_function_of_seed_and_epoch():
    ids = torch.arange(50)
    a = TensorBatchLoader([ids], 8, shuffle=True, seed=3)
    b = TensorBatchLoader([ids], 8, shuffle=True, seed=3)
    a.set_epoch(4)
    b.set_epoch(4)
    assert _ids(a) == _ids(b)
    b.set_epoch(5)
    assert _ids(a) != _ids(b)


def test_unshuffled_is_in_order_and_drop_last():
    ids = torch.arange(25)
    assert _ids(TensorBatchLoader([ids], 10)) == list(range(25))
    loader = TensorBatchLoader([ids], 10, drop_last=True)
    assert len(loader) == 2 and _ids(loader) == list(range(20))


def test_ranks_split_an_epoch_without_overlap():
    ids = torch.arange(40)
    seen = []
    for rank in range(2):
        loader = TensorBatchLoader([ids], 4, shuffle=True, seed=0, rank=rank, world_size=2)
        loader.set_epoch(2)
        seen.append(_ids(loader))
    assert len(seen[0]) == len(seen[1]) == 20
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == list(range(40))


def test_a_lone_last_row_joins_the_batch_before_it():
    ids = torch.arange(97)  # 3 x 32 + 1: BatchNorm cannot train on a batch of one row
    loader = TensorBatchLoader([ids], 32, shuffle=True, seed=0, join_lone_row=True)
    sizes = [len(b[0]) for b in loader]
    assert sizes == [32, 32, 33] and len(loader) == 3 and sorted(_ids(loader)) == list(range(97))
    assert [len(b[0]) for b in TensorBatchLoader([ids[:1]], 32, join_lone_row=True)] == [1]
    assert len(TensorBatchLoader([ids], 32)) == 4  # off by default (evaluation)
