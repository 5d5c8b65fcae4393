"""Fitted transforms against scikit-learn, and their round trip through a state_dict."""

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from kiln.preprocessing.scale import Standardize, TargetScaler


def test_standardize_matches_sklearn_per_feature():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(500, 7)).astype(np.float32)
    x[:, 3] = 2.0  # a constant column: sklearn keeps scale 1, so do we
    ours = Standardize.fit(torch.from_numpy(x))(torch.from_numpy(x)).numpy()
    ref = StandardScaler().fit_transform(x.astype(np.float64))
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    assert np.all(np.isfinite(ours))


def test_standardize_per_channel_for_images():
    x = torch.randn(64, 3, 8, 8) * torch.tensor([1.0, 2.0, 5.0]).view(1, 3, 1, 1) + 4
    mod = Standardize.fit(x, reduce_dims=(0, 2, 3))
    out = mod(x)
    assert mod.mean.shape == (3, 1, 1)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0
    )


def test_unfitted_module_takes_shapes_from_state_dict():
    fitted = Standardize.fit(torch.randn(100, 5) * 3 + 1)
    blank = Standardize()
    blank.load_state_dict(fitted.state_dict())
    x = torch.randn(10, 5)
    torch.testing.assert_close(blank(x), fitted(x))


def test_target_scaler_round_trip():
    y = torch.tensor([10.0, 20.0, 30.0, 40.0])
    ts = TargetScaler.fit(y)
    z = ts.scale(y)
    assert abs(float(z.mean())) < 1e-6 and abs(float(z.std(unbiased=False)) - 1) < 1e-6
    torch.testing.assert_close(ts(z), y)
