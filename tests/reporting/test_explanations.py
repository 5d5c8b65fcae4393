"""Permutation importance against scikit-learn's, integrated gradients against exact answers,
``kiln.load(dir).explain`` and the server's opt-in ``POST /explain`` on 127.0.0.1."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import torch
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from torch import nn

import kiln
from kiln.data.spec import InputSpec
from kiln.models.pipeline import InferencePipeline
from kiln.reporting.attributions import integrated_gradients
from kiln.reporting.collect import row_loss
from kiln.reporting.importance import (
    SklearnModel,
    feature_groups,
    loss_score,
    permutation_importance,
)
from tests.helpers.export_oracle import torch_pipeline
from tests.helpers.server import live_server, to_records


@pytest.fixture(scope="module")
def penguins(penguins_artifact, penguins_rows):
    model = kiln.load(penguins_artifact)
    rows = penguins_rows.iloc[:120]
    (x_num, x_cat), _, _ = model.encode(rows)
    labels = np.asarray(model.labels)
    y = np.searchsorted(labels, kiln.load(penguins_artifact).predict(rows)["prediction"])
    y[::4] = (y[::4] + 1) % len(labels)  # some mistakes, so that shuffling can hurt
    return model, x_num, x_cat, y


def test_permutation_importance_equals_sklearn_on_the_same_wrapper(penguins):
    model, x_num, x_cat, y = penguins
    spec = InputSpec.from_dict(model.meta["spec"])

    def predict(inputs):
        return model.run([t.numpy() for t in inputs])

    inputs = [torch.from_numpy(x_num), torch.from_numpy(x_cat)]
    ours = permutation_importance(
        loss_score(predict, y, model.task), inputs, feature_groups(spec, inputs), repeats=4, seed=7
    )
    X = np.hstack([x_num.astype(np.float64), x_cat.astype(np.float64)])
    schema = spec.extra["schema"]["columns"]
    names = [c["name"] for c in schema if c["type"] != "categorical"]
    names += [c["name"] for c in schema if c["type"] == "categorical"]

    def scorer(estimator, X, y):
        return -row_loss(estimator.predict(X), y, model.task).mean()

    theirs = sklearn_permutation_importance(
        SklearnModel(predict, numeric=x_num.shape[1]), X, y, scoring=scorer, n_repeats=4,
        random_state=7,
    )  # fmt: skip
    assert ours["baseline"] == pytest.approx(scorer(SklearnModel(predict, x_num.shape[1]), X, y))
    by_name = {g["name"]: g for g in ours["groups"]}
    assert set(by_name) == set(names)
    for k, name in enumerate(names):
        assert by_name[name]["mean"] == pytest.approx(theirs.importances_mean[k], abs=1e-6)
        assert by_name[name]["std"] == pytest.approx(theirs.importances_std[k], abs=1e-6)
    assert max(g["mean"] for g in ours["groups"]) > 0.05  # the model leans on something


def test_feature_groups_of_images_and_sequences():
    images = [torch.zeros(5, 1, 8, 8)]
    groups = feature_groups(InputSpec("image", (1, 8, 8), "multiclass", 3, "x"), images)
    assert len(groups) == 16
    covered = torch.zeros(1, 8, 8)
    for parts in groups.values():
        for _, where in parts:
            covered[where] += 1
    assert bool((covered == 1).all())  # the blocks tile the image once
    seq = feature_groups(InputSpec("tokens", (10,), "binary", 1, "x"), [torch.zeros(3, 10)])
    assert list(seq) == ["positions 0-1", "positions 2-4", "positions 5-6", "positions 7-9"]


def test_integrated_gradients_exact_on_a_linear_network(penguins_ckpt, penguins):
    """With a linear network after the real preprocessor, a column's attribution is exactly the
    output's change when that column alone goes from the row to missing."""
    pipeline, schema = torch_pipeline(penguins_ckpt)
    pre = pipeline.module.preprocessor
    torch.manual_seed(0)
    net = nn.Linear(pre.out_features, 1)
    spec = InputSpec("tabular", (pre.out_features,), "regression", 1, "x",
                     extra={"schema": schema.to_dict()})  # fmt: skip
    model = InferencePipeline(net, spec, pre).eval()
    _, x_num, x_cat, _ = penguins
    x_num, x_cat = torch.from_numpy(x_num[:6]), torch.from_numpy(x_cat[:6])
    found = integrated_gradients(model, x_num, x_cat, steps=8)

    def out(a, b):
        with torch.no_grad():
            return model.to_prediction(model.raw_output((a, b))).double().numpy()

    j = k = 0
    for col in schema.columns:
        a, b = x_num.clone(), x_cat.clone()
        if col.type == "categorical":
            b[:, k] = 1  # the missing code
            k += 1
        else:
            a[:, j] = float("nan")
            j += 1
        expected = out(x_num, x_cat) - out(a, b)
        got = found["attributions"][:, found["columns"].index(col.name)]
        np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(
        found["attributions"].sum(1), found["output"] - found["baseline"], atol=1e-5
    )


def test_load_explain_sums_to_the_answer_minus_the_baseline(penguins_artifact, penguins_rows):
    model = kiln.load(penguins_artifact)
    rows = penguins_rows.iloc[:8]
    frame = model.explain(rows, steps=256)
    assert list(frame.columns[:3]) == ["explained", "output", "baseline"]
    assert set(frame.columns[3:]) == set(rows.columns)
    predicted = model.predict(rows)
    for i, (_, r) in enumerate(frame.iterrows()):
        label = predicted["prediction"].iloc[i]
        assert r["explained"] == f"P({label})"
        assert r["output"] == pytest.approx(predicted[f"proba_{label}"].iloc[i], abs=1e-5)
        assert r.iloc[3:].sum() == pytest.approx(r["output"] - r["baseline"], abs=0.01)


def test_server_explain_is_opt_in_and_answers_as_load_does(penguins_artifact, penguins_rows):
    rows = penguins_rows.iloc[:3]
    records = to_records(rows)
    with live_server(penguins_artifact) as (url, _):
        assert httpx.post(f"{url}/explain", json=records[0]).status_code == 404
    expected = kiln.load(penguins_artifact).explain(rows)
    with live_server(penguins_artifact, explain=True) as (url, _):
        one = httpx.post(f"{url}/explain", json=records[0], timeout=30)
        many = httpx.post(f"{url}/explain", json=records, timeout=30)
        bad = httpx.post(f"{url}/explain", json={"island": "Dream"}, timeout=30)
    assert one.status_code == 200 and many.status_code == 200
    assert bad.status_code == 422
    answers = many.json()["explanations"]
    assert answers[0]["explained"] == one.json()["explained"]
    assert answers[0]["attributions"] == pytest.approx(one.json()["attributions"], abs=1e-6)
    for answer, (_, want) in zip(answers, expected.iterrows(), strict=True):
        assert answer["explained"] == want["explained"]
        for col, value in answer["attributions"].items():
            assert value == pytest.approx(want[col], abs=1e-6)


def test_image_blocks_of_uint8_files_cut_height_and_width_not_channels():
    """data=images feeds [N, H, W, C] uint8: a block is rows x columns with every channel."""
    import torch

    from kiln.data.spec import InputSpec
    from kiln.reporting.importance import feature_groups

    x = torch.zeros(2, 8, 12, 3, dtype=torch.uint8)
    for layout, shape in (("NHWC", x.shape), (None, (2, 3, 8, 12))):
        extra = {"image": {"layout": layout}} if layout else {}
        spec = InputSpec("image", tuple(shape[1:]), "binary", 1, "t", extra=extra)
        groups = feature_groups(spec, [torch.zeros(shape)])
        assert len(groups) == 16
        mask = torch.zeros(shape[1:], dtype=torch.bool)
        mask[groups["block r1 c2"][0][1]] = True
        hw = mask if layout else mask.permute(1, 2, 0)  # as [H, W, C]
        assert hw.sum() == 2 * 3 * 3 and hw[2:4, 6:9, :].all()
