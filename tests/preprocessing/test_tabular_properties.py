"""Properties of the table pipeline over generated tables (hypothesis)."""

import numpy as np
import pandas as pd
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kiln.data.table import TableDataModule
from kiln.preprocessing.tabular import CHOICES, fit_tabular

values = st.one_of(st.floats(-1e6, 1e6), st.just(np.nan), st.just(np.inf), st.just(-np.inf))
numeric_settings = st.fixed_dictionaries(
    {
        "impute": st.sampled_from([c for c in CHOICES["impute"] if c != "drop_row"]),
        "indicator": st.booleans(),
        "normalize": st.sampled_from(CHOICES["normalize"]),
        "outliers": st.fixed_dictionaries(
            {
                "method": st.sampled_from(CHOICES["method"]),
                "strategy": st.sampled_from(["clip", "missing", "flag"]),
            }
        ),
    }
)
cat_settings = st.fixed_dictionaries(
    {
        "impute": st.sampled_from(["token", "most_frequent"]),
        "encode": st.sampled_from(CHOICES["encode"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 40),
    f=st.integers(0, 4),
    c=st.integers(0, 3),
)
def test_no_nan_or_inf_reaches_the_network_and_shapes_hold(data, n, f, c):
    train = data.draw(arrays(np.float64, (n, f), elements=values))
    cards = [data.draw(st.integers(2, 6)) for _ in range(c)]
    codes = (
        np.stack([data.draw(arrays(np.int64, n, elements=st.integers(0, k - 1))) for k in cards], 1)
        if c
        else np.zeros((n, 0), np.int64)
    )
    num = [data.draw(numeric_settings) for _ in range(f)]
    cat = [data.draw(cat_settings) for _ in range(c)]
    pre, keep, _ = fit_tabular(train, codes, num, cat, cards)
    m = data.draw(st.integers(1, 30))
    new = torch.as_tensor(
        data.draw(arrays(np.float64, (m, f), elements=values)), dtype=torch.float32
    )
    new_codes = torch.as_tensor(
        data.draw(arrays(np.int64, (m, c), elements=st.integers(-3, 20)))
    )  # unseen codes too
    out = pre((new, new_codes))
    assert out.shape == (m, pre.out_features)
    assert torch.isfinite(out).all()


frames = st.integers(30, 80).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=st.one_of(st.floats(-100, 100), st.just(np.nan))),
        st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n),
        st.integers(0, 2**31 - 1),
    )
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_statistics_come_from_the_training_split_only(frame):
    """Rewriting every validation and test row leaves the fitted preprocessor unchanged."""
    num, cat, seed = frame
    n = len(num)
    df = pd.DataFrame({"x": num, "z": np.arange(n) % 7 * 1.0, "k": cat, "y": np.arange(n) * 0.5})
    df.loc[:3, "x"] = [1.0, 2.0, 3.0, 4.0]  # never constant or empty
    df.loc[:3, "k"] = ["a", "b", "a", "b"]

    def fitted(frame):
        dm = TableDataModule(
            path=frame,
            target="y",
            split_seed=seed,
            preprocess={"numeric": {"outliers": {"method": "iqr"}}},
        )
        dm.setup("fit")
        return dm, {k: v.clone() for k, v in dm.preprocessor.state_dict().items()}

    dm, state = fitted(df)
    held_out = ~df["y"].isin(dm.splits["train"][2].numpy())
    changed = df.copy()
    changed.loc[held_out, "x"] = changed.loc[held_out, "x"] * 1000 + 7
    changed.loc[held_out, "k"] = "never-seen"
    changed.loc[held_out, "z"] = -1e5
    _, state2 = fitted(changed)
    assert state.keys() == state2.keys()
    for key in state:
        if "embedding" not in key:  # embeddings are random initial weights, not statistics
            assert torch.equal(state[key], state2[key]), key
