"""Drift statistics against scipy.stats, and the decision rules' error rates on synthetic data."""

import numpy as np
import pytest
from scipy import stats as sst
from scipy.spatial.distance import jensenshannon

from kiln.monitoring import stats
from kiln.monitoring.detect import compare
from kiln.monitoring.features import Featurizer
from kiln.monitoring.profile import build_profile, numeric_profile

LABELS = ["<unknown>", "<missing>", "a", "b", "c"]
SHARES = [0.0, 0.02, 0.5, 0.3, 0.18]


def test_wasserstein_equals_scipy_with_ties_and_disjoint_ranges():
    rng = np.random.default_rng(0)
    for case in range(400):
        n, m = rng.integers(1, 40, size=2)
        if case % 2:
            a, b = rng.integers(0, 5, n).astype(float), rng.integers(0, 5, m).astype(float)
        else:
            a, b = rng.normal(size=n), rng.normal(rng.normal(0, 3), rng.uniform(0.1, 3), m)
        assert stats.wasserstein(b, a) == pytest.approx(sst.wasserstein_distance(b, a), abs=1e-9)
    a, b = (
        rng.normal(size=200_000),
        np.quantile(rng.normal(0.2, 1.1, 5000), np.linspace(0, 1, 1001)),
    )
    assert stats.wasserstein(b, a) == pytest.approx(sst.wasserstein_distance(b, a), abs=1e-9)


def test_ks_chi2_js_psi_equal_scipy():
    rng = np.random.default_rng(1)
    ref, new = rng.normal(size=700), rng.normal(0.1, 1, 900)
    prof = numeric_profile(ref)
    from kiln.monitoring.detect import DEFAULTS, numeric_result

    out = numeric_result(prof, new, DEFAULTS, 0.05)
    expect = sst.ks_2samp(ref, new)
    assert out["method"] == "ks"
    assert out["statistic"] == pytest.approx(expect.statistic, abs=1e-9)
    assert out["p_value"] == pytest.approx(expect.pvalue, abs=1e-9)
    assert out["wasserstein"] * ref.std() == pytest.approx(
        sst.wasserstein_distance(ref, new), abs=1e-9
    )
    r, c = np.array([50.0, 30, 20, 0, 0]), np.array([40.0, 25, 30, 5, 0])
    expect = sst.chi2_contingency(np.vstack([r[:4], c[:4]]))
    assert stats.chi_square(r, c) == pytest.approx((expect.statistic, expect.pvalue), abs=1e-9)
    assert stats.js_distance(r, c) == pytest.approx(jensenshannon(r, c, base=2), abs=1e-9)
    p, q = stats.bin_shares(c), stats.bin_shares(r)
    assert stats.psi(r, c) == pytest.approx(sst.entropy(p, q) + sst.entropy(q, p), abs=1e-9)


def _sample(rng, n, shift=0.0, shares=SHARES):
    x_num = rng.normal(size=(n, 5)).astype(np.float32)
    x_num[:, 2] += shift
    x_cat = rng.choice(len(LABELS), size=(n, 1), p=shares)
    return [x_num, x_cat]


def _report(ref_rows, seed, new_rows=1000, **kw):
    rng = np.random.default_rng(seed)
    feat = Featurizer("schema", [f"n{i}" for i in range(5)], {"color": LABELS})
    profile = build_profile(feat, _sample(rng, ref_rows), "binary")
    num, cat = feat(_sample(rng, new_rows, **kw))
    return compare(profile, num, cat, feat.labels, workers=1)


@pytest.mark.parametrize("ref_rows", [800, 5000])  # KS + chi-square, Wasserstein + Jensen-Shannon
def test_false_alarm_rate_at_most_10_percent(ref_rows):
    alarms = sum(_report(ref_rows, seed)["drift"] for seed in range(20))
    assert alarms <= 2, alarms


@pytest.mark.parametrize("ref_rows", [800, 5000])
def test_half_std_mean_shift_in_one_feature_is_detected_at_1000_rows(ref_rows):
    for seed in range(5):
        rep = _report(ref_rows, seed, shift=0.5)
        assert rep["drifted_features"] == ["n2"], rep["drifted_features"]
        assert not rep["dataset_drift"]


@pytest.mark.parametrize("ref_rows", [800, 5000])
def test_categorical_shift_is_detected(ref_rows):
    for seed in range(5):
        rep = _report(ref_rows, seed, shares=[0.0, 0.02, 0.3, 0.3, 0.38])
        assert rep["drifted_features"] == ["color"], rep["drifted_features"]
    new_category = [0.15, 0.02, 0.43, 0.25, 0.15]  # 15% of values unseen in training
    assert _report(ref_rows, 0, shares=new_category)["features"]["color"]["drifted"]


def test_dataset_drift_when_half_the_features_drift():
    rng = np.random.default_rng(3)
    feat = Featurizer("tabular", ["a", "b", "c", "d"])
    profile = build_profile(feat, [rng.normal(size=(3000, 4))], "regression")
    new = rng.normal(size=(1000, 4))
    new[:, :2] += 1.0
    rep = compare(profile, *feat([new]), {}, workers=1)
    assert rep["drifted_features"] == ["a", "b"] and rep["dataset_drift"]
    rep = compare(profile, *feat([new]), {}, thresholds={"dataset_share": 0.75}, workers=1)
    assert not rep["dataset_drift"]
