"""Quantile-to-normal preprocessing exports to ONNX (no searchsorted or ndtri in ONNX) and
predicts as the PyTorch module does."""

from pathlib import Path

import numpy as np
import torch

import kiln
import kiln.api
from kiln.preprocessing.numeric import _ndtri_exportable


def test_exportable_normal_quantile_matches_torch():
    p = torch.cat(
        [
            torch.tensor([1e-7, 1e-4, 0.02425, 0.5]),
            torch.rand(2000, dtype=torch.float64),
            torch.tensor([0.99, 1 - 1e-7]),
        ]
    ).double()
    assert (_ndtri_exportable(p) - torch.special.ndtri(p)).abs().max() < 1e-7


def test_quantile_model_exports_and_agrees(tmp_path, penguins_rows):
    runs = tmp_path / "runs"
    result = kiln.api.run(
        "train",
        [
            f"paths.root={runs}",
            "print_config=false",
            "experiment=penguins_species",
            "preprocess=quantile",
            "trainer.max_epochs=2",
            "logger=none",
            "~callbacks.confusion_matrix",
        ],
    )
    out = tmp_path / "artifact"
    # the export's own self-check (ONNX vs PyTorch on the test split, <= 1e-4) must pass
    kiln.api.run(
        "export", [f"ckpt_path={result['best_checkpoint']}", f"out={out}", f"paths.root={tmp_path}"]
    )
    assert (Path(out) / "model.onnx").is_file()
    preds = kiln.load(out).predict(penguins_rows.head(40))
    prob_cols = [c for c in preds.columns if c.startswith("prob")]
    assert prob_cols and np.allclose(preds[prob_cols].sum(axis=1), 1.0, atol=1e-4)
