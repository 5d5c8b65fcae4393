"""format=torch for a data=table model: safetensors + metadata.json, rebuilt without pickle,
answering like the ONNX artifact and the PyTorch module."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import kiln
import kiln.api
from kiln.serving.export import ExportPipeline
from kiln.training.builders import build_datamodule, build_module
from kiln.training.checkpoints import load_checkpoint
from tests.helpers.server import to_records


def export(ckpt, out, *extra) -> dict:
    return kiln.api.run(
        "export", [f"ckpt_path={ckpt}", f"out={out}", f"paths.root={out.parent}", *extra]
    )


def module_and_test_split(ckpt_path) -> tuple[ExportPipeline, list[np.ndarray]]:
    """The trained module as training code rebuilds it, and its encoded test split."""
    ckpt = load_checkpoint(str(ckpt_path))
    cfg = OmegaConf.create(ckpt["kiln"]["config"])
    cfg.data.schema = ckpt["kiln"]["schema"]
    dm = build_datamodule(cfg.data)
    module = build_module(cfg, dm, run_config=ckpt["kiln"]["config"])
    module.load_state_dict(ckpt["state_dict"])
    return ExportPipeline(module).eval(), [t.numpy() for t in dm.splits["test"][:-1]]


def gaps(ckpt, torch_dir, onnx_dir=None) -> tuple[float, float, int]:
    """Max abs gaps of the torch artifact to PyTorch and to the ONNX artifact (0 without one)
    on the test split, and the split's rows."""
    pipeline, test = module_and_test_split(ckpt)
    with torch.inference_mode():
        expected = pipeline(*(torch.from_numpy(a) for a in test)).numpy()
    got = kiln.load(torch_dir).run(test)
    onnx = got if onnx_dir is None else kiln.load(onnx_dir).run(test)
    return float(np.abs(got - expected).max()), float(np.abs(got - onnx).max()), len(test[0])


@pytest.fixture(scope="module")
def torch_artifact(penguins_ckpt, tmp_path_factory):
    out = tmp_path_factory.mktemp("torch_artifacts") / "penguins"
    export(penguins_ckpt, out, "format=torch")
    return out


def test_a_table_model_exports_without_a_graph(torch_artifact):
    assert sorted(p.name for p in torch_artifact.iterdir()) == [
        "metadata.json",
        "weights.safetensors",
    ]
    meta = json.loads((torch_artifact / "metadata.json").read_text())
    assert meta["format"] == "torch" and meta["inputs"]["kind"] == "schema"
    assert meta["spec"]["extra"]["layout"]["categorical"]["cards"] == [5, 4]
    assert kiln.load(torch_artifact).backend == "torch"


def test_torch_artifact_equals_onnx_and_pytorch_on_the_test_split(
    torch_artifact, penguins_artifact, penguins_ckpt
):
    to_torch, to_onnx, rows = gaps(penguins_ckpt, torch_artifact, penguins_artifact)
    assert rows > 0 and to_torch <= 1e-4 and to_onnx <= 1e-4, (to_torch, to_onnx)


def test_kiln_predict_and_load_agree_with_onnx(
    torch_artifact, penguins_artifact, penguins_rows, tmp_path
):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    penguins_rows.to_csv(src, index=False)
    kiln.api.run(
        "predict",
        [f"artifact={torch_artifact}", f"input={src}", f"output={out}", f"paths.root={tmp_path}"],
    )
    written = pd.read_csv(out)
    onnx = kiln.load(penguins_artifact).predict(penguins_rows)
    direct = kiln.load(torch_artifact).predict(penguins_rows)
    records = kiln.load(torch_artifact).predict(to_records(penguins_rows))
    assert written["prediction"].tolist() == onnx["prediction"].tolist()
    assert direct["prediction"].tolist() == onnx["prediction"].tolist()
    probs = [c for c in onnx.columns if c.startswith("proba_")]
    for frame in (written, direct, records):
        assert np.abs(frame[probs].to_numpy() - onnx[probs].to_numpy()).max() <= 1e-4


def test_regression_with_onehot_quantile_flags_and_indicators(tmp_path):
    """Every part of the layout: one-hot, quantile (which the ONNX exporter cannot convert:
    aten.searchsorted), outlier flags, missing indicators, the target's scale."""
    result = kiln.api.run(
        "train",
        [
            f"paths.root={tmp_path}",
            "print_config=false",
            "experiment=penguins_mass",
            "trainer.max_epochs=1",
            "logger=none",
            "preprocess=onehot",
            "+preprocess.columns.bill_length_mm.normalize=quantile",
            "+preprocess.columns.bill_depth_mm.outliers={method:iqr,strategy:flag}",
        ],
    )
    ckpt = result["best_checkpoint"]
    export(ckpt, tmp_path / "t", "format=torch")
    meta = json.loads((tmp_path / "t" / "metadata.json").read_text())
    # 4 numeric + 4 indicators + 1 flag, one-hot island (5), sex (4), species (5)
    assert meta["task"] == "regression" and meta["spec"]["shape"] == [4 + 4 + 1 + 5 + 4 + 5]
    to_torch, _, rows = gaps(ckpt, tmp_path / "t")
    assert rows > 0 and to_torch <= 1e-4, to_torch
