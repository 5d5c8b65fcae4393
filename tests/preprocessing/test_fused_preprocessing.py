"""Fewer kernels per batch (issue 16, item 4): one categorical lookup, a planned numeric path."""

from __future__ import annotations

import torch

from kiln.preprocessing.categorical import CategoricalPipeline
from kiln.preprocessing.numeric import NumericPipeline
from kiln.preprocessing.tabular import TabularPreprocessor

CARDS, ONEHOT, DIMS = [5, 3, 7, 4, 9], [False, True, False, False, False], [3, 5, 1, 4]


def _codes(n: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    cols = [torch.randint(-1, c + 2, (n,), generator=g) for c in CARDS]  # some out of range
    return torch.stack(cols, 1)


def _per_column(pipe: CategoricalPipeline, x: torch.Tensor) -> torch.Tensor:
    """The old per-column result, built by hand from the same weight rows."""
    x = torch.where(x == 1, pipe.fill, x)
    x = torch.where((x < 0) | (x >= pipe.cards), 0, x)
    weight, start, parts = pipe.embedding.weight, 0, []
    hot = torch.zeros(len(x), CARDS[1])
    parts.append(hot.scatter_(1, x[:, 1:2], 1.0))
    for col, dim in zip([0, 2, 3, 4], DIMS, strict=True):
        block = weight[start : start + CARDS[col], :dim]
        parts.append(torch.nn.functional.embedding(x[:, col], block))
        start += CARDS[col]
    return torch.cat(parts, 1)


def test_one_lookup_equals_the_per_column_embeddings_on_the_same_weights():
    torch.manual_seed(0)
    pipe = CategoricalPipeline(CARDS, None, ONEHOT, DIMS)
    x = _codes()
    got = pipe(x)
    assert got.shape == (64, CARDS[1] + sum(DIMS)) and pipe.out_features == got.shape[1]
    torch.testing.assert_close(got, _per_column(pipe, x), rtol=0, atol=0)
    got.square().sum().backward()  # padding entries are never used, so never trained
    grad = pipe.embedding.weight.grad
    assert grad[: CARDS[0], 3:].abs().sum() == 0 and grad[: CARDS[0], :3].abs().sum() > 0


def test_a_per_column_state_dict_from_before_the_single_table_loads():
    torch.manual_seed(1)
    cols = enumerate(zip([0, 2, 3, 4], DIMS, strict=True))
    old = {f"embeddings.{k}.weight": torch.randn(CARDS[c], d) for k, (c, d) in cols}
    new = CategoricalPipeline(CARDS, None, ONEHOT, DIMS)
    fitted = dict(new.state_dict())
    del fitted["embedding.weight"]
    new.load_state_dict({**fitted, **old})  # strict: every key is placed
    x = _codes()
    out = new(x)[:, CARDS[1] :]
    x = torch.where((x < 0) | (x >= torch.tensor(CARDS)), 0, x)
    want = [torch.nn.functional.embedding(x[:, c], old[f"embeddings.{k}.weight"])
            for k, c in enumerate([0, 2, 3, 4])]  # fmt: skip
    torch.testing.assert_close(out, torch.cat(want, 1), rtol=0, atol=0)


def test_an_old_checkpoint_of_the_whole_preprocessor_loads_under_its_prefix():
    layout = {"categorical": {"cards": CARDS, "onehot": ONEHOT, "embed_dims": DIMS}}
    pre = TabularPreprocessor(NumericPipeline(), CategoricalPipeline(CARDS, None, ONEHOT, DIMS))
    state = {k: v for k, v in pre.state_dict().items() if "embedding." not in k}
    for k, (col, dim) in enumerate(zip([0, 2, 3, 4], DIMS, strict=True)):
        state[f"categorical.embeddings.{k}.weight"] = torch.full((CARDS[col], dim), float(k))
    wrapped = torch.nn.ModuleDict({"pre": TabularPreprocessor.from_layout(layout)})
    wrapped.load_state_dict({f"pre.{k}": v for k, v in state.items()})
    weight = wrapped["pre"].categorical.embedding.weight
    assert weight.shape == (sum(CARDS) - CARDS[1], max(DIMS))
    assert weight[CARDS[0] : CARDS[0] + CARDS[2], 0].eq(1).all()


def test_a_numeric_pipeline_filled_by_load_state_dict_answers_like_the_fitted_one():
    """The steps a fit makes no-ops are skipped; an empty module loaded later must re-decide."""
    import numpy as np

    from kiln.preprocessing.tabular import fit_numeric

    x = np.random.default_rng(0).lognormal(size=(50, 3))
    x[::7, 1] = np.nan
    settings = [{"normalize": "log_standard"}, {"normalize": "quantile"}, {}]
    fitted, _, _ = fit_numeric(x, settings)
    empty = NumericPipeline()
    empty.load_state_dict(fitted.state_dict())
    rows = torch.tensor(x, dtype=torch.float32)
    torch.testing.assert_close(empty(rows), fitted(rows), rtol=0, atol=0)
