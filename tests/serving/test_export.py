"""kiln export: a self-contained artifact that matches the PyTorch module, loaded without pickle."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
import torch

import kiln
from kiln.errors import KilnError
from tests.helpers import cli
from tests.helpers.export_oracle import torch_pipeline
from tests.helpers.server import to_records


def test_artifact_holds_graph_weights_and_metadata(penguins_artifact):
    files = sorted(p.name for p in penguins_artifact.iterdir())
    assert files == ["metadata.json", "model.onnx", "weights.safetensors"]
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    assert meta["task"] == "multiclass" and meta["labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    features = {f["name"]: f for f in meta["inputs"]["features"]}
    assert set(features) == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                             "body_mass_g", "sex", "year"}  # fmt: skip
    assert features["island"]["vocabulary"] == ["Biscoe", "Dream", "Torgersen"]
    assert "test/f1" in meta["metrics"] and meta["versions"]["torch"] == torch.__version__
    assert meta["config"]["data"]["target"] == "species"
    assert meta["self_check"]["rows"] > 0 and len(meta["content_hash"]) == 64
    graph = onnx.load(str(penguins_artifact / "model.onnx"))
    assert not graph.graph.initializer or all(not t.external_data for t in graph.graph.initializer)
    dims = [d.dim_param for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] and not dims[1], dims  # a named (dynamic) batch axis


def test_artifact_equals_pytorch_for_any_batch_size(
    penguins_artifact, penguins_ckpt, penguins_rows
):
    pipeline, schema = torch_pipeline(penguins_ckpt)
    x_num, x_cat = schema.encode(penguins_rows)
    with torch.inference_mode():
        expected = pipeline(torch.from_numpy(x_num), torch.from_numpy(x_cat)).numpy()
    predictor = kiln.load(penguins_artifact)
    for n in (1, 7, len(penguins_rows)):
        got = predictor.predict(penguins_rows.head(n))
        probs = got[[f"proba_{c}" for c in predictor.labels]].to_numpy()
        assert np.abs(probs - expected[:n]).max() <= 1e-4
    from_records = predictor.predict(to_records(penguins_rows.head(20)))
    np.testing.assert_allclose(from_records.iloc[:, 1:], got.iloc[:20, 1:], atol=1e-6)


def test_a_changed_artifact_is_refused(penguins_artifact, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(penguins_artifact, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["labels"] = ["a", "b", "c"]
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(KilnError, match="edited after export"):
        kiln.load(copy)
    shutil.copy(penguins_artifact / "metadata.json", copy / "metadata.json")
    with open(copy / "weights.safetensors", "ab") as f:
        f.write(b"\0")
    with pytest.raises(KilnError, match="weights.safetensors does not match its hash"):
        kiln.load(copy)


def test_export_never_overwrites(penguins_artifact, penguins_ckpt, tmp_path):
    before = (penguins_artifact / "metadata.json").read_bytes()
    proc = cli("export", f"ckpt_path={penguins_ckpt}", f"out={penguins_artifact}", runs=tmp_path)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (penguins_artifact / "metadata.json").read_bytes() == before


def test_record_fast_path_equals_the_schema_encoder(penguins_artifact, penguins_rows):
    """Records skip pandas; they must encode exactly as Schema.encode (train/serve skew)."""
    inputs = kiln.load(penguins_artifact).schema
    records = to_records(penguins_rows)
    records[0]["island"] = "Atlantis"  # an unseen category
    records[1]["sex"] = None
    fast = inputs.encode_records(records)
    import pandas as pd

    slow = inputs._encode(pd.DataFrame.from_records(records, columns=inputs.names), "rows")
    for a, b in zip(fast[0] + list(fast[1:]), slow[0] + list(slow[1:]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast[2][inputs.names.index("island")] == 1  # the unknown category is counted


def test_artifact_files_follow_the_umask(penguins_artifact):
    """safetensors writes 0600; every file of the artifact gets the mode the umask gives."""
    from kiln.serving.export import current_umask

    want = 0o666 & ~current_umask()
    modes = {p.name: p.stat().st_mode & 0o777 for p in penguins_artifact.iterdir()}
    assert modes == dict.fromkeys(modes, want), modes
