"""The export self-check at the output's scale: a regression model predicting grams exports
(float32 alone rounds 4000 g to within 2.4e-4), and an artifact that is off by 0.1% is refused."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from onnx import helper, numpy_helper

import kiln
import kiln.api
from kiln.errors import KilnError
from kiln.serving.artifact import METADATA, ONNX, finalize
from kiln.tasks.export import gap, self_check
from tests.helpers import PENGUINS
from tests.helpers.export_oracle import torch_pipeline


@pytest.fixture(scope="module")
def mass_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("mass")
    result = kiln.api.run(
        "train",
        [
            f"paths.root={root}",
            "print_config=false",
            "experiment=penguins_mass",
            "trainer.max_epochs=2",
            "logger=none",
        ],
    )
    out = root / "art_mass"
    done = kiln.api.run(
        "export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}", f"paths.root={root}"]
    )
    return out, done, result["best_checkpoint"]


def test_regression_in_grams_exports(mass_export):
    out, done, _ = mass_export
    assert done["rows"] > 0 and done["max_diff"] <= 1e-4
    meta = json.loads((out / METADATA).read_text())
    assert meta["task"] == "regression"
    assert meta["self_check"]["tolerance"] == 1e-4


def test_the_gap_is_relative_to_the_value_scale():
    grams = np.array([4000.0, 2850.0, 6050.0], dtype=np.float32)
    one_ulp = np.nextafter(grams, np.float32(np.inf))  # float32 rounding at this scale
    assert np.abs(one_ulp - grams).max() > 1e-4  # an absolute tolerance cannot pass
    assert gap(one_ulp, grams.astype(np.float64)) < 1e-6
    assert gap(grams * np.float32(1.001), grams.astype(np.float64)) > 9e-4
    probs = np.array([0.2, 0.8])
    assert gap(probs + 2e-4, probs) == pytest.approx(2e-4)  # absolute below 1
    assert gap(np.array([np.nan]), np.array([1.0])) == float("inf")


def test_an_export_off_by_a_tenth_of_a_percent_is_refused(mass_export, tmp_path):
    """The real artifact with its ONNX output multiplied by 1.001 (about 4 g on 4000 g)."""
    out, _, ckpt = mass_export
    broken = tmp_path / "broken"
    broken.mkdir()
    model = onnx.load(str(out / ONNX))
    g = model.graph
    y = g.output[0].name
    for node in g.node:
        for i, name in enumerate(node.output):
            if name == y:
                node.output[i] = "y_right"
    g.initializer.append(numpy_helper.from_array(np.array(1.001, np.float32), "off"))
    g.node.append(helper.make_node("Mul", ["y_right", "off"], [y]))
    onnx.save(model, str(broken / ONNX))
    (broken / "weights.safetensors").write_bytes((out / "weights.safetensors").read_bytes())
    meta = json.loads((out / METADATA).read_text())
    finalize(broken, {k: v for k, v in meta.items() if k not in ("files", "content_hash")})

    pipeline, _ = torch_pipeline(ckpt)
    rows = pd.read_csv(PENGUINS).drop(columns=["body_mass_g"])
    inputs, _, _ = kiln.load(out).encode(rows)
    with torch.inference_mode():
        expected = pipeline(*(torch.from_numpy(a) for a in inputs)).numpy().astype(np.float64)
    assert np.abs(expected).min() > 1000  # grams
    cfg = OmegaConf.create({"format": "onnx", "tolerance": 1e-4, "threads": 1})
    assert self_check(out, inputs, expected, cfg) <= 1e-4
    with pytest.raises(KilnError, match=r"differs from PyTorch by .* \(tolerance 0.0001\)"):
        self_check(broken, inputs, expected, cfg)
