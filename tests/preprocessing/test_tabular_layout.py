"""TabularPreprocessor.from_layout: the rebuild format=torch uses, with no training data."""

from __future__ import annotations

import json

import numpy as np
import torch

from kiln.preprocessing.tabular import TabularPreprocessor, fit_tabular


def test_from_layout_and_weights_answer_like_the_fitted_preprocessor():
    rng = np.random.default_rng(0)
    x_num = rng.lognormal(size=(300, 4)).astype(np.float32)
    x_num[rng.random(x_num.shape) < 0.1] = np.nan
    x_cat = rng.integers(1, 6, size=(300, 3)).astype(np.int64)  # 1 = missing, 2..5 = vocab
    num = [
        {"normalize": "standard", "indicator": True},
        {"normalize": "quantile", "n_quantiles": 50},
        {"normalize": "log_standard", "outliers": {"method": "iqr", "strategy": "flag"}},
        {"normalize": "robust", "outliers": {"method": "zscore", "strategy": "missing"}},
    ]
    cat = [{"encode": "onehot"}, {"encode": "embedding"}, {"impute": "most_frequent"}]
    fitted, _, _ = fit_tabular(x_num, x_cat, num, cat, [6, 6, 6])
    layout = json.loads(json.dumps(fitted.layout()))  # as metadata.json stores it
    rebuilt = TabularPreprocessor.from_layout(layout)
    rebuilt.load_state_dict(fitted.state_dict(), strict=True)
    x_cat[:5, 0] = 0  # unknown categories too
    inputs = (torch.from_numpy(x_num), torch.from_numpy(x_cat))
    with torch.inference_mode():
        want, got = fitted.eval()(inputs), rebuilt.eval()(inputs)
    assert got.shape == want.shape == (300, fitted.out_features)
    assert torch.equal(got, want)
